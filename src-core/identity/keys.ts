/**
 * The identity layer's keys: a long-term user key and one key per device, both Ed25519, and the
 * domain-separated signatures made with them.
 *
 * Every identity signature is over a `SignContent` (RFC 9420 §5.1.2's struct) whose label starts
 * with "Parley 1.0 " instead of "MLS 1.0 ": a signature made for one Parley structure can never
 * verify as another, nor as any MLS structure, even when the same key were used for both.
 */
import { encode } from '../codec/index.js';
import { CryptoError, makeSignatureScheme } from '../crypto/index.js';
import type { KeyPair, SignatureScheme } from '../crypto/index.js';
import { signContentCodec } from '../crypto/labels.js';
import { IdentityError } from './errors.js';

/** TLS SignatureScheme ed25519 (RFC 8446 §4.2.3): the only scheme of format version 1. */
export const ED25519_SCHEME_ID = 0x0807;
export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_PRIVATE_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

const ed25519: SignatureScheme = makeSignatureScheme(ED25519_SCHEME_ID, 'auto');

/** The structures the identity layer signs; each label is prefixed with "Parley 1.0 ". */
export const SignLabel = {
  deviceCertificate: 'DeviceCertificate',
  leafCertificate: 'LeafCertificate',
  identityRecord: 'IdentityRecord',
  linkConfirm: 'LinkConfirm',
  mailboxWelcome: 'MailboxWelcome',
} as const;
export type SignLabel = (typeof SignLabel)[keyof typeof SignLabel];

const PARLEY_10 = 'Parley 1.0 ';
const textEncoder = new TextEncoder();

/** `"Parley 1.0 " + label` as bytes. */
export function parleyLabel(label: string): Uint8Array {
  return textEncoder.encode(PARLEY_10 + label);
}

/** The long-term key that names a user; it certifies the user's devices and signs records. */
export interface UserKeyPair extends KeyPair {
  readonly kind: 'user';
}

/** A device's key, certified by the user key; it certifies the device's per-group leaf keys. */
export interface DeviceKeyPair extends KeyPair {
  readonly kind: 'device';
}

export function generateUserKey(): UserKeyPair {
  return { kind: 'user', ...ed25519.generateKeyPair() };
}

export function generateDeviceKey(): DeviceKeyPair {
  return { kind: 'device', ...ed25519.generateKeyPair() };
}

function fromSeed(seed: Uint8Array): KeyPair {
  if (seed.length !== ED25519_PRIVATE_KEY_BYTES) {
    throw new IdentityError(
      'invalid_key',
      `an Ed25519 private key is ${ED25519_PRIVATE_KEY_BYTES} bytes, got ${seed.length}`,
    );
  }
  const privateKey = Uint8Array.from(seed);
  return { privateKey, publicKey: ed25519.publicKeyFromPrivate(privateKey) };
}

/** A user key from its stored 32-byte private key (RFC 8032 seed). The seed is copied. */
export function userKeyFromPrivate(seed: Uint8Array): UserKeyPair {
  return { kind: 'user', ...fromSeed(seed) };
}

/** A device key from its stored 32-byte private key (RFC 8032 seed). The seed is copied. */
export function deviceKeyFromPrivate(seed: Uint8Array): DeviceKeyPair {
  return { kind: 'device', ...fromSeed(seed) };
}

/** Overwrites a private key that is no longer needed (the key pair is unusable afterwards). */
export function zeroizeKey(key: KeyPair): void {
  key.privateKey.fill(0);
}

/** Throws 'invalid_key' unless `key` has the length of an Ed25519 public key. */
export function checkPublicKey(what: string, key: Uint8Array): void {
  if (key.length !== ED25519_PUBLIC_KEY_BYTES) {
    throw new IdentityError('invalid_key', `${what} is ${key.length} bytes, want 32`);
  }
}

/** SignWithLabel in the Parley namespace: Ed25519 over SignContent("Parley 1.0 " + label, content). */
export function signWithParleyLabel(
  privateKey: Uint8Array,
  label: SignLabel,
  content: Uint8Array,
): Uint8Array {
  const message = encode(signContentCodec, { label: parleyLabel(label), content });
  try {
    return ed25519.sign(privateKey, message);
  } catch (e) {
    if (e instanceof CryptoError) {
      throw new IdentityError('invalid_key', 'the signing key is not an Ed25519 key', { cause: e });
    }
    throw e;
  }
}

/** False for a bad signature or a malformed key or signature; never throws. */
export function verifyWithParleyLabel(
  publicKey: Uint8Array,
  label: SignLabel,
  content: Uint8Array,
  signature: Uint8Array,
): boolean {
  const message = encode(signContentCodec, { label: parleyLabel(label), content });
  return ed25519.verify(publicKey, message, signature);
}
