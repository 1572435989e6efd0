/**
 * The DH groups on node:crypto (OpenSSL). NIST curves go through `createECDH`, which takes the raw
 * scalar and point directly (no KeyObject import at all); X25519/X448 through KeyObjects.
 */
import type { NodeCryptoModule } from '../backend.js';
import { isAllZero, ownBytes } from '../bytes.js';
import { CryptoError } from '../errors.js';
import { okpPrivateKey, okpPublicBytes, okpPublicKey } from '../nodeKeys.js';
import type { DhGroup, DhGroupName, DhPrivateKey } from './dhGroup.js';
import { DH_GROUPS } from './dhGroup.js';
import { checkDhLength, checkPrivateKey, checkPublicKeyShape } from './validate.js';

const OPENSSL_CURVE = {
  'P-256': 'prime256v1',
  'P-384': 'secp384r1',
  'P-521': 'secp521r1',
} as const;

const groups = new WeakMap<NodeCryptoModule, Map<DhGroupName, DhGroup>>();

export function nodeDhGroup(node: NodeCryptoModule, name: DhGroupName): DhGroup {
  let byName = groups.get(node);
  if (byName === undefined) {
    byName = new Map();
    groups.set(node, byName);
  }
  let g = byName.get(name);
  if (g === undefined) {
    g = name === 'X25519' || name === 'X448' ? montgomery(node, name) : nist(node, name);
    byName.set(name, g);
  }
  return g;
}

function nist(node: NodeCryptoModule, name: 'P-256' | 'P-384' | 'P-521'): DhGroup {
  const spec = DH_GROUPS[name];
  return {
    spec,
    importPrivate(sk): DhPrivateKey {
      checkPrivateKey(spec, sk);
      const ecdh = node.createECDH(OPENSSL_CURVE[name]);
      try {
        ecdh.setPrivateKey(sk);
      } catch (e) {
        throw new CryptoError('invalid_private_key', `${name} scalar rejected`, { cause: e });
      }
      return {
        publicKey: () => ownBytes(ecdh.getPublicKey(null, 'uncompressed')),
        dh(pk) {
          checkPublicKeyShape(spec, pk);
          let x: Uint8Array;
          try {
            // OpenSSL checks that the point is on the curve; the result is the x-coordinate,
            // left-padded to the field size.
            x = ownBytes(ecdh.computeSecret(pk), true);
          } catch (e) {
            throw new CryptoError('invalid_public_key', `${name} point rejected`, { cause: e });
          }
          checkDhLength(spec, x);
          return x;
        },
      };
    },
  };
}

function montgomery(node: NodeCryptoModule, name: 'X25519' | 'X448'): DhGroup {
  const spec = DH_GROUPS[name];
  return {
    spec,
    importPrivate(sk): DhPrivateKey {
      checkPrivateKey(spec, sk);
      const key = okpPrivateKey(node, name, sk);
      return {
        publicKey: () => okpPublicBytes(key),
        dh(pk) {
          checkPublicKeyShape(spec, pk);
          let shared: Uint8Array;
          try {
            // OpenSSL refuses a low-order peer key (its X25519/X448 fail on a zero result).
            shared = ownBytes(
              node.diffieHellman({ privateKey: key, publicKey: okpPublicKey(node, name, pk) }),
              true,
            );
          } catch (e) {
            throw new CryptoError('invalid_public_key', `${name} low-order point`, { cause: e });
          }
          if (isAllZero(shared)) {
            throw new CryptoError('invalid_public_key', `${name} shared secret is zero`);
          }
          return shared;
        },
      };
    },
  };
}
