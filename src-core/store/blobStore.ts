/**
 * Content-addressed blobs (attachment chunks): stored and fetched by the SHA-256 of their bytes.
 * The record key is `0x03 ‖ HMAC(index key, "blob\0" ‖ hash)[0..16]`, so the files do not show
 * which known content (a published file's chunk hash) this profile holds. The value is the
 * encrypted chunk; a read checks the hash again.
 *
 * Chunks are already encrypted by a per-file key (the app layer); encrypting them again costs
 * ~41 bytes and keeps the rule "every value encrypted" without exceptions.
 *
 * Leaks: the number of blobs and their sizes.
 */
import { createHash } from 'node:crypto';
import type { StoreCore } from './core.js';
import { AREA_BLOB, getRaw, hashedPrefix } from './core.js';
import { StoreError } from './errors.js';
import { openRecord } from './recordCipher.js';
import type { Transaction } from './transaction.js';

/** Larger values would make level's write buffer and compactions swing; chunk above this. */
export const MAX_BLOB_BYTES = 4 * 1024 * 1024;

export function blobHash(bytes: Uint8Array): Uint8Array {
  const d = createHash('sha256').update(bytes).digest();
  return new Uint8Array(d.buffer, d.byteOffset, d.length);
}

export class BlobStore {
  constructor(private readonly core: StoreCore) {}

  private key(hash: Uint8Array): Uint8Array {
    if (hash.length !== 32) throw new StoreError('invalid_argument', 'a blob hash is 32 bytes');
    return hashedPrefix(this.core, AREA_BLOB, 'blob\0', hash);
  }

  /** Queues `bytes`; returns its SHA-256. Putting the same content twice writes it once. */
  put(tx: Transaction, bytes: Uint8Array): Uint8Array {
    if (bytes.length > MAX_BLOB_BYTES) {
      throw new StoreError(
        'invalid_argument',
        `blob of ${bytes.length} bytes, at most ${MAX_BLOB_BYTES}`,
      );
    }
    const hash = blobHash(bytes);
    tx.put(this.key(hash), bytes);
    return hash;
  }

  async get(hash: Uint8Array): Promise<Uint8Array | undefined> {
    const key = this.key(hash);
    const stored = await getRaw(this.core, key, 'blob');
    if (stored === undefined) return undefined;
    const bytes = openRecord(this.core.valueKey(), key, stored, 'blob');
    if (!Buffer.from(blobHash(bytes)).equals(Buffer.from(hash))) {
      throw new StoreError('corrupt_record', 'blob: content does not match its hash');
    }
    return bytes;
  }

  async has(hash: Uint8Array): Promise<boolean> {
    return (await getRaw(this.core, this.key(hash), 'blob')) !== undefined;
  }

  delete(tx: Transaction, hash: Uint8Array): void {
    tx.del(this.key(hash));
  }
}
