/**
 * Attachment chunks: each plaintext chunk is sealed with AES-256-GCM under the file's own random
 * key (sent only inside the MLS message, content/appContent.ts), so the encrypted chunks can be
 * stored and served by any member's store as opaque, content-addressed blobs.
 *
 * - nonce = 0x00000000 ‖ uint64 chunk index (BE): the key encrypts one file, so (key, nonce) pairs
 *   never repeat; the index in the nonce also pins each chunk to its position.
 * - aad = "parley attachment chunk" ‖ uint64 file size ‖ uint32 chunk size: a chunk of another
 *   file or of a file cut to another length does not open.
 * - chunk hash = SHA-256(sealed chunk), the blob's address; attachment id = hex SHA-256(
 *   "parley attachment" ‖ uint64 size ‖ uint32 chunk size ‖ chunk hashes).
 */
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import type { AttachmentManifest } from '../content/index.js';
import { AppError } from '../errors.js';

export const DEFAULT_CHUNK_SIZE = 256 * 1024;
const TAG_BYTES = 16;
const AAD_LABEL = Buffer.from('parley attachment chunk');
const ID_LABEL = Buffer.from('parley attachment');

function nonceOf(index: number): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64BE(BigInt(index), 4);
  return n;
}

function aadOf(size: bigint, chunkSize: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeBigUInt64BE(size, 0);
  b.writeUInt32BE(chunkSize, 8);
  return Buffer.concat([AAD_LABEL, b]);
}

export function sealChunk(
  key: Uint8Array,
  index: number,
  size: bigint,
  chunkSize: number,
  plain: Uint8Array,
): Uint8Array {
  const c = createCipheriv('aes-256-gcm', key, nonceOf(index));
  c.setAAD(aadOf(size, chunkSize));
  const body = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
  return new Uint8Array(body.buffer, body.byteOffset, body.length);
}

/** Opens a sealed chunk; a wrong key, position or file is AppError `internal`-free `conflict`. */
export function openChunk(
  key: Uint8Array,
  index: number,
  size: bigint,
  chunkSize: number,
  sealed: Uint8Array,
): Uint8Array {
  if (sealed.length < TAG_BYTES) throw new AppError('conflict', 'an attachment chunk is too short');
  try {
    const d = createDecipheriv('aes-256-gcm', key, nonceOf(index));
    d.setAAD(aadOf(size, chunkSize));
    d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const out = Buffer.concat([d.update(sealed.subarray(0, sealed.length - TAG_BYTES)), d.final()]);
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  } catch (cause) {
    throw new AppError('conflict', 'an attachment chunk does not open', { cause });
  }
}

export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

export function attachmentIdOf(
  m: Pick<AttachmentManifest, 'size' | 'chunkSize' | 'chunkHashes'>,
): string {
  const b = Buffer.alloc(12);
  b.writeBigUInt64BE(m.size, 0);
  b.writeUInt32BE(m.chunkSize, 8);
  return createHash('sha256').update(ID_LABEL).update(b).update(m.chunkHashes).digest('hex');
}
