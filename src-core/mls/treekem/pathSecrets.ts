/**
 * The path secret chain of TreeKEM (RFC 9420 §7.4):
 *
 * ```
 * path_secret[n] = DeriveSecret(path_secret[n-1], "path")
 * node_secret[n] = DeriveSecret(path_secret[n], "node")
 * node_priv[n], node_pub[n] = KEM.DeriveKeyPair(node_secret[n])
 * ```
 */
import type { CipherSuite, KeyPair } from '../../crypto/types.js';

/** The next path secret up the filtered direct path (and, after the last, the commit secret). */
export function nextPathSecret(suite: CipherSuite, pathSecret: Uint8Array): Uint8Array {
  return suite.deriveSecret(pathSecret, 'path');
}

/** The HPKE key pair of the node a path secret belongs to. The node secret is wiped. */
export function nodeKeyPair(suite: CipherSuite, pathSecret: Uint8Array): KeyPair {
  const nodeSecret = suite.deriveSecret(pathSecret, 'node');
  try {
    return suite.deriveHpkeKeyPair(nodeSecret);
  } finally {
    nodeSecret.fill(0);
  }
}

/** Wipes secrets no longer needed (forward secrecy, §7.4: delete them once used). */
export function wipe(secrets: Iterable<Uint8Array>): void {
  for (const s of secrets) s.fill(0);
}
