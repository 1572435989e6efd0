/**
 * Which implementation runs each primitive.
 *
 * - `noble`: pure JavaScript (@noble/hashes, @noble/ciphers, @noble/curves); runs anywhere.
 * - `auto` (default): node:crypto (OpenSSL) where it is faster for the same operation, noble for
 *   the rest; plain noble when node:crypto is not there (a browser bundle).
 *
 * node:crypto is looked up at run time through `process.getBuiltinModule` (Node >= 20.16) rather
 * than a static import, so that this module loads in a browser and everything stays synchronous.
 *
 * The choice, measured with throwaway scripts on the project machine (Node 20.20, 2 cores shared
 * with other jobs, load 3-5, so figures are rough; the ratios held across runs). µs per operation,
 * noble / node:crypto, key import into a KeyObject included where node needs one:
 *
 *   SHA-256 64 B 3.6 / 2.6; 1 KiB 13 / 4.4      SHA-512 64 B 12 / 4.1   HMAC-SHA-256 64 B 13 / 4.5
 *   AES-128-GCM seal 1 KiB 96 / 18; 64 B 42 / 8  ChaCha20-Poly1305 seal 1 KiB 47 / 13
 *   Ed25519 sign 810 / 105; verify 2810 / 150    Ed448 sign 5550 / 2190; verify 10300 / 830
 *   X25519 DH 1390 / 96; public key 585 / 81     X448 DH 12250 / 2420; public key 2550 / 204
 *   P-256 ECDH 4000 / 140   P-384 9130 / 4030    P-521 14300 / 8090
 *   ECDSA verify P-256 2430 / 74+104 import; P-384 7760 / 890+200; P-521 13300 / 1520+240
 *   ECDSA sign P-256 576 / 163; P-384 1050 / 2070; P-521 2150 / 5230   <- noble wins for P-384/521
 *
 * So `auto` uses node:crypto for everything except ECDSA signing on P-384 and P-521
 * (signature/ecdsa.ts). Whole labeled operations, suite 1, noble / auto: SignWithLabel 1050 / 140,
 * VerifyWithLabel 1990 / 205, EncryptWithLabel 3030 / 275, DecryptWithLabel 2860 / 250.
 *
 * Public KeyObjects of signature keys are cached (bounded LRU, nodeKeys.ts): for ECDSA the import
 * costs more than the verification. Private KeyObjects are never cached (see nodeKeys.ts).
 */
import type * as NodeCrypto from 'node:crypto';

export type Backend = 'auto' | 'noble';

export type NodeCryptoModule = typeof NodeCrypto;

let cached: NodeCryptoModule | null | undefined;

/** node:crypto if this runtime has it, else undefined. Looked up once. */
export function nodeCrypto(): NodeCryptoModule | undefined {
  if (cached === undefined) cached = lookup() ?? null;
  return cached ?? undefined;
}

function lookup(): NodeCryptoModule | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  if (typeof proc?.getBuiltinModule !== 'function') return undefined;
  try {
    const mod = proc.getBuiltinModule('node:crypto') as NodeCryptoModule | undefined;
    // A bundler shim or a FIPS build may lack what we use; then noble does everything.
    if (mod === undefined || typeof mod.createCipheriv !== 'function') return undefined;
    if (!mod.getCiphers().includes('chacha20-poly1305')) return undefined;
    return mod;
  } catch {
    return undefined;
  }
}

/** The node:crypto module when `backend` asks for it and the runtime has it. */
export function nodeFor(backend: Backend): NodeCryptoModule | undefined {
  return backend === 'auto' ? nodeCrypto() : undefined;
}

/** Which implementation `backend` resolves to in this runtime. */
export function activeBackend(backend: Backend = 'auto'): 'node:crypto' | 'noble' {
  return nodeFor(backend) !== undefined ? 'node:crypto' : 'noble';
}
