/** The DHKEMs by HPKE identifier, for one backend. */
import type { Backend } from '../backend.js';
import { nodeFor } from '../backend.js';
import { CryptoError } from '../errors.js';
import { makeKdf } from '../kdf.js';
import { DH_GROUPS, KEM_GROUP } from './dhGroup.js';
import { DhKem } from './dhkem.js';
import { nobleDhGroup } from './nobleDh.js';
import { nodeDhGroup } from './nodeDh.js';

const cache = new Map<string, DhKem>();

export function makeKem(kemId: number, backend: Backend): DhKem {
  const key = `${backend}:${kemId}`;
  let kem = cache.get(key);
  if (kem === undefined) {
    const name = KEM_GROUP[kemId];
    if (name === undefined) throw new CryptoError('unsupported', `KEM 0x${kemId.toString(16)}`);
    const node = nodeFor(backend);
    const group = node !== undefined ? nodeDhGroup(node, name) : nobleDhGroup(name);
    kem = new DhKem(group, makeKdf(DH_GROUPS[name].kdfId, backend));
    cache.set(key, kem);
  }
  return kem;
}

export { DhKem } from './dhkem.js';
export type { Encapsulation } from './dhkem.js';
