/**
 * Raw key bytes to node:crypto KeyObjects and back. Only used by the `auto` backend.
 *
 * JWK is the import path: OpenSSL 3's DER decoders cost 5-10x more than the key operation itself
 * (measured: Ed25519 PKCS#8 import ~500 µs, JWK import ~60 µs, sign ~55 µs).
 *
 * An OKP private JWK must carry `x`, but Node builds the key from `d` alone and derives `x` from
 * it; we pass a placeholder instead of computing the public key in JavaScript. That is Node
 * behaviour, not a documented promise, so it is checked once per curve against the PKCS#8 path
 * and, should a future Node differ, PKCS#8 is used instead.
 *
 * A JWK passes the private key as a base64url string, which JavaScript cannot wipe; it is
 * garbage once the import returns. Byte buffers we build around secrets are wiped.
 */
import type { KeyObject } from 'node:crypto';
import type { NodeCryptoModule } from './backend.js';
import { concat, equalBytes } from './bytes.js';

export type OkpCurve = 'X25519' | 'X448' | 'Ed25519' | 'Ed448';
export type EcCurve = 'P-256' | 'P-384' | 'P-521';

const PKCS8_PREFIX: Readonly<Record<OkpCurve, string>> = {
  X25519: '302e020100300506032b656e04220420',
  X448: '3046020100300506032b656f043a0438',
  Ed25519: '302e020100300506032b657004220420',
  Ed448: '3047020100300506032b6571043b0439',
};

export function b64u(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64url');
}

export function fromB64u(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'base64url'));
}

const placeholderWorks = new Map<OkpCurve, boolean>();

function viaPkcs8(node: NodeCryptoModule, crv: OkpCurve, d: Uint8Array): KeyObject {
  const der = concat(Buffer.from(PKCS8_PREFIX[crv], 'hex'), d);
  try {
    const view = Buffer.from(der.buffer, der.byteOffset, der.length);
    return node.createPrivateKey({ key: view, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

function viaJwk(node: NodeCryptoModule, crv: OkpCurve, d: Uint8Array): KeyObject {
  return node.createPrivateKey({ key: { kty: 'OKP', crv, d: b64u(d), x: '' }, format: 'jwk' });
}

const KEY_SIZE: Readonly<Record<OkpCurve, number>> = {
  X25519: 32,
  X448: 56,
  Ed25519: 32,
  Ed448: 57,
};

function checkPlaceholder(node: NodeCryptoModule, crv: OkpCurve): boolean {
  let ok = placeholderWorks.get(crv);
  if (ok === undefined) {
    // A fixed, public test key: the check never touches a caller's secret.
    const d = new Uint8Array(KEY_SIZE[crv]).fill(0x5a);
    try {
      const viaPlaceholder = okpPublicBytes(viaJwk(node, crv, d));
      ok =
        viaPlaceholder.length > 0 &&
        equalBytes(viaPlaceholder, okpPublicBytes(viaPkcs8(node, crv, d)));
    } catch {
      ok = false;
    }
    placeholderWorks.set(crv, ok);
  }
  return ok;
}

/** A private KeyObject for an X25519/X448/Ed25519/Ed448 key given as raw bytes. */
export function okpPrivateKey(node: NodeCryptoModule, crv: OkpCurve, d: Uint8Array): KeyObject {
  return checkPlaceholder(node, crv) ? viaJwk(node, crv, d) : viaPkcs8(node, crv, d);
}

export function okpPublicKey(node: NodeCryptoModule, crv: OkpCurve, x: Uint8Array): KeyObject {
  return node.createPublicKey({ key: { kty: 'OKP', crv, x: b64u(x) }, format: 'jwk' });
}

/** The raw public key of an OKP KeyObject (private or public). */
export function okpPublicBytes(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  return fromB64u(jwk.x ?? '');
}

/** An EC private KeyObject from the scalar and the uncompressed public point. */
export function ecPrivateKey(
  node: NodeCryptoModule,
  crv: EcCurve,
  d: Uint8Array,
  uncompressedPublicKey: Uint8Array,
): KeyObject {
  const n = (uncompressedPublicKey.length - 1) / 2;
  return node.createPrivateKey({
    key: {
      kty: 'EC',
      crv,
      d: b64u(d),
      x: b64u(uncompressedPublicKey.subarray(1, 1 + n)),
      y: b64u(uncompressedPublicKey.subarray(1 + n)),
    },
    format: 'jwk',
  });
}

const SPKI_PREFIX: Readonly<Record<EcCurve, string>> = {
  'P-256': '3059301306072a8648ce3d020106082a8648ce3d030107034200',
  'P-384': '3076301006072a8648ce3d020106052b81040022036200',
  'P-521': '30819b301006072a8648ce3d020106052b8104002303818600',
};

/**
 * An EC public KeyObject from an uncompressed point; node rejects points off the curve. JWK for
 * P-256 (~100 µs); SPKI DER for P-384/P-521, because OpenSSL checks [n]Q = O on a JWK import,
 * a full scalar multiplication (JWK P-384 ~470 µs, P-521 ~1500 µs; SPKI ~200 µs for all three).
 */
export function ecPublicKey(
  node: NodeCryptoModule,
  crv: EcCurve,
  uncompressed: Uint8Array,
): KeyObject {
  if (crv !== 'P-256') {
    const der = concat(Buffer.from(SPKI_PREFIX[crv], 'hex'), uncompressed);
    return node.createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
  }
  const n = (uncompressed.length - 1) / 2;
  return node.createPublicKey({
    key: {
      kty: 'EC',
      crv,
      x: b64u(uncompressed.subarray(1, 1 + n)),
      y: b64u(uncompressed.subarray(1 + n)),
    },
    format: 'jwk',
  });
}

/**
 * Public KeyObjects of signature keys, most recently used last. A member verifies the same few
 * senders' keys over and over, and an import costs as much as the verification or more (see
 * above). Public keys only: private KeyObjects are never cached, because a KeyObject cannot be
 * wiped and a cache would keep signing and HPKE secrets alive beyond the caller's control.
 */
const PUBLIC_CACHE_SIZE = 1024;
const publicCache = new Map<string, KeyObject>();

/**
 * In front of the LRU, the KeyObject last found for a given array: the MLS layer passes the same
 * leaf's key array for every message from that sender, and comparing 32-64 bytes is cheaper than
 * building the LRU's string key (~3 µs per verification). Public keys are not secret, so the entry
 * holds a copy to check that the array was not overwritten since. The KeyObject is held weakly:
 * the LRU alone bounds how many stay alive, however many key arrays a large group has. An entry is
 * made only for a key seen before (an LRU hit): a join verifies each of 50,000 leaves once, and an
 * entry per leaf would add ~20 MB to the group state for nothing.
 */
interface PublicEntry {
  readonly kind: string;
  readonly bytes: Uint8Array;
  readonly key: WeakRef<KeyObject>;
}

const publicByArray = new WeakMap<Uint8Array, PublicEntry>();

export function cachedPublicKey(
  kind: string,
  publicKey: Uint8Array,
  load: (publicKey: Uint8Array) => KeyObject,
): KeyObject {
  const hit = publicByArray.get(publicKey);
  if (hit !== undefined && hit.kind === kind && equalBytes(hit.bytes, publicKey)) {
    const key = hit.key.deref();
    if (key !== undefined) return key;
  }
  const { key, seenBefore } = lruPublicKey(kind, publicKey, load);
  if (seenBefore) {
    publicByArray.set(publicKey, { kind, bytes: publicKey.slice(), key: new WeakRef(key) });
  }
  return key;
}

function lruPublicKey(
  kind: string,
  publicKey: Uint8Array,
  load: (publicKey: Uint8Array) => KeyObject,
): { key: KeyObject; seenBefore: boolean } {
  const id = `${kind}:${b64u(publicKey)}`;
  let key = publicCache.get(id);
  const seenBefore = key !== undefined;
  if (key !== undefined) {
    publicCache.delete(id);
  } else {
    // A key that fails to import throws here and is not cached.
    key = load(publicKey);
    if (publicCache.size >= PUBLIC_CACHE_SIZE) {
      publicCache.delete(publicCache.keys().next().value!);
    }
  }
  publicCache.set(id, key);
  return { key, seenBefore };
}

interface PrivateEntry {
  readonly fingerprint: Buffer;
  readonly key: KeyObject;
}

/**
 * Private signing keys, keyed by the caller's byte array itself (not its contents). Importing a
 * private key costs as much as the signature it makes (Ed25519 JWK import ~20-60 µs), and a group
 * member signs every message with the same key, held in the same array for the whole epoch.
 *
 * The entry lives exactly as long as the caller's array (a WeakMap), so the cache keeps no key
 * alive that the caller has dropped, and holds no copy of the secret: a SHA-256 fingerprint tells
 * whether the array still holds the key the KeyObject was made from (a caller that wipes or
 * overwrites the array gets a fresh import, never the stale key). What it cannot do is wipe the
 * KeyObject: that is freed when the caller's array is collected, as any node:crypto key is.
 */
const privateCache = new WeakMap<Uint8Array, PrivateEntry>();

export function cachedPrivateKey(
  node: NodeCryptoModule,
  privateKey: Uint8Array,
  load: (privateKey: Uint8Array) => KeyObject,
): KeyObject {
  // One-shot hashing (Node >= 20.12) saves the Hash object: ~0.7 µs against ~1.3 µs per sign.
  const fingerprint =
    typeof node.hash === 'function'
      ? node.hash('sha256', privateKey, 'buffer')
      : node.createHash('sha256').update(privateKey).digest();
  const hit = privateCache.get(privateKey);
  if (hit !== undefined && node.timingSafeEqual(hit.fingerprint, fingerprint)) return hit.key;
  const key = load(privateKey);
  privateCache.set(privateKey, { fingerprint, key });
  return key;
}
