/** Small byte helpers used across the crypto module. */
import { CryptoError } from './errors.js';

export const EMPTY = new Uint8Array(0);

const encoder = new TextEncoder();

export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** I2OSP (RFC 8017): `value` as a big-endian byte string of exactly `length` bytes. */
export function i2osp(value: number, length: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new CryptoError('invalid_argument', `I2OSP of ${value}`);
  }
  const out = new Uint8Array(length);
  let v = value;
  for (let i = length - 1; i >= 0 && v > 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  if (v > 0)
    throw new CryptoError('invalid_argument', `I2OSP: ${value} does not fit ${length} bytes`);
  return out;
}

export function bytesToBigInt(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

export function bigIntToBytes(v: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = v;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  if (x !== 0n) throw new CryptoError('invalid_argument', `integer does not fit ${length} bytes`);
  return out;
}

export function isAllZero(b: Uint8Array): boolean {
  // Accumulate instead of returning early so the time does not depend on where a byte is set.
  let acc = 0;
  for (const x of b) acc |= x;
  return acc === 0;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc |= a[i]! ^ b[i]!;
  return acc === 0;
}

export function checkLength(what: string, b: Uint8Array, length: number): void {
  if (b.length !== length) {
    throw new CryptoError('invalid_length', `${what}: expected ${length} bytes, got ${b.length}`);
  }
}

/**
 * A plain Uint8Array copy of a Node Buffer. Node may hand out Buffers that share an 8 KiB pool;
 * callers of this module get arrays that own their memory, and the original is wiped when it
 * held a secret.
 */
export function ownBytes(b: Uint8Array, wipeSource = false): Uint8Array {
  const out = new Uint8Array(b);
  if (wipeSource) b.fill(0);
  return out;
}
