/**
 * Every value but the header is stored as
 *
 * ```
 * struct {
 *   uint8 value_format = 1;
 *   opaque nonce[24];
 *   opaque ciphertext[len];   // XChaCha20-Poly1305(value key, nonce, plaintext, aad = record key)
 *   opaque tag[16];
 * } StoredValue;
 * ```
 *
 * The record key as associated data means a value moved to another key (swapped, replayed from
 * another record, copied from another owner's log) fails authentication instead of being read as
 * that key's value. 41 bytes of overhead per record.
 */
import { NONCE_LENGTH, TAG_LENGTH, open, sealInto } from './aead.js';
import { StoreError } from './errors.js';

export const VALUE_FORMAT = 1;
export const VALUE_OVERHEAD = 1 + NONCE_LENGTH + TAG_LENGTH;

export function sealRecord(
  valueKey: Uint8Array,
  key: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(VALUE_OVERHEAD + plaintext.length);
  out[0] = VALUE_FORMAT;
  sealInto(valueKey, plaintext, key, out, 1);
  return out;
}

/** The plaintext, or StoreError('corrupt_record') naming only the record kind. */
export function openRecord(
  valueKey: Uint8Array,
  key: Uint8Array,
  stored: Uint8Array,
  what: string,
): Uint8Array {
  if (stored.length < VALUE_OVERHEAD || stored[0] !== VALUE_FORMAT) {
    throw new StoreError(
      'corrupt_record',
      `${what}: not a stored value (format ${stored[0] ?? 'none'})`,
    );
  }
  const plain = open(valueKey, stored.subarray(1), key);
  if (plain === undefined) {
    throw new StoreError('corrupt_record', `${what}: the value fails authentication`);
  }
  return plain;
}
