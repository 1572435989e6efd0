/** Signature schemes by TLS SignatureScheme value. */
import type { Backend } from '../backend.js';
import { CryptoError } from '../errors.js';
import type { SignatureScheme } from '../types.js';
import { ecdsaScheme } from './ecdsa.js';
import { eddsaScheme } from './eddsa.js';

const BUILDERS: Readonly<Record<number, (backend: Backend) => SignatureScheme>> = {
  0x0403: (b) => ecdsaScheme('P-256', b),
  0x0503: (b) => ecdsaScheme('P-384', b),
  0x0603: (b) => ecdsaScheme('P-521', b),
  0x0807: (b) => eddsaScheme('Ed25519', b),
  0x0808: (b) => eddsaScheme('Ed448', b),
};

const cache = new Map<string, SignatureScheme>();

export function makeSignatureScheme(id: number, backend: Backend): SignatureScheme {
  const key = `${backend}:${id}`;
  let scheme = cache.get(key);
  if (scheme === undefined) {
    const build = BUILDERS[id];
    if (build === undefined)
      throw new CryptoError('unsupported', `signature scheme 0x${id.toString(16)}`);
    scheme = build(backend);
    cache.set(key, scheme);
  }
  return scheme;
}
