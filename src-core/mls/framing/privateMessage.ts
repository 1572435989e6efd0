import { CodecError, Reader, Writer, encode, opaque, struct, uint64 } from '../../codec/index.js';
import type { Codec } from '../../codec/index.js';
import { MlsError } from '../errors.js';
import type { FramedContentAuthData } from './authenticatedContent.js';
import { framedContentAuthDataCodec } from './authenticatedContent.js';
import type { ContentBody, ContentType } from './framedContent.js';
import {
  contentTypeCodec,
  decodeContentBodyUntagged,
  encodeContentBodyUntagged,
} from './framedContent.js';
import { REUSE_GUARD_LENGTH } from './senderData.js';

/**
 * ```
 * struct {
 *     opaque group_id<V>;
 *     uint64 epoch;
 *     ContentType content_type;
 *     opaque authenticated_data<V>;
 *     opaque encrypted_sender_data<V>;
 *     opaque ciphertext<V>;
 * } PrivateMessage;
 * ```
 */
export interface PrivateMessage {
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
  readonly contentType: ContentType;
  readonly authenticatedData: Uint8Array;
  readonly encryptedSenderData: Uint8Array;
  readonly ciphertext: Uint8Array;
}

export const privateMessageCodec: Codec<PrivateMessage> = struct<PrivateMessage>({
  groupId: opaque,
  epoch: uint64,
  contentType: contentTypeCodec,
  authenticatedData: opaque,
  encryptedSenderData: opaque,
  ciphertext: opaque,
});

/**
 * ```
 * struct {
 *     opaque group_id<V>;
 *     uint64 epoch;
 *     ContentType content_type;
 *     opaque authenticated_data<V>;
 * } PrivateContentAAD;
 * ```
 */
export interface PrivateContentAAD {
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
  readonly contentType: ContentType;
  readonly authenticatedData: Uint8Array;
}

export const privateContentAADCodec: Codec<PrivateContentAAD> = struct<PrivateContentAAD>({
  groupId: opaque,
  epoch: uint64,
  contentType: contentTypeCodec,
  authenticatedData: opaque,
});

export function privateContentAAD(m: PrivateContentAAD): Uint8Array {
  // struct encoders read only their own fields, so a whole PrivateMessage may be passed.
  return encode(privateContentAADCodec, m);
}

/**
 * ```
 * struct {
 *     select (PrivateMessage.content_type) {
 *         case application:
 *           opaque application_data<V>;
 *         case proposal:
 *           Proposal proposal;
 *         case commit:
 *           Commit commit;
 *     };
 *
 *     FramedContentAuthData auth;
 *     opaque padding[length_of_padding];
 * } PrivateMessageContent;
 * ```
 * The padding is all zero bytes; its length is whatever remains of the plaintext.
 */
export interface PrivateMessageContent {
  readonly body: ContentBody;
  readonly auth: FramedContentAuthData;
}

/** The content and auth without padding: the length a padding policy starts from. */
export function encodePrivateMessageContentUnpadded(c: PrivateMessageContent): Uint8Array {
  const w = new Writer();
  encodeContentBodyUntagged(w, c.body);
  framedContentAuthDataCodec(c.body.contentType).encode(w, c.auth);
  return w.finish();
}

/** Appends `paddedLength - unpadded.length` zero bytes. */
export function padPlaintext(unpadded: Uint8Array, paddedLength: number): Uint8Array {
  if (paddedLength < unpadded.length) {
    throw new MlsError('invalid_argument', 'padded length is shorter than the content');
  }
  const out = new Uint8Array(paddedLength);
  out.set(unpadded, 0);
  return out;
}

/**
 * Decodes a decrypted PrivateMessageContent. Throws MlsError('decode_failed') for a malformed
 * body or auth, MlsError('invalid_padding') if any padding byte is not zero (§6.3.1: the message
 * MUST be rejected, so padding cannot serve as a covert channel).
 */
export function decodePrivateMessageContent(
  plaintext: Uint8Array,
  contentType: ContentType,
): PrivateMessageContent {
  const r = new Reader(plaintext);
  let body: ContentBody;
  let auth: FramedContentAuthData;
  try {
    body = decodeContentBodyUntagged(r, contentType);
    auth = framedContentAuthDataCodec(contentType).decode(r);
  } catch (e) {
    if (e instanceof CodecError || e instanceof RangeError || e instanceof TypeError) {
      throw new MlsError('decode_failed', 'malformed PrivateMessageContent', { cause: e });
    }
    throw e;
  }
  let nonZero = 0;
  for (let i = r.offset; i < plaintext.length; i++) nonZero |= plaintext[i]!;
  if (nonZero !== 0) throw new MlsError('invalid_padding', 'padding has non-zero bytes');
  return { body, auth };
}

/** The content nonce: the secret tree's nonce with the reuse guard XORed into its first bytes. */
export function applyReuseGuard(nonce: Uint8Array, reuseGuard: Uint8Array): Uint8Array {
  if (reuseGuard.length !== REUSE_GUARD_LENGTH || nonce.length < REUSE_GUARD_LENGTH) {
    throw new MlsError('invalid_argument', 'reuse guard is 4 bytes and the nonce at least 4');
  }
  const out = nonce.slice();
  for (let i = 0; i < REUSE_GUARD_LENGTH; i++) out[i] = out[i]! ^ reuseGuard[i]!;
  return out;
}
