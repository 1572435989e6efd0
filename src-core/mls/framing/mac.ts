import type { CipherSuite } from '../../crypto/types.js';

/** Compares without an early exit, so the time taken does not reveal where two tags differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** `MAC(key, data)` of RFC 9420 §5: the cipher suite's HMAC. */
export function mac(suite: CipherSuite, key: Uint8Array, data: Uint8Array): Uint8Array {
  return suite.hash.mac(key, data);
}

export function verifyMac(
  suite: CipherSuite,
  key: Uint8Array,
  data: Uint8Array,
  tag: Uint8Array,
): boolean {
  return constantTimeEqual(mac(suite, key, data), tag);
}
