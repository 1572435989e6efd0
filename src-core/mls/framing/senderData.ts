import {
  CodecError,
  decode,
  encode,
  fixedBytes,
  opaque,
  struct,
  uint32,
  uint64,
} from '../../codec/index.js';
import type { Codec } from '../../codec/index.js';
import { CryptoError } from '../../crypto/errors.js';
import type { CipherSuite } from '../../crypto/types.js';
import { MlsError } from '../errors.js';
import { deriveSenderDataKeyNonce } from '../senderDataSecret.js';
import type { ContentType } from './framedContent.js';
import { contentTypeCodec } from './framedContent.js';

/** The reuse guard is XORed into the first four bytes of the content nonce (§6.3.1). */
export const REUSE_GUARD_LENGTH = 4;

/**
 * ```
 * struct {
 *     uint32 leaf_index;
 *     uint32 generation;
 *     opaque reuse_guard[4];
 * } SenderData;
 * ```
 */
export interface SenderData {
  readonly leafIndex: number;
  readonly generation: number;
  readonly reuseGuard: Uint8Array;
}

export const senderDataCodec: Codec<SenderData> = struct<SenderData>({
  leafIndex: uint32,
  generation: uint32,
  reuseGuard: fixedBytes(REUSE_GUARD_LENGTH),
});

/**
 * ```
 * struct {
 *     opaque group_id<V>;
 *     uint64 epoch;
 *     ContentType content_type;
 * } SenderDataAAD;
 * ```
 */
export interface SenderDataAAD {
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
  readonly contentType: ContentType;
}

export const senderDataAADCodec: Codec<SenderDataAAD> = struct<SenderDataAAD>({
  groupId: opaque,
  epoch: uint64,
  contentType: contentTypeCodec,
});

/**
 * Seals SenderData under the key and nonce derived from `sender_data_secret` and the first
 * KDF.Nh bytes of the content ciphertext, so sender data cannot be moved to another message.
 */
export function encryptSenderData(
  suite: CipherSuite,
  senderDataSecret: Uint8Array,
  contentCiphertext: Uint8Array,
  aad: SenderDataAAD,
  senderData: SenderData,
): Uint8Array {
  const { key, nonce } = deriveSenderDataKeyNonce(suite, senderDataSecret, contentCiphertext);
  try {
    return suite.aead.seal(
      key,
      nonce,
      encode(senderDataAADCodec, aad),
      encode(senderDataCodec, senderData),
    );
  } finally {
    key.fill(0);
    nonce.fill(0);
  }
}

/**
 * Opens `encrypted_sender_data`. Throws MlsError('sender_data_decryption_failed') if the AEAD
 * rejects it (tampered sender data, a tampered first block of ciphertext, a wrong group or epoch
 * in the header), or MlsError('decode_failed') if it opens but is not a SenderData.
 */
export function decryptSenderData(
  suite: CipherSuite,
  senderDataSecret: Uint8Array,
  contentCiphertext: Uint8Array,
  aad: SenderDataAAD,
  encryptedSenderData: Uint8Array,
): SenderData {
  const { key, nonce } = deriveSenderDataKeyNonce(suite, senderDataSecret, contentCiphertext);
  let plaintext: Uint8Array;
  try {
    plaintext = suite.aead.open(key, nonce, encode(senderDataAADCodec, aad), encryptedSenderData);
  } catch (e) {
    if (!(e instanceof CryptoError)) throw e;
    throw new MlsError('sender_data_decryption_failed', 'sender data does not decrypt', {
      cause: e,
    });
  } finally {
    key.fill(0);
    nonce.fill(0);
  }
  try {
    return decode(senderDataCodec, plaintext);
  } catch (e) {
    if (e instanceof CodecError)
      throw new MlsError('decode_failed', 'malformed SenderData', { cause: e });
    throw e;
  }
}
