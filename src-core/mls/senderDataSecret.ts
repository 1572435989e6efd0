/**
 * The key and nonce that protect SenderData in a PrivateMessage (RFC 9420 §6.3.2). They depend
 * on a sample of the content ciphertext, so each message's sender data has its own key.
 */
import type { CipherSuite } from '../crypto/types.js';
import { MlsError } from './errors.js';

/**
 * ```
 * ciphertext_sample = ciphertext[0..KDF.Nh-1]
 * sender_data_key = ExpandWithLabel(sender_data_secret, "key", ciphertext_sample, AEAD.Nk)
 * sender_data_nonce = ExpandWithLabel(sender_data_secret, "nonce", ciphertext_sample, AEAD.Nn)
 * ```
 * A ciphertext shorter than KDF.Nh is used whole.
 */
export function deriveSenderDataKeyNonce(
  suite: CipherSuite,
  senderDataSecret: Uint8Array,
  ciphertext: Uint8Array,
): { key: Uint8Array; nonce: Uint8Array } {
  if (senderDataSecret.length !== suite.kdf.size) {
    throw new MlsError(
      'invalid_argument',
      `sender_data_secret of ${senderDataSecret.length} bytes`,
    );
  }
  const sample = ciphertext.subarray(0, suite.kdf.size);
  return {
    key: suite.expandWithLabel(senderDataSecret, 'key', sample, suite.aead.keySize),
    nonce: suite.expandWithLabel(senderDataSecret, 'nonce', sample, suite.aead.nonceSize),
  };
}
