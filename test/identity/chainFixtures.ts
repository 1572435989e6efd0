// Fixed users, devices and certificates for the identity tests: keys from fixed seeds and fixed
// times, so the signatures (Ed25519 is deterministic) and every encoding are reproducible.
import { cipherSuite } from '../../src-core/crypto/index.js';
import type { CipherSuite, KeyPair } from '../../src-core/crypto/index.js';
import type {
  DeviceCertificate,
  DeviceKeyPair,
  IdentityRecord,
  IdentityRecordSource,
  LeafCertificate,
  ParleyIdentity,
  UserKeyPair,
} from '../../src-core/identity/index.js';
import {
  IDENTITY_FORMAT_VERSION,
  deviceKeyFromPrivate,
  firstIdentityRecord,
  issueDeviceCertificate,
  issueLeafCertificate,
  userKeyFromPrivate,
} from '../../src-core/identity/index.js';

/** 2027-01-15T08:00:00Z */
export const T0 = 1_800_000_000n;
export const DAY = 86_400n;
export const YEAR = 365n * DAY;

export const suite1: CipherSuite = cipherSuite(1);

export function seed(byte: number): Uint8Array {
  return new Uint8Array(32).fill(byte);
}

export interface Device {
  readonly key: DeviceKeyPair;
  readonly cert: DeviceCertificate;
}

export interface User {
  readonly key: UserKeyPair;
  readonly name: string;
  readonly devices: Device[];
}

export function makeUser(
  userSeed: number,
  name: string,
  devices: readonly { seed: number; name: string; createdAt?: bigint; expiresAt?: bigint }[],
): User {
  const key = userKeyFromPrivate(seed(userSeed));
  return {
    key,
    name,
    devices: devices.map((d) => {
      const dk = deviceKeyFromPrivate(seed(d.seed));
      return {
        key: dk,
        cert: issueDeviceCertificate(key, {
          deviceKey: dk.publicKey,
          deviceName: d.name,
          createdAt: d.createdAt ?? T0,
          expiresAt: d.expiresAt ?? T0 + YEAR,
        }),
      };
    }),
  };
}

export function recordOf(user: User, devices: readonly Device[] = user.devices): IdentityRecord {
  return firstIdentityRecord(user.key, {
    displayName: user.name,
    devices: devices.map((d) => d.cert),
    issuedAt: T0,
  });
}

/** A leaf signature key from a fixed seed (suite 1 signs with Ed25519). */
export function leafKey(byte: number): KeyPair {
  const privateKey = seed(byte);
  return { privateKey, publicKey: suite1.signature.publicKeyFromPrivate(privateKey) };
}

export function leafCert(
  device: Device,
  signatureKey: Uint8Array,
  over: Partial<{ groupId: Uint8Array; notBefore: bigint; notAfter: bigint; suite: number }> = {},
): LeafCertificate {
  return issueLeafCertificate(device.key, {
    cipherSuite: over.suite ?? 1,
    signatureKey,
    ...(over.groupId === undefined ? {} : { groupId: over.groupId }),
    notBefore: over.notBefore ?? T0,
    notAfter: over.notAfter ?? T0 + 90n * DAY,
  });
}

export function identityOf(user: User, device: Device, leaf: LeafCertificate): ParleyIdentity {
  return {
    version: IDENTITY_FORMAT_VERSION,
    userKey: user.key.publicKey,
    deviceCertificate: device.cert,
    leafCertificate: leaf,
  };
}

/** An in-memory record source: the newest record per user key. */
export class Records implements IdentityRecordSource {
  private readonly byUser = new Map<string, IdentityRecord>();

  put(record: IdentityRecord): this {
    this.byUser.set(Buffer.from(record.userKey).toString('hex'), record);
    return this;
  }

  newestRecord(userKey: Uint8Array): IdentityRecord | undefined {
    return this.byUser.get(Buffer.from(userKey).toString('hex'));
  }
}
