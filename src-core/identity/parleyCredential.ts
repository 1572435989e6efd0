/**
 * The Parley identity inside an MLS credential. It travels as the `identity` of a BasicCredential
 * (RFC 9420 §5.3), so any MLS implementation parses the credential; Parley clients decode the
 * identity and check the chain user key -> device certificate -> leaf certificate -> the leaf's
 * signature_key.
 */
import { encode, struct, uint16 } from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import type { CipherSuite, KeyPair } from '../crypto/index.js';
import type { BasicCredential, Credential } from '../mls/credential.js';
import { CredentialType } from '../mls/credential.js';
import type { DeviceCertificate } from './deviceCertificate.js';
import { deviceCertificateCodec, verifyDeviceCertificate } from './deviceCertificate.js';
import { IdentityError } from './errors.js';
import {
  IDENTITY_FORMAT_VERSION,
  decodeVersioned,
  ed25519PublicKey,
  equalBytes,
  requireVersion,
} from './format.js';
import type { DeviceKeyPair } from './keys.js';
import type { LeafCertificate } from './leafCertificate.js';
import {
  issueLeafCertificate,
  leafCertificateCodec,
  verifyLeafCertificate,
} from './leafCertificate.js';

/**
 * ```
 * struct {
 *     uint16 version = 1;
 *     opaque user_key[32];                    // Ed25519
 *     DeviceCertificate device_certificate;   // signed by user_key
 *     LeafCertificate leaf_certificate;       // signed by device_certificate.device_key
 * } ParleyIdentity;
 *
 * // in the LeafNode:
 * struct {
 *     CredentialType credential_type = basic;
 *     opaque identity<V>;                     // a ParleyIdentity
 * } Credential;
 * ```
 */
export interface ParleyIdentity {
  readonly version: number;
  readonly userKey: Uint8Array;
  readonly deviceCertificate: DeviceCertificate;
  readonly leafCertificate: LeafCertificate;
}

export const parleyIdentityCodec: Codec<ParleyIdentity> = struct<ParleyIdentity>({
  version: uint16,
  userKey: ed25519PublicKey,
  deviceCertificate: deviceCertificateCodec,
  leafCertificate: leafCertificateCodec,
});

export function encodeParleyIdentity(identity: ParleyIdentity): Uint8Array {
  return encode(parleyIdentityCodec, identity);
}

/** Throws IdentityError ('unsupported_version', 'malformed') for bytes that are not a v1 identity. */
export function decodeParleyIdentity(bytes: Uint8Array): ParleyIdentity {
  return decodeVersioned(parleyIdentityCodec, bytes, 'Parley identity');
}

/** The BasicCredential a Parley leaf presents. */
export function parleyCredential(identity: ParleyIdentity): BasicCredential {
  return { credentialType: CredentialType.basic, identity: encodeParleyIdentity(identity) };
}

/**
 * The Parley identity in an MLS credential. Throws 'credential_type_unsupported' for anything but
 * a BasicCredential, 'unsupported_version' or 'malformed' for an identity that does not parse.
 */
export function parseParleyCredential(credential: Credential): ParleyIdentity {
  if (credential.credentialType !== CredentialType.basic || !('identity' in credential)) {
    throw new IdentityError(
      'credential_type_unsupported',
      `credential type ${credential.credentialType} is not a Parley credential`,
    );
  }
  return decodeParleyIdentity(credential.identity);
}

/**
 * Checks the signatures of the chain and that the leaf certificate names `signatureKey` (and
 * `cipherSuite`, when given). Throws 'unsupported_version', 'malformed', 'bad_signature',
 * 'leaf_key_not_certified' or 'cipher_suite_mismatch'. Time, revocation and group binding are the
 * validator's (credentialValidator.ts).
 */
export function verifyParleyChain(
  identity: ParleyIdentity,
  signatureKey: Uint8Array,
  cipherSuite?: number,
): void {
  requireVersion(identity.version, 'Parley identity');
  verifyDeviceCertificate(identity.deviceCertificate, identity.userKey);
  verifyLeafCertificate(identity.leafCertificate, identity.deviceCertificate.deviceKey);
  if (!equalBytes(identity.leafCertificate.signatureKey, signatureKey)) {
    throw new IdentityError(
      'leaf_key_not_certified',
      "the leaf's signature key is not the one its certificate names",
    );
  }
  if (cipherSuite !== undefined && identity.leafCertificate.cipherSuite !== cipherSuite) {
    throw new IdentityError(
      'cipher_suite_mismatch',
      `leaf certificate for suite ${identity.leafCertificate.cipherSuite}, group uses ${cipherSuite}`,
    );
  }
}

export interface LeafCredentialRequest {
  readonly suite: CipherSuite;
  readonly userKey: Uint8Array;
  readonly deviceCertificate: DeviceCertificate;
  readonly deviceKey: DeviceKeyPair;
  /** Bind the key to one group (an Update in a group we are in); absent for KeyPackages. */
  readonly groupId?: Uint8Array;
  readonly notBefore: bigint;
  readonly notAfter: bigint;
}

export interface LeafCredential {
  readonly credential: BasicCredential;
  readonly identity: ParleyIdentity;
  /** A fresh signature key of the suite's scheme; never reuse it in another group. */
  readonly signatureKeyPair: KeyPair;
}

/** A fresh leaf signature key, certified by the device key, and the credential that carries it. */
export function newLeafCredential(request: LeafCredentialRequest): LeafCredential {
  if (!equalBytes(request.deviceKey.publicKey, request.deviceCertificate.deviceKey)) {
    throw new IdentityError('invalid_argument', 'the device certificate is for another device key');
  }
  const signatureKeyPair = request.suite.generateSignatureKeyPair();
  const leafCertificate = issueLeafCertificate(request.deviceKey, {
    cipherSuite: request.suite.id,
    signatureKey: signatureKeyPair.publicKey,
    ...(request.groupId === undefined ? {} : { groupId: request.groupId }),
    notBefore: request.notBefore,
    notAfter: request.notAfter,
  });
  const identity: ParleyIdentity = {
    version: IDENTITY_FORMAT_VERSION,
    userKey: Uint8Array.from(request.userKey),
    deviceCertificate: request.deviceCertificate,
    leafCertificate,
  };
  return { credential: parleyCredential(identity), identity, signatureKeyPair };
}
