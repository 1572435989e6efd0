import { describe, expect, it } from 'vitest';
import { issueDeviceCertificate } from '../../src-core/identity/deviceCertificate.js';
import type { DeviceCertificate } from '../../src-core/identity/deviceCertificate.js';
import { IdentityError } from '../../src-core/identity/errors.js';
import {
  encodeIdentityRecord,
  firstIdentityRecord,
  nextIdentityRecord,
} from '../../src-core/identity/identityRecord.js';
import type { IdentityRecord } from '../../src-core/identity/identityRecord.js';
import { generateDeviceKey, generateUserKey } from '../../src-core/identity/keys.js';
import type { UserKeyPair } from '../../src-core/identity/keys.js';
import {
  MAX_EVIDENCE_PER_USER,
  RecordBook,
  decodeRecordDigests,
  encodeEquivocationEvidence,
  encodeRecordDigests,
  recordHash,
  verifyEquivocationEvidence,
} from '../../src-core/identity/recordBook.js';
import { TrustStore } from '../../src-core/identity/trustStore.js';
import { toHex } from '../support/shared.js';

const T0 = 1_790_000_000n;
const YEAR = 365n * 86400n;

function device(user: UserKeyPair, name: string): DeviceCertificate {
  return issueDeviceCertificate(user, {
    deviceKey: generateDeviceKey().publicKey,
    deviceName: name,
    createdAt: T0,
    expiresAt: T0 + YEAR,
  });
}

function expectCode(f: () => unknown, code: string): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(IdentityError);
  expect((caught as IdentityError).code).toBe(code);
}

const enc = (r: IdentityRecord): Uint8Array => encodeIdentityRecord(r);

describe('record book: the newest record per user key', () => {
  const user = generateUserKey();
  const laptop = device(user, 'laptop');
  const phone = device(user, 'phone');
  const r1 = firstIdentityRecord(user, { displayName: 'Alice', devices: [laptop], issuedAt: T0 });
  const r2 = nextIdentityRecord(user, r1, { addDevices: [phone], issuedAt: T0 + 10n });
  const r3 = nextIdentityRecord(user, r2, {
    revokeDevices: [laptop.deviceKey],
    issuedAt: T0 + 20n,
  });

  it('first record, newer replaces older, lower sequence is stale, same bytes duplicate', () => {
    const book = new RecordBook();
    const first = book.add(enc(r1));
    expect(first).toMatchObject({ kind: 'new', revokedDevices: [] });
    expect(book.add(enc(r2))).toMatchObject({ kind: 'replaced', previousSequence: 1n });
    expect(book.newestRecord(user.publicKey)?.sequence).toBe(2n);
    expect(book.add(enc(r1))).toEqual({ kind: 'stale', sequence: 1n, heldSequence: 2n });
    expect(book.newestRecord(user.publicKey)?.sequence).toBe(2n);
    expect(book.add(enc(r2))).toEqual({ kind: 'duplicate', sequence: 2n });
    expect(book.size).toBe(1);
  });

  it('a revoked device is reported for removal and its status is revoked', () => {
    const book = new RecordBook();
    book.add(enc(r2));
    expect(book.deviceStatus(user.publicKey, laptop.deviceKey)).toBe('listed');
    const out = book.add(enc(r3));
    expect(out.kind).toBe('replaced');
    if (out.kind !== 'replaced') return;
    expect(out.revokedDevices).toEqual([laptop.deviceKey]);
    expect(book.deviceStatus(user.publicKey, laptop.deviceKey)).toBe('revoked');
    expect(book.deviceStatus(user.publicKey, phone.deviceKey)).toBe('listed');
    expect(book.deviceStatus(user.publicKey, generateDeviceKey().publicKey)).toBe('absent');
    expect(book.deviceStatus(generateUserKey().publicKey, phone.deviceKey)).toBe('unknown_user');
    // A record that skips ahead and just drops a device (not listed, not revoked) also reports it.
    const fresh = new RecordBook();
    fresh.add(enc(r2));
    const silent = firstIdentityRecord(user, {
      displayName: 'Alice',
      devices: [phone],
      issuedAt: T0 + 50n,
    });
    // The phone only (the laptop neither listed nor revoked), signed at sequence 10.
    const skip = nextIdentityRecord(user, { ...silent, sequence: 9n }, { issuedAt: T0 + 60n });
    expect(skip.sequence).toBe(10n);
    const res = fresh.add(enc(skip));
    expect(res).toMatchObject({ kind: 'replaced', previousSequence: 2n });
    if (res.kind === 'replaced') expect(res.revokedDevices).toEqual([laptop.deviceKey]);
    expect(fresh.deviceStatus(user.publicKey, laptop.deviceKey)).toBe('absent');
    // The first record we see of a user: its revoked list is reported.
    const late = new RecordBook();
    expect(late.add(enc(r3))).toMatchObject({ kind: 'new', revokedDevices: [laptop.deviceKey] });
  });

  it('equivocating records (two records, same sequence): evidence kept, contact flagged', () => {
    const trust = new TrustStore();
    trust.observe('alice', user.publicKey, 'Alice', T0);
    const book = new RecordBook({ trustStore: trust });
    book.add(enc(r1));
    const forkA = nextIdentityRecord(user, r1, { displayName: 'Alice A', issuedAt: T0 + 5n });
    const forkB = nextIdentityRecord(user, r1, { displayName: 'Alice B', issuedAt: T0 + 5n });
    expect(book.add(enc(forkA)).kind).toBe('replaced');
    const out = book.add(enc(forkB));
    expect(out.kind).toBe('equivocation');
    if (out.kind !== 'equivocation') return;
    expect(out.flaggedContact).toBe('alice');
    expect(trust.contact('alice')?.equivocation).toBe(true);
    expect(out.evidence.sequence).toBe(2n);
    expect(out.evidence.first).toEqual(enc(forkA));
    expect(out.evidence.second).toEqual(enc(forkB));
    // The record held first stays current.
    expect(book.newestRecord(user.publicKey)?.displayName).toBe('Alice A');
    // Seeing the fork again, or a third fork of the same sequence, adds no evidence.
    expect(book.add(enc(forkB)).kind).toBe('equivocation');
    const forkC = nextIdentityRecord(user, r1, { displayName: 'Alice C', issuedAt: T0 + 5n });
    const third = book.add(enc(forkC));
    expect(third.kind === 'equivocation' && third.evidence).toEqual(out.evidence);
    expect(book.equivocations()).toHaveLength(1);
    // Forks of later sequence numbers: evidence kept up to MAX_EVIDENCE_PER_USER per user.
    let head = forkA;
    for (let k = 0; k < MAX_EVIDENCE_PER_USER + 1; k++) {
      const next = nextIdentityRecord(user, head, { displayName: `n${k}`, issuedAt: T0 + 9n });
      const fork = nextIdentityRecord(user, head, { displayName: `f${k}`, issuedAt: T0 + 9n });
      expect(book.add(enc(next)).kind).toBe('replaced');
      expect(book.add(enc(fork)).kind).toBe('equivocation');
      head = next;
    }
    expect(book.equivocations()).toHaveLength(MAX_EVIDENCE_PER_USER);
    expect(RecordBook.import(book.export()).equivocations()).toEqual(book.equivocations());

    // Evidence travels and anyone can check it.
    const bytes = encodeEquivocationEvidence(out.evidence);
    expect(verifyEquivocationEvidence(bytes)).toEqual(out.evidence);
    // Two copies of one record, or records of two sequences, are not evidence.
    const same = encodeEquivocationEvidence({ ...out.evidence, second: enc(forkA) });
    expectCode(() => verifyEquivocationEvidence(same), 'conflicting_record');
    const apart = encodeEquivocationEvidence({ ...out.evidence, second: enc(r1) });
    expectCode(() => verifyEquivocationEvidence(apart), 'conflicting_record');
  });

  it('forged or malformed records give a typed error and change nothing', () => {
    const book = new RecordBook();
    book.add(enc(r1));
    const forged = enc(r2).slice();
    forged[forged.length - 1] ^= 1; // last signature byte
    expectCode(() => book.add(forged), 'bad_signature');
    expectCode(() => book.add(enc(r2).subarray(0, 40)), 'malformed');
    const v2 = enc(r2).slice();
    v2[1] = 2;
    expectCode(() => book.add(v2), 'unsupported_version');
    // Another user key signing a record that names Alice's key.
    const mallory = generateUserKey();
    const fake = {
      ...r2,
      signature: firstIdentityRecord(mallory, {
        displayName: 'x',
        devices: [],
        issuedAt: T0,
      }).signature,
    };
    expectCode(() => book.add(enc(fake)), 'bad_signature');
    expect(book.newestRecord(user.publicKey)?.sequence).toBe(1n);
  });
});

describe('record book: transparency digests', () => {
  const alice = generateUserKey();
  const bob = generateUserKey();
  const carol = generateUserKey();
  const a1 = firstIdentityRecord(alice, { displayName: 'A', devices: [], issuedAt: T0 });
  const a2 = nextIdentityRecord(alice, a1, { issuedAt: T0 + 1n });
  const b1 = firstIdentityRecord(bob, { displayName: 'B', devices: [], issuedAt: T0 });
  const b2 = nextIdentityRecord(bob, b1, { issuedAt: T0 + 1n });
  const c1 = firstIdentityRecord(carol, { displayName: 'C', devices: [], issuedAt: T0 });
  const c1fork = firstIdentityRecord(carol, { displayName: 'C!', devices: [], issuedAt: T0 });

  it('tells what to request, what to send, and finds a peer shown another record', () => {
    const ours = new RecordBook();
    ours.add(enc(a2));
    ours.add(enc(b1));
    ours.add(enc(c1));
    const theirs = new RecordBook();
    theirs.add(enc(a1));
    theirs.add(enc(b2));
    theirs.add(enc(c1fork));
    theirs.add(
      enc(firstIdentityRecord(generateUserKey(), { displayName: 'D', devices: [], issuedAt: T0 })),
    );

    const wire = encodeRecordDigests(theirs.digest());
    const cmp = ours.compareDigests(decodeRecordDigests(wire));
    expect(cmp.request).toEqual([bob.publicKey]);
    expect(cmp.send).toEqual([alice.publicKey]);
    expect(cmp.conflicts.map((c) => c.userKey)).toEqual([carol.publicKey]);
    expect(cmp.unknown).toHaveLength(1);

    // Fetching the conflicting record yields the equivocation outcome.
    const fetched = theirs.encodedRecord(carol.publicKey)!;
    expect(ours.add(fetched).kind).toBe('equivocation');
    // The digest of identical books compares empty.
    const same = ours.compareDigests(ours.digest());
    expect([same.request, same.send, same.conflicts, same.unknown]).toEqual([[], [], [], []]);
  });

  it('known answers: record hash and the digest list encoding', () => {
    // SHA-256 over RecordHashInput { "Parley 1.0 IdentityRecordHash", 0x010203 }, computed with
    // Python's hashlib.
    expect(toHex(recordHash(new Uint8Array([1, 2, 3])))).toBe(
      '7181d4adaf58874b52e4898629bc6df73baad0c1a1fb1845622f7bc68b642eb1',
    );
    const bytes = encodeRecordDigests([
      {
        userKey: new Uint8Array(32).fill(1),
        sequence: 258n,
        recordHash: new Uint8Array(32).fill(2),
      },
    ]);
    expect(toHex(bytes)).toBe(
      '0001' + '4048' + '01'.repeat(32) + '0000000000000102' + '02'.repeat(32),
    );
    expect(decodeRecordDigests(bytes)).toEqual([
      {
        userKey: new Uint8Array(32).fill(1),
        sequence: 258n,
        recordHash: new Uint8Array(32).fill(2),
      },
    ]);
    expectCode(() => decodeRecordDigests(bytes.subarray(0, 10)), 'malformed');
    const v9 = bytes.slice();
    v9[1] = 9;
    expectCode(() => decodeRecordDigests(v9), 'unsupported_version');
  });
});

describe('record book: persistence', () => {
  it('round trip with evidence; bad bytes fail typed and flag nothing', () => {
    const user = generateUserKey();
    const r1 = firstIdentityRecord(user, { displayName: 'U', devices: [], issuedAt: T0 });
    const f1 = nextIdentityRecord(user, r1, { displayName: 'U1', issuedAt: T0 });
    const f2 = nextIdentityRecord(user, r1, { displayName: 'U2', issuedAt: T0 });
    const book = new RecordBook();
    book.add(enc(f1));
    book.add(enc(f2));
    const other = generateUserKey();
    book.add(enc(firstIdentityRecord(other, { displayName: 'O', devices: [], issuedAt: T0 })));
    const bytes = book.export();
    const back = RecordBook.import(bytes);
    expect(back.digest()).toEqual(book.digest());
    expect(back.equivocations()).toEqual(book.equivocations());
    expect(back.export()).toEqual(bytes);

    for (let n = 0; n < bytes.length; n += 7) {
      let caught: unknown;
      try {
        RecordBook.import(bytes.subarray(0, n));
      } catch (e) {
        caught = e;
      }
      expect(caught, `prefix of ${n} bytes`).toBeInstanceOf(IdentityError);
    }
    // The same user twice (an equivocating pair stored as two records): rejected, and the trust
    // store given to the import is left alone.
    const trust = new TrustStore();
    trust.observe('u', user.publicKey, 'U', T0);
    const twice = new RecordBook();
    twice.add(enc(f1));
    const one = twice.export();
    const rec = enc(f2);
    const forged = new Uint8Array([...one.subarray(0, 2), ...reencodeRecords([enc(f1), rec])]);
    expectCode(() => RecordBook.import(forged, { trustStore: trust }), 'malformed');
    expect(trust.contact('u')?.equivocation).toBe(false);
  });
});

/** `opaque records<V><V>` followed by an empty evidence list. */
function reencodeRecords(records: Uint8Array[]): Uint8Array {
  const items = records.flatMap((r) => [...varint(r.length), ...r]);
  return new Uint8Array([...varint(items.length), ...items, 0]);
}

function varint(n: number): number[] {
  if (n < 0x40) return [n];
  if (n < 0x4000) return [0x40 | (n >> 8), n & 0xff];
  return [0x80 | (n >>> 24), (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}
