/**
 * A device certificate: the user key's statement that a device key belongs to the user, with the
 * device's name and a validity period. It is carried in the user's identity record and in every
 * MLS credential the device presents.
 */
import { encode, opaque, struct, uint16, uint64 } from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import { IdentityError } from './errors.js';
import {
  IDENTITY_FORMAT_VERSION,
  boundedString,
  checkValidity,
  decodeVersioned,
  ed25519PublicKey,
  requireVersion,
  utf8Length,
} from './format.js';
import type { UserKeyPair } from './keys.js';
import { SignLabel, checkPublicKey, signWithParleyLabel, verifyWithParleyLabel } from './keys.js';

/** The longest device name, in UTF-8 bytes. */
export const MAX_DEVICE_NAME_BYTES = 64;

/**
 * ```
 * struct {
 *     uint16 version = 1;
 *     opaque device_key[32];      // Ed25519
 *     opaque device_name<V>;      // UTF-8, at most 64 bytes
 *     uint64 created_at;          // seconds since the Unix epoch
 *     uint64 expires_at;
 *     opaque signature<V>;        // SignWithParleyLabel(user_key, "DeviceCertificate", TBS)
 * } DeviceCertificate;
 * ```
 * The user key is not repeated here: the identity record and the credential carry it, and the
 * signed content names it (DeviceCertificateTBS), so a certificate verifies under one user only.
 */
export interface DeviceCertificate {
  readonly version: number;
  readonly deviceKey: Uint8Array;
  readonly deviceName: string;
  readonly createdAt: bigint;
  readonly expiresAt: bigint;
  readonly signature: Uint8Array;
}

/**
 * ```
 * struct {
 *     opaque user_key[32];
 *     uint16 version;
 *     opaque device_key[32];
 *     opaque device_name<V>;
 *     uint64 created_at;
 *     uint64 expires_at;
 * } DeviceCertificateTBS;
 * ```
 */
interface DeviceCertificateTbs {
  readonly userKey: Uint8Array;
  readonly version: number;
  readonly deviceKey: Uint8Array;
  readonly deviceName: string;
  readonly createdAt: bigint;
  readonly expiresAt: bigint;
}

const deviceName = boundedString(MAX_DEVICE_NAME_BYTES, 'device name');

const tbsCodec: Codec<DeviceCertificateTbs> = struct<DeviceCertificateTbs>({
  userKey: ed25519PublicKey,
  version: uint16,
  deviceKey: ed25519PublicKey,
  deviceName,
  createdAt: uint64,
  expiresAt: uint64,
});

export const deviceCertificateCodec: Codec<DeviceCertificate> = struct<DeviceCertificate>({
  version: uint16,
  deviceKey: ed25519PublicKey,
  deviceName,
  createdAt: uint64,
  expiresAt: uint64,
  signature: opaque,
});

export interface DeviceCertificateRequest {
  readonly deviceKey: Uint8Array;
  readonly deviceName: string;
  readonly createdAt: bigint;
  readonly expiresAt: bigint;
}

/** The user key certifies a device key. */
export function issueDeviceCertificate(
  userKey: UserKeyPair,
  request: DeviceCertificateRequest,
): DeviceCertificate {
  checkPublicKey('device key', request.deviceKey);
  if (utf8Length(request.deviceName) > MAX_DEVICE_NAME_BYTES) {
    throw new IdentityError('invalid_argument', `device name over ${MAX_DEVICE_NAME_BYTES} bytes`);
  }
  if (request.expiresAt < request.createdAt) {
    throw new IdentityError('invalid_lifetime', 'device certificate expires before creation');
  }
  const unsigned = { version: IDENTITY_FORMAT_VERSION, ...request };
  const tbs = encode(tbsCodec, { userKey: userKey.publicKey, ...unsigned });
  return {
    ...unsigned,
    deviceKey: Uint8Array.from(request.deviceKey),
    signature: signWithParleyLabel(userKey.privateKey, SignLabel.deviceCertificate, tbs),
  };
}

/**
 * Throws IdentityError unless `userKey` signed the certificate: 'unsupported_version',
 * 'bad_signature'. Time is checked separately (`checkDeviceCertificateTime`).
 */
export function verifyDeviceCertificate(cert: DeviceCertificate, userKey: Uint8Array): void {
  requireVersion(cert.version, 'device certificate');
  checkPublicKey('user key', userKey);
  let tbs: Uint8Array;
  try {
    tbs = encode(tbsCodec, { userKey, ...cert });
  } catch (e) {
    throw new IdentityError('malformed', 'device certificate does not encode', { cause: e });
  }
  if (!verifyWithParleyLabel(userKey, SignLabel.deviceCertificate, tbs, cert.signature)) {
    throw new IdentityError('bad_signature', 'device certificate signature does not verify');
  }
}

/** Throws 'expired', 'not_yet_valid' or 'invalid_lifetime' for a certificate not valid at `now`. */
export function checkDeviceCertificateTime(
  cert: DeviceCertificate,
  now: bigint,
  skew: bigint,
): void {
  checkValidity(cert.createdAt, cert.expiresAt, now, skew, 'device certificate');
}

export function encodeDeviceCertificate(cert: DeviceCertificate): Uint8Array {
  return encode(deviceCertificateCodec, cert);
}

/** Throws IdentityError ('unsupported_version', 'malformed') for bytes that are not a v1 cert. */
export function decodeDeviceCertificate(bytes: Uint8Array): DeviceCertificate {
  return decodeVersioned(deviceCertificateCodec, bytes, 'device certificate');
}
