import { describe, expect, it } from 'vitest';
import {
  firstIdentityRecord,
  generateDeviceKey,
  generateUserKey,
  issueDeviceCertificate,
  nextIdentityRecord,
} from '../../src-core/identity/index.js';
import type { DeviceKeyPair, IdentityRecord } from '../../src-core/identity/index.js';
import {
  IntroductionError,
  checkIntroduction,
  makeIntroduction,
} from '../../src-core/app/introduction.js';

const NOW = 1_800_000_000n;
const PEER = '12D3KooWDh5q6q7tUjzHVZzVn7DCzz8PKdccA5qVLofKbAyiJBes';
const OTHER_PEER = '12D3KooWF4e3gsDF15H8yL2Hg8iNtT4eGmnDFyXzDc1RikV7HEDT';

function user(): {
  record: IdentityRecord;
  device: DeviceKeyPair;
  userKey: ReturnType<typeof generateUserKey>;
} {
  const userKey = generateUserKey();
  const device = generateDeviceKey();
  const cert = issueDeviceCertificate(userKey, {
    deviceKey: device.publicKey,
    deviceName: 'laptop',
    createdAt: NOW - 10n,
    expiresAt: NOW + 1000n,
  });
  const record = firstIdentityRecord(userKey, {
    displayName: 'Ada',
    devices: [cert],
    issuedAt: NOW,
  });
  return { record, device, userKey };
}

function reason(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (err instanceof IntroductionError) return err.reason;
    throw err;
  }
  throw new Error('accepted');
}

describe('app/introduction: a device binds its record to the peer id Noise authenticated', () => {
  it('accepts its own binding and nothing else', () => {
    const a = user();
    const intro = makeIntroduction(a.record, a.device, PEER);
    const ok = checkIntroduction(intro, PEER, NOW);
    expect(ok.record.displayName).toBe('Ada');
    expect(ok.deviceKey).toEqual(a.device.publicKey);

    // Replayed from another peer: the binding names PEER.
    expect(reason(() => checkIntroduction(intro, OTHER_PEER, NOW))).toBe('bad_binding');
    // A device the record does not list (someone else's record with our device's binding).
    const b = user();
    expect(
      reason(() => checkIntroduction(makeIntroduction(b.record, a.device, PEER), PEER, NOW)),
    ).toBe('unknown_device');
    // A revoked device.
    const revoked = nextIdentityRecord(a.userKey, a.record, {
      revokeDevices: [a.device.publicKey],
      issuedAt: NOW,
    });
    expect(
      reason(() => checkIntroduction(makeIntroduction(revoked, a.device, PEER), PEER, NOW)),
    ).toBe('unknown_device');
    // An expired device certificate (past the 300 s skew).
    expect(reason(() => checkIntroduction(intro, PEER, NOW + 1000n + 301n))).toBe('unknown_device');
    // A record whose signature was tampered with.
    const bad = intro.slice();
    bad[40] ^= 1;
    expect(['bad_record', 'malformed']).toContain(reason(() => checkIntroduction(bad, PEER, NOW)));
    // Every truncation and junk is malformed, never a crash.
    for (let n = 0; n < intro.length; n += 7) {
      expect(['malformed', 'bad_record']).toContain(
        reason(() => checkIntroduction(intro.subarray(0, n), PEER, NOW)),
      );
    }
    expect(reason(() => checkIntroduction(new Uint8Array([0, 2, 1, 2, 3]), PEER, NOW))).toBe(
      'malformed',
    );
  });
});
