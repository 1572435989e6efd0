/** HKDF (RFC 5869) as the HPKE KDFs 0x0001..0x0003 (RFC 9180 §7.2). */
import type { Backend } from './backend.js';
import { CryptoError } from './errors.js';
import type { HashName } from './hash.js';
import { makeHash } from './hash.js';
import type { Hash, Kdf } from './types.js';

export const KDF_HASH: Readonly<Record<number, HashName>> = {
  0x0001: 'SHA-256',
  0x0002: 'SHA-384',
  0x0003: 'SHA-512',
};

const cache = new Map<string, Kdf>();

/** The HKDF whose HPKE identifier is `id`. */
export function makeKdf(id: number, backend: Backend): Kdf {
  const key = `${backend}:${id}`;
  let kdf = cache.get(key);
  if (kdf === undefined) {
    const hashName = KDF_HASH[id];
    if (hashName === undefined) throw new CryptoError('unsupported', `KDF 0x${id.toString(16)}`);
    kdf = hkdf(id, makeHash(hashName, backend));
    cache.set(key, kdf);
  }
  return kdf;
}

function hkdf(id: number, hash: Hash): Kdf {
  const nh = hash.size;
  const zeroSalt = new Uint8Array(nh);
  return {
    id,
    size: nh,
    extract(salt, ikm) {
      return hash.mac(salt.length === 0 ? zeroSalt : salt, ikm);
    },
    expand(prk, info, length) {
      if (!Number.isInteger(length) || length < 0 || length > 255 * nh) {
        throw new CryptoError('invalid_argument', `HKDF-Expand length ${length} (max ${255 * nh})`);
      }
      if (length <= nh) {
        // One block: OKM = T(1) = HMAC(PRK, info | 0x01), the whole of every MLS label expansion.
        const input = new Uint8Array(info.length + 1);
        input.set(info, 0);
        input[info.length] = 1;
        const t = hash.mac(prk, input);
        if (length === nh) return t;
        const out = t.slice(0, length);
        t.fill(0);
        return out;
      }
      const out = new Uint8Array(length);
      // T(i) = HMAC(PRK, T(i-1) | info | i); one buffer holds T(i-1) | info | i for each round.
      const input = new Uint8Array(nh + info.length + 1);
      input.set(info, nh);
      let t: Uint8Array | undefined;
      for (let i = 1, at = 0; at < length; i++) {
        let block: Uint8Array;
        if (t === undefined) {
          block = input.subarray(nh);
        } else {
          input.set(t, 0);
          block = input;
        }
        block[block.length - 1] = i;
        const next = hash.mac(prk, block);
        t?.fill(0);
        t = next;
        out.set(t.subarray(0, Math.min(nh, length - at)), at);
        at += nh;
      }
      t?.fill(0);
      input.fill(0);
      return out;
    },
  };
}
