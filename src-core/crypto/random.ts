/** Randomness from the platform CSPRNG (Web Crypto getRandomValues, in Node and browsers). */
import { CryptoError } from './errors.js';

// getRandomValues fills at most 65536 bytes per call.
const MAX_CHUNK = 65536;

export function randomBytes(length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new CryptoError('invalid_argument', `randomBytes(${length})`);
  }
  const rng = (globalThis as { crypto?: { getRandomValues?: (a: Uint8Array) => Uint8Array } })
    .crypto;
  if (typeof rng?.getRandomValues !== 'function') {
    throw new CryptoError('unsupported', 'no CSPRNG (crypto.getRandomValues) in this runtime');
  }
  const out = new Uint8Array(length);
  for (let at = 0; at < length; at += MAX_CHUNK) {
    rng.getRandomValues(out.subarray(at, Math.min(length, at + MAX_CHUNK)));
  }
  return out;
}
