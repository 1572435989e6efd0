/**
 * A user's identity record: display name, certified devices, revoked devices and a sequence
 * number, signed by the user key. Peers keep the newest record per user key; a record with a
 * higher sequence number replaces a lower one, and two different records with one sequence
 * number are an equivocation (the record book's business).
 */
import { encode, opaque, struct, uint16, uint64, vector } from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import type { DeviceCertificate } from './deviceCertificate.js';
import { deviceCertificateCodec, verifyDeviceCertificate } from './deviceCertificate.js';
import { IdentityError } from './errors.js';
import {
  IDENTITY_FORMAT_VERSION,
  boundedString,
  decodeVersioned,
  ed25519PublicKey,
  equalBytes,
  hexKey,
  requireVersion,
  utf8Length,
} from './format.js';
import type { UserKeyPair } from './keys.js';
import { SignLabel, signWithParleyLabel, verifyWithParleyLabel } from './keys.js';

export const MAX_DISPLAY_NAME_BYTES = 128;
/** Bounds the work a hostile record can cause (one signature check per device). */
export const MAX_DEVICES = 64;
export const MAX_REVOKED_DEVICES = 1024;

/**
 * ```
 * struct {
 *     opaque device_key[32];
 *     uint64 revoked_at;          // seconds since the Unix epoch
 * } RevokedDevice;
 * ```
 */
export interface RevokedDevice {
  readonly deviceKey: Uint8Array;
  readonly revokedAt: bigint;
}

export const revokedDeviceCodec: Codec<RevokedDevice> = struct<RevokedDevice>({
  deviceKey: ed25519PublicKey,
  revokedAt: uint64,
});

/**
 * ```
 * struct {
 *     uint16 version = 1;
 *     opaque user_key[32];            // Ed25519
 *     uint64 sequence;                // strictly increasing per user key
 *     uint64 issued_at;               // seconds since the Unix epoch
 *     opaque display_name<V>;         // UTF-8, at most 128 bytes
 *     DeviceCertificate devices<V>;   // at most 64, each signed by user_key
 *     RevokedDevice revoked<V>;       // at most 1024
 *     opaque signature<V>;            // SignWithParleyLabel(user_key, "IdentityRecord", TBS)
 * } IdentityRecord;
 * ```
 * `IdentityRecordTBS` is the same struct without `signature`.
 */
export interface IdentityRecord {
  readonly version: number;
  readonly userKey: Uint8Array;
  readonly sequence: bigint;
  readonly issuedAt: bigint;
  readonly displayName: string;
  readonly devices: readonly DeviceCertificate[];
  readonly revoked: readonly RevokedDevice[];
  readonly signature: Uint8Array;
}

export type UnsignedIdentityRecord = Omit<IdentityRecord, 'signature' | 'version'>;

const tbsFields = {
  version: uint16,
  userKey: ed25519PublicKey,
  sequence: uint64,
  issuedAt: uint64,
  displayName: boundedString(MAX_DISPLAY_NAME_BYTES, 'display name'),
  devices: vector(deviceCertificateCodec) as Codec<readonly DeviceCertificate[]>,
  revoked: vector(revokedDeviceCodec) as Codec<readonly RevokedDevice[]>,
};

const tbsCodec: Codec<Omit<IdentityRecord, 'signature'>> =
  struct<Omit<IdentityRecord, 'signature'>>(tbsFields);

export const identityRecordCodec: Codec<IdentityRecord> = struct<IdentityRecord>({
  ...tbsFields,
  signature: opaque,
});

function checkShape(record: Omit<IdentityRecord, 'signature'>): void {
  if (utf8Length(record.displayName) > MAX_DISPLAY_NAME_BYTES) {
    throw new IdentityError('malformed', `display name over ${MAX_DISPLAY_NAME_BYTES} bytes`);
  }
  if (record.devices.length > MAX_DEVICES) {
    throw new IdentityError(
      'malformed',
      `${record.devices.length} devices, at most ${MAX_DEVICES}`,
    );
  }
  if (record.revoked.length > MAX_REVOKED_DEVICES) {
    throw new IdentityError('malformed', `${record.revoked.length} revoked devices`);
  }
  const seen = new Set<string>();
  for (const d of record.devices) {
    const k = hexKey(d.deviceKey);
    if (seen.has(k)) throw new IdentityError('malformed', 'a device is listed twice');
    seen.add(k);
  }
  const revoked = new Set<string>();
  for (const r of record.revoked) {
    const k = hexKey(r.deviceKey);
    if (revoked.has(k)) throw new IdentityError('malformed', 'a device is revoked twice');
    if (seen.has(k)) throw new IdentityError('malformed', 'a device is both listed and revoked');
    revoked.add(k);
  }
}

/** Signs a record with the user key; the record's user key must be that key's public half. */
export function signIdentityRecord(
  userKey: UserKeyPair,
  unsigned: UnsignedIdentityRecord,
): IdentityRecord {
  if (!equalBytes(userKey.publicKey, unsigned.userKey)) {
    throw new IdentityError('wrong_user', 'the record names another user key');
  }
  const body = { version: IDENTITY_FORMAT_VERSION, ...unsigned };
  checkShape(body);
  for (const d of body.devices) verifyDeviceCertificate(d, body.userKey);
  const signature = signWithParleyLabel(
    userKey.privateKey,
    SignLabel.identityRecord,
    encode(tbsCodec, body),
  );
  return { ...body, signature };
}

/**
 * Throws IdentityError unless the record is well formed and signed by its user key, and every
 * device certificate in it is signed by that key: 'unsupported_version', 'malformed',
 * 'bad_signature'. Device certificates' validity periods are not checked here: an expired device
 * may stay listed, and the credential validator decides at use.
 */
export function verifyIdentityRecord(record: IdentityRecord): void {
  requireVersion(record.version, 'identity record');
  checkShape(record);
  let tbs: Uint8Array;
  try {
    tbs = encode(tbsCodec, record);
  } catch (e) {
    throw new IdentityError('malformed', 'identity record does not encode', { cause: e });
  }
  if (!verifyWithParleyLabel(record.userKey, SignLabel.identityRecord, tbs, record.signature)) {
    throw new IdentityError('bad_signature', 'identity record signature does not verify');
  }
  for (const d of record.devices) verifyDeviceCertificate(d, record.userKey);
}

/**
 * True when `candidate` replaces `current`: same user key, higher sequence number. Throws
 * 'wrong_user' for records of two different users (comparing them is a caller's bug or an attack).
 */
export function isNewer(candidate: IdentityRecord, current: IdentityRecord): boolean {
  if (!equalBytes(candidate.userKey, current.userKey)) {
    throw new IdentityError('wrong_user', 'records of two different user keys');
  }
  return candidate.sequence > current.sequence;
}

/**
 * Throws 'stale_record' unless `candidate` is newer than `current` (when there is one). The
 * record book uses this before replacing what it holds.
 */
export function requireNewer(candidate: IdentityRecord, current: IdentityRecord | undefined): void {
  if (current !== undefined && !isNewer(candidate, current)) {
    throw new IdentityError(
      'stale_record',
      `record sequence ${candidate.sequence} is not above ${current.sequence}`,
    );
  }
}

/** The device certificate for `deviceKey` in the record, if it is listed. */
export function findDevice(
  record: IdentityRecord,
  deviceKey: Uint8Array,
): DeviceCertificate | undefined {
  return record.devices.find((d) => equalBytes(d.deviceKey, deviceKey));
}

export function isRevoked(record: IdentityRecord, deviceKey: Uint8Array): boolean {
  return record.revoked.some((r) => equalBytes(r.deviceKey, deviceKey));
}

const MAX_SEQUENCE = (1n << 64n) - 1n;

/** A user's first record (sequence 1). */
export function firstIdentityRecord(
  userKey: UserKeyPair,
  first: { displayName: string; devices: readonly DeviceCertificate[]; issuedAt: bigint },
): IdentityRecord {
  return signIdentityRecord(userKey, {
    userKey: userKey.publicKey,
    sequence: 1n,
    revoked: [],
    ...first,
  });
}

export interface RecordChange {
  readonly displayName?: string;
  readonly addDevices?: readonly DeviceCertificate[];
  /** Devices to drop from the list and mark revoked. */
  readonly revokeDevices?: readonly Uint8Array[];
  readonly issuedAt: bigint;
}

/** The next record (sequence + 1) after `current`, with the change applied, signed. */
export function nextIdentityRecord(
  userKey: UserKeyPair,
  current: IdentityRecord,
  change: RecordChange,
): IdentityRecord {
  if (current.sequence >= MAX_SEQUENCE) {
    throw new IdentityError('invalid_argument', 'the record sequence number is exhausted');
  }
  const revokeNow = change.revokeDevices ?? [];
  for (const d of change.addDevices ?? []) {
    if (isRevoked(current, d.deviceKey)) {
      throw new IdentityError('revoked', 'a revoked device key cannot be added again');
    }
  }
  const devices = [...current.devices, ...(change.addDevices ?? [])].filter(
    (d) => !revokeNow.some((k) => equalBytes(k, d.deviceKey)),
  );
  const revoked = [
    ...current.revoked,
    ...revokeNow
      .filter((k) => !isRevoked(current, k))
      .map((k) => ({ deviceKey: Uint8Array.from(k), revokedAt: change.issuedAt })),
  ];
  return signIdentityRecord(userKey, {
    userKey: current.userKey,
    sequence: current.sequence + 1n,
    issuedAt: change.issuedAt,
    displayName: change.displayName ?? current.displayName,
    devices,
    revoked,
  });
}

export function encodeIdentityRecord(record: IdentityRecord): Uint8Array {
  return encode(identityRecordCodec, record);
}

/**
 * Parses a record from untrusted bytes (IdentityError 'unsupported_version' or 'malformed');
 * call verifyIdentityRecord before trusting it.
 */
export function decodeIdentityRecord(bytes: Uint8Array): IdentityRecord {
  const record = decodeVersioned(identityRecordCodec, bytes, 'identity record');
  checkShape(record);
  return record;
}
