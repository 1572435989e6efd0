/**
 * A leaf certificate: a device key's statement that an MLS leaf signature key is its own, for one
 * cipher suite and (optionally) one group. Each group membership gets a fresh signature key
 * (ARCHITECTURE.md): a key stolen from one group then signs for no other.
 */
import { encode, opaque, struct, uint16, uint64 } from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import { IdentityError } from './errors.js';
import {
  IDENTITY_FORMAT_VERSION,
  checkValidity,
  decodeVersioned,
  ed25519PublicKey,
  requireVersion,
} from './format.js';
import type { DeviceKeyPair } from './keys.js';
import { SignLabel, checkPublicKey, signWithParleyLabel, verifyWithParleyLabel } from './keys.js';

/** Longest signature key accepted (an uncompressed P-521 point is 133 bytes). */
export const MAX_LEAF_KEY_BYTES = 256;
/** Longest group id a certificate may be bound to. */
export const MAX_GROUP_ID_BYTES = 256;

/**
 * ```
 * struct {
 *     uint16 version = 1;
 *     CipherSuite cipher_suite;   // whose signature scheme signature_key belongs to
 *     opaque signature_key<V>;    // the leaf's LeafNode.signature_key
 *     opaque group_id<V>;         // the one group it may sign in; empty: not bound yet
 *     uint64 not_before;          // seconds since the Unix epoch
 *     uint64 not_after;
 *     opaque signature<V>;        // SignWithParleyLabel(device_key, "LeafCertificate", TBS)
 * } LeafCertificate;
 *
 * struct {
 *     opaque device_key[32];
 *     uint16 version;
 *     CipherSuite cipher_suite;
 *     opaque signature_key<V>;
 *     opaque group_id<V>;
 *     uint64 not_before;
 *     uint64 not_after;
 * } LeafCertificateTBS;
 * ```
 * An empty group_id is for KeyPackages, whose maker cannot know the group it will be added to;
 * the key is still fresh per KeyPackage, and a member may re-certify it for the group in an
 * Update.
 */
export interface LeafCertificate {
  readonly version: number;
  readonly cipherSuite: number;
  readonly signatureKey: Uint8Array;
  readonly groupId: Uint8Array;
  readonly notBefore: bigint;
  readonly notAfter: bigint;
  readonly signature: Uint8Array;
}

interface LeafCertificateTbs extends Omit<LeafCertificate, 'signature'> {
  readonly deviceKey: Uint8Array;
}

const tbsCodec: Codec<LeafCertificateTbs> = struct<LeafCertificateTbs>({
  deviceKey: ed25519PublicKey,
  version: uint16,
  cipherSuite: uint16,
  signatureKey: opaque,
  groupId: opaque,
  notBefore: uint64,
  notAfter: uint64,
});

export const leafCertificateCodec: Codec<LeafCertificate> = struct<LeafCertificate>({
  version: uint16,
  cipherSuite: uint16,
  signatureKey: opaque,
  groupId: opaque,
  notBefore: uint64,
  notAfter: uint64,
  signature: opaque,
});

export interface LeafCertificateRequest {
  readonly cipherSuite: number;
  readonly signatureKey: Uint8Array;
  /** Empty or absent: usable in the one group a KeyPackage ends up in. */
  readonly groupId?: Uint8Array;
  readonly notBefore: bigint;
  readonly notAfter: bigint;
}

function checkSizes(signatureKey: Uint8Array, groupId: Uint8Array): void {
  if (signatureKey.length === 0 || signatureKey.length > MAX_LEAF_KEY_BYTES) {
    throw new IdentityError('malformed', `leaf signature key of ${signatureKey.length} bytes`);
  }
  if (groupId.length > MAX_GROUP_ID_BYTES) {
    throw new IdentityError('malformed', `group id of ${groupId.length} bytes`);
  }
}

/** The device key certifies a leaf signature key. */
export function issueLeafCertificate(
  deviceKey: DeviceKeyPair,
  request: LeafCertificateRequest,
): LeafCertificate {
  const groupId = Uint8Array.from(request.groupId ?? new Uint8Array(0));
  checkSizes(request.signatureKey, groupId);
  if (request.notAfter < request.notBefore) {
    throw new IdentityError('invalid_lifetime', 'leaf certificate ends before it starts');
  }
  const unsigned = {
    version: IDENTITY_FORMAT_VERSION,
    cipherSuite: request.cipherSuite,
    signatureKey: Uint8Array.from(request.signatureKey),
    groupId,
    notBefore: request.notBefore,
    notAfter: request.notAfter,
  };
  const tbs = encode(tbsCodec, { deviceKey: deviceKey.publicKey, ...unsigned });
  return {
    ...unsigned,
    signature: signWithParleyLabel(deviceKey.privateKey, SignLabel.leafCertificate, tbs),
  };
}

/**
 * Throws IdentityError unless `deviceKey` signed the certificate: 'unsupported_version',
 * 'malformed', 'bad_signature'. Time and binding are checked separately.
 */
export function verifyLeafCertificate(cert: LeafCertificate, deviceKey: Uint8Array): void {
  requireVersion(cert.version, 'leaf certificate');
  checkPublicKey('device key', deviceKey);
  checkSizes(cert.signatureKey, cert.groupId);
  let tbs: Uint8Array;
  try {
    tbs = encode(tbsCodec, { deviceKey, ...cert });
  } catch (e) {
    throw new IdentityError('malformed', 'leaf certificate does not encode', { cause: e });
  }
  if (!verifyWithParleyLabel(deviceKey, SignLabel.leafCertificate, tbs, cert.signature)) {
    throw new IdentityError('bad_signature', 'leaf certificate signature does not verify');
  }
}

/** Throws 'expired', 'not_yet_valid' or 'invalid_lifetime' for a certificate not valid at `now`. */
export function checkLeafCertificateTime(cert: LeafCertificate, now: bigint, skew: bigint): void {
  checkValidity(cert.notBefore, cert.notAfter, now, skew, 'leaf certificate');
}

export function encodeLeafCertificate(cert: LeafCertificate): Uint8Array {
  return encode(leafCertificateCodec, cert);
}

/** Throws IdentityError ('unsupported_version', 'malformed') for bytes that are not a v1 cert. */
export function decodeLeafCertificate(bytes: Uint8Array): LeafCertificate {
  return decodeVersioned(leafCertificateCodec, bytes, 'leaf certificate');
}
