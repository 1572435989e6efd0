/** The DH groups in pure JavaScript (@noble/curves). */
import { x25519 } from '@noble/curves/ed25519.js';
import { x448 } from '@noble/curves/ed448.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { isAllZero } from '../bytes.js';
import { CryptoError } from '../errors.js';
import type { DhGroup, DhGroupName, DhGroupSpec, DhPrivateKey } from './dhGroup.js';
import { DH_GROUPS } from './dhGroup.js';
import { checkDhLength, checkPrivateKey, checkPublicKeyShape } from './validate.js';

const NIST = { 'P-256': p256, 'P-384': p384, 'P-521': p521 } as const;
const MONTGOMERY = { X25519: x25519, X448: x448 } as const;

const groups = new Map<DhGroupName, DhGroup>();

export function nobleDhGroup(name: DhGroupName): DhGroup {
  let g = groups.get(name);
  if (g === undefined) {
    g = name === 'X25519' || name === 'X448' ? montgomery(name) : nist(name);
    groups.set(name, g);
  }
  return g;
}

function nist(name: 'P-256' | 'P-384' | 'P-521'): DhGroup {
  const spec = DH_GROUPS[name];
  const curve = NIST[name];
  return {
    spec,
    importPrivate(sk): DhPrivateKey {
      checkPrivateKey(spec, sk);
      return {
        publicKey: () => curve.getPublicKey(sk, false),
        dh(pk) {
          checkPublicKeyShape(spec, pk);
          let shared: Uint8Array;
          try {
            // Point.fromBytes inside rejects points off the curve; the identity has no encoding.
            shared = curve.getSharedSecret(sk, pk, true);
          } catch (e) {
            throw new CryptoError('invalid_public_key', `${name} point rejected`, { cause: e });
          }
          // The compressed encoding is a parity byte, then the x-coordinate: DH() is x.
          const x = shared.slice(1);
          shared.fill(0);
          checkDhLength(spec, x);
          return x;
        },
      };
    },
  };
}

function montgomery(name: 'X25519' | 'X448'): DhGroup {
  const spec: DhGroupSpec = DH_GROUPS[name];
  const curve = MONTGOMERY[name];
  return {
    spec,
    importPrivate(sk): DhPrivateKey {
      checkPrivateKey(spec, sk);
      return {
        publicKey: () => curve.getPublicKey(sk),
        dh(pk) {
          checkPublicKeyShape(spec, pk);
          let shared: Uint8Array;
          try {
            // noble rejects the low-order u-coordinates before running the ladder.
            shared = curve.getSharedSecret(sk, pk);
          } catch (e) {
            throw new CryptoError('invalid_public_key', `${name} low-order point`, { cause: e });
          }
          // RFC 9180 §7.1.4: an all-zero shared secret must abort.
          if (isAllZero(shared)) {
            throw new CryptoError('invalid_public_key', `${name} shared secret is zero`);
          }
          return shared;
        },
      };
    },
  };
}
