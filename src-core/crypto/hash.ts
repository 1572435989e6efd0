/** SHA-2 and HMAC (RFC 2104), the hash of every MLS cipher suite. */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import type { Backend } from './backend.js';
import { nodeFor } from './backend.js';
import { ownBytes } from './bytes.js';
import type { Hash } from './types.js';

export type HashName = Hash['name'];

const NOBLE = { 'SHA-256': sha256, 'SHA-384': sha384, 'SHA-512': sha512 } as const;
const NODE_NAME = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' } as const;
const SIZE = { 'SHA-256': 32, 'SHA-384': 48, 'SHA-512': 64 } as const;

const cache = new Map<string, Hash>();

export function makeHash(name: HashName, backend: Backend): Hash {
  const key = `${backend}:${name}`;
  let h = cache.get(key);
  if (h === undefined) {
    h = build(name, backend);
    cache.set(key, h);
  }
  return h;
}

function build(name: HashName, backend: Backend): Hash {
  const size = SIZE[name];
  const node = nodeFor(backend);
  if (node !== undefined) {
    const algo = NODE_NAME[name];
    return {
      name,
      size,
      digest: (data) => ownedView(node.createHash(algo).update(data).digest()),
      mac: (key, data) => ownedView(node.createHmac(algo, key).update(data).digest()),
    };
  }
  const fn = NOBLE[name];
  return {
    name,
    size,
    digest: (data) => fn(data),
    mac: (key, data) => hmac(fn, key, data),
  };
}

/**
 * `b` as a plain Uint8Array. A digest Buffer that owns its whole ArrayBuffer (node allocates
 * digests outside the shared pool) is viewed without a copy; anything else is copied and wiped.
 */
function ownedView(b: Uint8Array): Uint8Array {
  if (b.byteOffset === 0 && b.buffer.byteLength === b.length) {
    return new Uint8Array(b.buffer, 0, b.length);
  }
  return ownBytes(b, true);
}
