/**
 * Ed25519 (0x0807) and Ed448 (0x0808), RFC 8032. Private keys are the 32/57-byte seeds, public
 * keys and signatures the RFC 8032 encodings.
 *
 * Both backends verify per RFC 8032 with canonical encodings (noble with zip215 off). They agree
 * on every honestly made signature; on signatures crafted with small-order components (which only
 * the key holder can make) OpenSSL's cofactorless check and noble's cofactored one can differ.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { ed448 } from '@noble/curves/ed448.js';
import type { Backend, NodeCryptoModule } from '../backend.js';
import { nodeFor } from '../backend.js';
import { ownBytes } from '../bytes.js';
import { CryptoError } from '../errors.js';
import {
  cachedPrivateKey,
  cachedPublicKey,
  okpPrivateKey,
  okpPublicBytes,
  okpPublicKey,
} from '../nodeKeys.js';
import { randomBytes } from '../random.js';
import type { KeyPair, SignatureScheme } from '../types.js';

interface EddsaSpec {
  readonly id: number;
  readonly name: 'Ed25519' | 'Ed448';
  readonly keySize: number;
  readonly signatureSize: number;
}

const SPECS = {
  Ed25519: { id: 0x0807, name: 'Ed25519', keySize: 32, signatureSize: 64 },
  Ed448: { id: 0x0808, name: 'Ed448', keySize: 57, signatureSize: 114 },
} as const satisfies Record<string, EddsaSpec>;

interface EddsaOps {
  publicKey(sk: Uint8Array): Uint8Array;
  sign(sk: Uint8Array, message: Uint8Array): Uint8Array;
  verify(pk: Uint8Array, message: Uint8Array, sig: Uint8Array): boolean;
}

export function eddsaScheme(name: 'Ed25519' | 'Ed448', backend: Backend): SignatureScheme {
  const spec: EddsaSpec = SPECS[name];
  const node = nodeFor(backend);
  const ops = node !== undefined ? nodeOps(node, spec) : nobleOps(spec);
  const checkPrivate = (sk: Uint8Array): void => {
    if (sk.length !== spec.keySize) {
      throw new CryptoError(
        'invalid_private_key',
        `${name} private key of ${sk.length} bytes, want ${spec.keySize}`,
      );
    }
  };
  return {
    id: spec.id,
    generateKeyPair(): KeyPair {
      const privateKey = randomBytes(spec.keySize);
      return { privateKey, publicKey: ops.publicKey(privateKey) };
    },
    publicKeyFromPrivate(privateKey) {
      checkPrivate(privateKey);
      return ops.publicKey(privateKey);
    },
    sign(privateKey, message) {
      checkPrivate(privateKey);
      return ops.sign(privateKey, message);
    },
    verify(publicKey, message, signature) {
      if (publicKey.length !== spec.keySize || signature.length !== spec.signatureSize)
        return false;
      try {
        return ops.verify(publicKey, message, signature);
      } catch {
        return false;
      }
    },
  };
}

function nobleOps(spec: EddsaSpec): EddsaOps {
  if (spec.name === 'Ed25519') {
    return {
      publicKey: (sk) => ed25519.getPublicKey(sk),
      sign: (sk, m) => ed25519.sign(m, sk),
      verify: (pk, m, sig) => ed25519.verify(sig, m, pk, { zip215: false }),
    };
  }
  return {
    publicKey: (sk) => ed448.getPublicKey(sk),
    sign: (sk, m) => ed448.sign(m, sk),
    verify: (pk, m, sig) => ed448.verify(sig, m, pk, { zip215: false }),
  };
}

function nodeOps(node: NodeCryptoModule, spec: EddsaSpec): EddsaOps {
  const load = (pk: Uint8Array) => okpPublicKey(node, spec.name, pk);
  const loadPrivate = (sk: Uint8Array) => okpPrivateKey(node, spec.name, sk);
  return {
    publicKey: (sk) => okpPublicBytes(okpPrivateKey(node, spec.name, sk)),
    sign: (sk, m) => ownBytes(node.sign(null, m, cachedPrivateKey(node, sk, loadPrivate))),
    verify: (pk, m, sig) => node.verify(null, m, cachedPublicKey(spec.name, pk, load), sig),
  };
}
