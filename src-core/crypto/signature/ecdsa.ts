/**
 * ECDSA over P-256/SHA-256 (0x0403), P-384/SHA-384 (0x0503) and P-521/SHA-512 (0x0603).
 *
 * Keys as in the MLS test vectors: the private key is the scalar as a big-endian field-size
 * string, the public key the uncompressed point (RFC 8446 UncompressedPointRepresentation).
 * Signatures are DER (RFC 9420 §5.1.1). We produce low-S signatures and accept high-S ones:
 * RFC 9420 does not ask for low-S, and OpenSSL-based implementations do not normalise.
 */
import { p256, p384, p521 } from '@noble/curves/nist.js';
import type { Backend, NodeCryptoModule } from '../backend.js';
import { nodeFor } from '../backend.js';
import { bytesToBigInt, ownBytes } from '../bytes.js';
import { CryptoError } from '../errors.js';
import type { EcCurve } from '../nodeKeys.js';
import { cachedPrivateKey, cachedPublicKey, ecPrivateKey, ecPublicKey } from '../nodeKeys.js';
import type { KeyPair, SignatureScheme } from '../types.js';
import { decodeDerSignature, encodeDerSignature, fromP1363, toP1363 } from './der.js';
import type { EcdsaSignature } from './der.js';

interface EcdsaSpec {
  readonly id: number;
  readonly curve: EcCurve;
  readonly noble: typeof p256;
  readonly opensslCurve: string;
  readonly hash: 'sha256' | 'sha384' | 'sha512';
  readonly scalarSize: number;
  readonly order: bigint;
  /**
   * Whether `auto` signs with node:crypto. Signing there means deriving the public key for the
   * JWK, importing it (OpenSSL validates it) and signing: measured P-256 31+104+28 µs against
   * noble's 576 µs, but P-384 788+460+820 µs against 1053 µs and P-521 2072+1002+2154 µs against
   * 2150 µs. Verification is faster on node:crypto for all three (see backend.ts).
   */
  readonly nodeSigns: boolean;
}

export const ECDSA_SPECS: Readonly<Record<EcCurve, EcdsaSpec>> = {
  'P-256': {
    id: 0x0403,
    curve: 'P-256',
    noble: p256,
    opensslCurve: 'prime256v1',
    hash: 'sha256',
    scalarSize: 32,
    order: p256.Point.Fn.ORDER,
    nodeSigns: true,
  },
  'P-384': {
    id: 0x0503,
    curve: 'P-384',
    noble: p384,
    opensslCurve: 'secp384r1',
    hash: 'sha384',
    scalarSize: 48,
    order: p384.Point.Fn.ORDER,
    nodeSigns: false,
  },
  'P-521': {
    id: 0x0603,
    curve: 'P-521',
    noble: p521,
    opensslCurve: 'secp521r1',
    hash: 'sha512',
    scalarSize: 66,
    order: p521.Point.Fn.ORDER,
    nodeSigns: false,
  },
};

export function ecdsaScheme(curve: EcCurve, backend: Backend): SignatureScheme {
  const spec = ECDSA_SPECS[curve];
  const node = nodeFor(backend);
  const ops = node !== undefined ? nodeOps(node, spec) : nobleOps(spec);
  const half = spec.order >> 1n;
  return {
    id: spec.id,
    generateKeyPair(): KeyPair {
      const privateKey = spec.noble.utils.randomSecretKey();
      return { privateKey, publicKey: ops.publicKey(privateKey) };
    },
    publicKeyFromPrivate(privateKey) {
      return ops.publicKey(normalizePrivateKey(spec, privateKey));
    },
    sign(privateKey, message) {
      const sk = normalizePrivateKey(spec, privateKey);
      const sig = ops.sign(sk, message);
      if (sk !== privateKey) sk.fill(0);
      // Low-S: (r, s) and (r, n - s) are both valid; emit the smaller so our output is canonical.
      const s = sig.s > half ? spec.order - sig.s : sig.s;
      return encodeDerSignature(sig.r, s);
    },
    verify(publicKey, message, signature) {
      if (publicKey.length !== 1 + 2 * spec.scalarSize || publicKey[0] !== 0x04) return false;
      const sig = decodeDerSignature(signature);
      if (sig === undefined) return false;
      if (sig.r <= 0n || sig.r >= spec.order || sig.s <= 0n || sig.s >= spec.order) return false;
      try {
        return ops.verify(publicKey, message, toP1363(sig, spec.scalarSize));
      } catch {
        return false;
      }
    },
  };
}

/**
 * The scalar as exactly `scalarSize` bytes. Some implementations write ECDSA private keys as a
 * minimal big-endian integer (the official P-521 vectors carry 65-byte keys), so a shorter
 * encoding is accepted and left-padded; a longer one is not.
 */
function normalizePrivateKey(spec: EcdsaSpec, sk: Uint8Array): Uint8Array {
  if (sk.length === 0 || sk.length > spec.scalarSize) {
    throw new CryptoError(
      'invalid_private_key',
      `${spec.curve} private key of ${sk.length} bytes, want ${spec.scalarSize}`,
    );
  }
  const d = bytesToBigInt(sk);
  if (d === 0n || d >= spec.order)
    throw new CryptoError('invalid_private_key', `${spec.curve} scalar out of range`);
  if (sk.length === spec.scalarSize) return sk;
  const padded = new Uint8Array(spec.scalarSize);
  padded.set(sk, spec.scalarSize - sk.length);
  return padded;
}

interface EcdsaOps {
  publicKey(sk: Uint8Array): Uint8Array;
  sign(sk: Uint8Array, message: Uint8Array): EcdsaSignature;
  verify(pk: Uint8Array, message: Uint8Array, p1363: Uint8Array): boolean;
}

function nobleOps(spec: EcdsaSpec): EcdsaOps {
  const c = spec.noble;
  return {
    publicKey: (sk) => c.getPublicKey(sk, false),
    // RFC 6979 deterministic nonces over the suite's hash (noble's default for each curve).
    sign: (sk, message) => fromP1363(c.sign(message, sk, { prehash: true, format: 'compact' })),
    verify: (pk, message, sig) =>
      c.verify(sig, message, pk, { prehash: true, lowS: false, format: 'compact' }),
  };
}

function nodeOps(node: NodeCryptoModule, spec: EcdsaSpec): EcdsaOps {
  const publicKey = (sk: Uint8Array): Uint8Array => {
    const ecdh = node.createECDH(spec.opensslCurve);
    ecdh.setPrivateKey(sk);
    return ownBytes(ecdh.getPublicKey(null, 'uncompressed'));
  };
  const load = (pk: Uint8Array) => ecPublicKey(node, spec.curve, pk);
  return {
    publicKey,
    sign: spec.nodeSigns
      ? (sk, message) => {
          const key = cachedPrivateKey(node, sk, (d) =>
            ecPrivateKey(node, spec.curve, d, publicKey(d)),
          );
          return fromP1363(node.sign(spec.hash, message, { key, dsaEncoding: 'ieee-p1363' }));
        }
      : nobleOps(spec).sign,
    verify(pk, message, sig) {
      const key = cachedPublicKey(spec.curve, pk, load);
      return node.verify(spec.hash, message, { key, dsaEncoding: 'ieee-p1363' }, sig);
    },
  };
}
