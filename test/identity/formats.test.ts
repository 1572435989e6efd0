// The identity wire formats: round trips, versions, the rules a record and a chain must satisfy,
// and totality on hostile bytes (a CodecError from the codecs, an IdentityError from the
// decode functions, nothing else).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodecError } from '../../src-core/codec/index.js';
import type { IdentityErrorCode } from '../../src-core/identity/index.js';
import {
  IdentityError,
  decodeDeviceCertificate,
  decodeIdentityRecord,
  decodeLeafCertificate,
  decodeParleyIdentity,
  deviceCertificateCodec,
  encodeDeviceCertificate,
  encodeIdentityRecord,
  encodeLeafCertificate,
  encodeParleyIdentity,
  firstIdentityRecord,
  identityRecordCodec,
  isNewer,
  issueDeviceCertificate,
  leafCertificateCodec,
  nextIdentityRecord,
  parleyIdentityCodec,
  parseParleyCredential,
  requireNewer,
  signIdentityRecord,
  userKeyFromPrivate,
  verifyDeviceCertificate,
  verifyIdentityRecord,
  verifyLeafCertificate,
  verifyParleyChain,
} from '../../src-core/identity/index.js';
import { CredentialType } from '../../src-core/mls/credential.js';
import { fuzzDecoder } from '../support/fuzz.js';
import {
  DAY,
  T0,
  identityOf,
  leafCert,
  leafKey,
  makeUser,
  recordOf,
  seed,
} from './chainFixtures.js';

function codeOf(f: () => unknown): IdentityErrorCode | 'no error' | 'other error' {
  try {
    f();
    return 'no error';
  } catch (e) {
    return e instanceof IdentityError ? e.code : 'other error';
  }
}

const alice = makeUser(0x11, 'Alice', [
  { seed: 0x21, name: 'laptop' },
  { seed: 0x22, name: 'phone' },
]);
const mallory = makeUser(0x41, 'Mallory', [{ seed: 0x51, name: 'laptop' }]);
const laptop = alice.devices[0]!;
const phone = alice.devices[1]!;
const leaf = leafCert(laptop, leafKey(0x31).publicKey);
const identity = identityOf(alice, laptop, leaf);

function withVersion(bytes: Uint8Array, version: number): Uint8Array {
  const b = Uint8Array.from(bytes);
  b[0] = version >> 8;
  b[1] = version & 0xff;
  return b;
}

describe('device certificates', () => {
  it('verify under the user key that issued them, and no other', () => {
    expect(codeOf(() => verifyDeviceCertificate(laptop.cert, alice.key.publicKey))).toBe(
      'no error',
    );
    expect(codeOf(() => verifyDeviceCertificate(laptop.cert, mallory.key.publicKey))).toBe(
      'bad_signature',
    );
  });

  it('any changed field breaks the signature', () => {
    const renamed = { ...laptop.cert, deviceName: 'laptop2' };
    const extended = { ...laptop.cert, expiresAt: laptop.cert.expiresAt + 1n };
    const otherKey = { ...laptop.cert, deviceKey: phone.key.publicKey };
    for (const c of [renamed, extended, otherKey]) {
      expect(codeOf(() => verifyDeviceCertificate(c, alice.key.publicKey))).toBe('bad_signature');
    }
  });

  it('a version other than 1 is unsupported, on decode and on verify', () => {
    const bytes = withVersion(encodeDeviceCertificate(laptop.cert), 2);
    expect(codeOf(() => decodeDeviceCertificate(bytes))).toBe('unsupported_version');
    const v2 = { ...laptop.cert, version: 2 };
    expect(codeOf(() => verifyDeviceCertificate(v2, alice.key.publicKey))).toBe(
      'unsupported_version',
    );
  });

  it('refuses to issue over-long names or lifetimes that end before they start', () => {
    const req = { deviceKey: phone.key.publicKey, createdAt: T0, expiresAt: T0 + DAY };
    expect(
      codeOf(() => issueDeviceCertificate(alice.key, { ...req, deviceName: 'x'.repeat(65) })),
    ).toBe('invalid_argument');
    expect(
      codeOf(() =>
        issueDeviceCertificate(alice.key, { ...req, deviceName: 'x', expiresAt: T0 - 1n }),
      ),
    ).toBe('invalid_lifetime');
    expect(
      codeOf(() =>
        issueDeviceCertificate(alice.key, { ...req, deviceName: 'x', deviceKey: seed(1) }),
      ),
    ).toBe('no error');
    expect(
      codeOf(() =>
        issueDeviceCertificate(alice.key, {
          ...req,
          deviceName: 'x',
          deviceKey: new Uint8Array(31),
        }),
      ),
    ).toBe('invalid_key');
  });
});

describe('leaf certificates and the chain', () => {
  it('round-trip and verify under the device key only', () => {
    expect(decodeLeafCertificate(encodeLeafCertificate(leaf))).toEqual(leaf);
    expect(codeOf(() => verifyLeafCertificate(leaf, laptop.key.publicKey))).toBe('no error');
    expect(codeOf(() => verifyLeafCertificate(leaf, phone.key.publicKey))).toBe('bad_signature');
  });

  it('the chain names the leaf key and the suite', () => {
    expect(codeOf(() => verifyParleyChain(identity, leafKey(0x31).publicKey, 1))).toBe('no error');
    expect(codeOf(() => verifyParleyChain(identity, leafKey(0x32).publicKey, 1))).toBe(
      'leaf_key_not_certified',
    );
    expect(codeOf(() => verifyParleyChain(identity, leafKey(0x31).publicKey, 3))).toBe(
      'cipher_suite_mismatch',
    );
  });

  it('a device certificate from another user key does not verify under the claimed one', () => {
    // Mallory certifies her device and claims Alice's user key for it.
    const forged = identityOf(
      alice,
      mallory.devices[0]!,
      leafCert(mallory.devices[0]!, leafKey(0x33).publicKey),
    );
    expect(codeOf(() => verifyParleyChain(forged, leafKey(0x33).publicKey))).toBe('bad_signature');
  });

  it('the credential must be a BasicCredential with a v1 identity', () => {
    expect(
      codeOf(() =>
        parseParleyCredential({ credentialType: CredentialType.x509, certificates: [] }),
      ),
    ).toBe('credential_type_unsupported');
    expect(
      codeOf(() => parseParleyCredential({ credentialType: 0xf00d, data: new Uint8Array(3) })),
    ).toBe('credential_type_unsupported');
    const bytes = encodeParleyIdentity(identity);
    expect(codeOf(() => decodeParleyIdentity(withVersion(bytes, 0)))).toBe('unsupported_version');
    expect(codeOf(() => decodeParleyIdentity(bytes.subarray(0, bytes.length - 1)))).toBe(
      'malformed',
    );
    expect(
      codeOf(() =>
        parseParleyCredential({
          credentialType: CredentialType.basic,
          identity: new Uint8Array(0),
        }),
      ),
    ).toBe('malformed');
    // A nested certificate of an unknown version parses but cannot be checked.
    const nested = { ...identity, leafCertificate: { ...leaf, version: 7 } };
    const parsed = decodeParleyIdentity(encodeParleyIdentity(nested));
    expect(codeOf(() => verifyParleyChain(parsed, leafKey(0x31).publicKey))).toBe(
      'unsupported_version',
    );
  });
});

describe('identity records', () => {
  const r1 = recordOf(alice);

  it('round-trip and verify', () => {
    const back = decodeIdentityRecord(encodeIdentityRecord(r1));
    expect(back).toEqual(r1);
    expect(codeOf(() => verifyIdentityRecord(back))).toBe('no error');
    expect(r1.sequence).toBe(1n);
  });

  it('a forged record (changed after signing, or signed by another key) is rejected', () => {
    const renamed = { ...r1, displayName: 'Alice (new)' };
    expect(codeOf(() => verifyIdentityRecord(renamed))).toBe('bad_signature');
    const bumped = { ...r1, sequence: 9n };
    expect(codeOf(() => verifyIdentityRecord(bumped))).toBe('bad_signature');
    const claimed = { ...recordOf(mallory), userKey: alice.key.publicKey };
    expect(codeOf(() => verifyIdentityRecord(claimed))).toBe('bad_signature');
  });

  it('a device certificate of another user inside a signed record is rejected', () => {
    // Alice's key signs a record listing a cert Mallory's key made: signing refuses it, and a
    // record assembled by hand does not verify.
    expect(
      codeOf(() =>
        signIdentityRecord(alice.key, {
          userKey: alice.key.publicKey,
          sequence: 2n,
          issuedAt: T0,
          displayName: 'Alice',
          devices: [mallory.devices[0]!.cert],
          revoked: [],
        }),
      ),
    ).toBe('bad_signature');
  });

  it('a record with a lower or equal sequence number is stale', () => {
    const r2 = nextIdentityRecord(alice.key, r1, { displayName: 'Alice B.', issuedAt: T0 + DAY });
    expect(r2.sequence).toBe(2n);
    expect(isNewer(r2, r1)).toBe(true);
    expect(isNewer(r1, r2)).toBe(false);
    expect(codeOf(() => requireNewer(r1, r2))).toBe('stale_record');
    expect(codeOf(() => requireNewer(r2, r2))).toBe('stale_record');
    expect(codeOf(() => requireNewer(r2, r1))).toBe('no error');
    expect(codeOf(() => requireNewer(r1, undefined))).toBe('no error');
    expect(codeOf(() => isNewer(recordOf(mallory), r1))).toBe('wrong_user');
  });

  it('revoking moves a device to the revoked list; it cannot come back', () => {
    const r2 = nextIdentityRecord(alice.key, r1, {
      revokeDevices: [phone.key.publicKey],
      issuedAt: T0 + DAY,
    });
    expect(r2.devices.map((d) => d.deviceName)).toEqual(['laptop']);
    expect(r2.revoked).toEqual([{ deviceKey: phone.key.publicKey, revokedAt: T0 + DAY }]);
    expect(codeOf(() => verifyIdentityRecord(r2))).toBe('no error');
    expect(
      codeOf(() =>
        nextIdentityRecord(alice.key, r2, { addDevices: [phone.cert], issuedAt: T0 + 2n * DAY }),
      ),
    ).toBe('revoked');
  });

  it('rejects duplicate devices and a device both listed and revoked', () => {
    const dup = { ...r1, devices: [laptop.cert, laptop.cert] };
    expect(codeOf(() => verifyIdentityRecord(dup))).toBe('malformed');
    expect(codeOf(() => decodeIdentityRecord(encodeIdentityRecord(dup)))).toBe('malformed');
    const both = { ...r1, revoked: [{ deviceKey: laptop.key.publicKey, revokedAt: T0 }] };
    expect(codeOf(() => verifyIdentityRecord(both))).toBe('malformed');
  });

  it('only the record’s own user key may sign it', () => {
    const other = userKeyFromPrivate(seed(0x99));
    expect(
      codeOf(() =>
        firstIdentityRecord(other, { displayName: 'x', devices: [laptop.cert], issuedAt: T0 }),
      ),
    ).toBe('bad_signature');
    expect(codeOf(() => signIdentityRecord(other, { ...r1 }))).toBe('wrong_user');
  });

  it('a version other than 1 is unsupported', () => {
    const bytes = withVersion(encodeIdentityRecord(r1), 0x0100);
    expect(codeOf(() => decodeIdentityRecord(bytes))).toBe('unsupported_version');
  });
});

describe('hostile bytes', () => {
  const seeds = {
    device: [encodeDeviceCertificate(laptop.cert), encodeDeviceCertificate(phone.cert)],
    leaf: [encodeLeafCertificate(leaf)],
    record: [encodeIdentityRecord(recordOf(alice)), encodeIdentityRecord(recordOf(mallory))],
    identity: [encodeParleyIdentity(identity)],
  };

  it('the codecs decode or throw CodecError, and what decodes re-encodes exactly', () => {
    const inputs = 2_500;
    fuzzDecoder({ codec: deviceCertificateCodec, seeds: seeds.device, inputs });
    fuzzDecoder({ codec: leafCertificateCodec, seeds: seeds.leaf, inputs });
    fuzzDecoder({ codec: identityRecordCodec, seeds: seeds.record, inputs });
    fuzzDecoder({ codec: parleyIdentityCodec, seeds: seeds.identity, inputs });
  });

  it('the decode functions throw IdentityError only', () => {
    const decoders = [
      decodeDeviceCertificate,
      decodeLeafCertificate,
      decodeIdentityRecord,
      decodeParleyIdentity,
    ];
    const all = [...seeds.device, ...seeds.leaf, ...seeds.record, ...seeds.identity];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 400 }),
          fc
            .tuple(fc.constantFrom(...all), fc.nat(), fc.integer({ min: 1, max: 255 }))
            .map(([s, at, x]) => {
              const b = Uint8Array.from(s);
              b[at % b.length]! ^= x;
              return b;
            }),
        ),
        (bytes) => {
          for (const d of decoders) {
            try {
              d(bytes);
            } catch (e) {
              if (!(e instanceof IdentityError)) throw e;
              expect(e.cause === undefined || e.cause instanceof CodecError).toBe(true);
            }
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
