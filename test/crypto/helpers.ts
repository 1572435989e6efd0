// Shared helpers for the crypto tests.
import { expect } from 'vitest';
import { CryptoError } from '../../src-core/crypto/index.js';
import type { Backend, CryptoErrorCode } from '../../src-core/crypto/index.js';

export const BACKENDS: readonly Backend[] = ['noble', 'auto'];

/** The other backend, for cross-checks. */
export function other(b: Backend): Backend {
  return b === 'noble' ? 'auto' : 'noble';
}

export function expectCryptoError(fn: () => unknown, code: CryptoErrorCode): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `expected CryptoError(${code})`).toBeInstanceOf(CryptoError);
  expect((thrown as CryptoError).code).toBe(code);
}

export function flipBit(b: Uint8Array, index: number, bit = 0): Uint8Array {
  const out = Uint8Array.from(b);
  out[index]! ^= 1 << bit;
  return out;
}

export function bytes(n: number, fill: number): Uint8Array {
  return new Uint8Array(n).fill(fill);
}
