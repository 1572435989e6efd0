import { MlsError } from '../errors.js';

/**
 * How many zero bytes a sender appends to PrivateMessageContent (RFC 9420 §6.3.1, §16.4).
 * The ciphertext length is the padded plaintext length plus the AEAD tag, so whatever the policy
 * leaves unpadded is what an observer of the ciphertext learns about the content's length.
 *
 * - `none`: no padding; the exact length leaks.
 * - `multiple`: the plaintext is padded up to a multiple of `of` bytes.
 * - `buckets`: up to the smallest listed size that fits; beyond the largest, up to a multiple of it.
 * - `padme`: Padmé (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and
 *   Communication with PURBs", PETS 2019): at most ~12% overhead, and a length of L reveals only
 *   O(log log L) bits. Lengths below `minimum` are padded to `minimum`, because for short messages
 *   Padmé alone keeps almost every bit.
 */
export type PaddingPolicy =
  | { readonly kind: 'none' }
  | { readonly kind: 'multiple'; readonly of: number }
  | { readonly kind: 'buckets'; readonly sizes: readonly number[] }
  | { readonly kind: 'padme'; readonly minimum: number };

/**
 * The default: a 256-byte floor hides the length of short chat lines (a signed one-word message
 * is already ~100 bytes of plaintext with an Ed25519 signature), and Padmé above it keeps the
 * overhead of large messages bounded.
 */
export const DEFAULT_PADDING: PaddingPolicy = { kind: 'padme', minimum: 256 };

/** The largest plaintext we will pad to: a PrivateMessage ciphertext is an `opaque<V>`. */
const MAX_PADDED = 0x3fffffff - 64;

function positiveInteger(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new MlsError('invalid_argument', `padding ${what} must be a positive integer`);
  }
}

function roundUp(length: number, block: number): number {
  return Math.ceil(length / block) * block;
}

/** Padmé: keep the top floor(log2 E) + 1 bits of L (E = floor(log2 L)), round the rest up. */
export function padmeLength(length: number): number {
  if (!Number.isSafeInteger(length) || length < 0 || length > MAX_PADDED) {
    throw new MlsError('invalid_argument', 'length out of range for Padmé');
  }
  if (length < 2) return length;
  const e = bitLength(length) - 1;
  const s = bitLength(e);
  return roundUp(length, 2 ** (e - s));
}

/** The number of bits needed to write n (n < 2^31), exactly, with no floating-point log. */
function bitLength(n: number): number {
  return 32 - Math.clz32(n);
}

/** The padded plaintext length for an unpadded plaintext of `length` bytes. */
export function paddedLength(policy: PaddingPolicy, length: number): number {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new MlsError('invalid_argument', 'length must be a non-negative integer');
  }
  // Padding must never make a message unencodable: a length at the limit stays as it is.
  if (length > MAX_PADDED) return length;
  let out: number;
  switch (policy.kind) {
    case 'none':
      out = length;
      break;
    case 'multiple':
      positiveInteger(policy.of, 'block size');
      out = roundUp(length, policy.of);
      break;
    case 'buckets': {
      if (policy.sizes.length === 0) throw new MlsError('invalid_argument', 'no padding buckets');
      for (const s of policy.sizes) positiveInteger(s, 'bucket size');
      const sorted = [...policy.sizes].sort((a, b) => a - b);
      const fit = sorted.find((s) => s >= length);
      out = fit ?? roundUp(length, sorted[sorted.length - 1]!);
      break;
    }
    case 'padme':
      if (!Number.isSafeInteger(policy.minimum) || policy.minimum < 0) {
        throw new MlsError('invalid_argument', 'padding minimum must be a non-negative integer');
      }
      out = Math.max(policy.minimum, padmeLength(length));
      break;
  }
  return out > MAX_PADDED ? length : out;
}
