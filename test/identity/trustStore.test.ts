import { describe, expect, it } from 'vitest';
import { IdentityError } from '../../src-core/identity/errors.js';
import {
  compareSafetyQr,
  safetyNumber,
  safetyQrPayload,
} from '../../src-core/identity/safetyNumber.js';
import { TrustStore, normalizeDisplayName } from '../../src-core/identity/trustStore.js';
import type { Contact } from '../../src-core/identity/trustStore.js';
import { cipherSuite } from '../../src-core/crypto/index.js';
import { issueDeviceCertificate } from '../../src-core/identity/deviceCertificate.js';
import {
  encodeIdentityRecord,
  firstIdentityRecord,
} from '../../src-core/identity/identityRecord.js';
import { generateDeviceKey, generateUserKey } from '../../src-core/identity/keys.js';
import {
  newLeafCredential,
  parseParleyCredential,
} from '../../src-core/identity/parleyCredential.js';
import { RecordBook } from '../../src-core/identity/recordBook.js';
import { toHex } from '../support/shared.js';

const key = (): Uint8Array => generateUserKey().publicKey;
const item = (s: string): Uint8Array => new TextEncoder().encode(s);
const T0 = 1_790_000_000n;

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

function stateOf(store: TrustStore, id: string): Contact['state'] | undefined {
  return store.contact(id)?.state;
}

describe('trust store: TOFU', () => {
  it('pins the first key, then knows it', () => {
    const store = new TrustStore();
    const alice = key();
    const first = store.observe('alice', alice, 'Alice', T0);
    expect(first.kind).toBe('pinned');
    expect(stateOf(store, 'alice')).toBe('unverified');
    expect(store.observe('alice', alice, 'Alice', T0 + 5n).kind).toBe('known');
    expect(store.contactByKey(alice)?.id).toBe('alice');
    expect(store.contact('alice')?.pinnedAt).toBe(T0);
  });

  it('key change of a pinned contact: reported, held, never accepted silently', () => {
    const store = new TrustStore({ maxHeldItems: 2 });
    const alice = key();
    const other = key();
    store.observe('alice', alice, 'Alice', T0);
    const changed = store.observe('alice', other, 'Alice', T0 + 10n);
    expect(changed.kind).toBe('key_changed');
    if (changed.kind !== 'key_changed') return;
    expect(changed.claimedKey).toEqual(other);
    expect(changed.contact.userKey).toEqual(alice); // the pinned key stays
    expect(stateOf(store, 'alice')).toBe('changed');
    expect(store.contactByKey(other)).toBeUndefined(); // claimed, not pinned

    expect(store.hold('alice', item('m1'))).toEqual({ kind: 'held', count: 1 });
    expect(store.hold('alice', item('m2'))).toEqual({ kind: 'held', count: 2 });
    expect(store.hold('alice', item('m3'))).toEqual({ kind: 'queue_full', count: 2 });
    // Seeing the claimed key again changes nothing; the pinned key is still "known".
    expect(store.observe('alice', other, 'Alice', T0 + 11n).kind).toBe('key_changed');
    expect(store.observe('alice', alice, 'Alice', T0 + 12n).kind).toBe('known');
    expect(stateOf(store, 'alice')).toBe('changed');

    const accepted = store.acceptNewKey('alice');
    expect(accepted.released.map((b) => new TextDecoder().decode(b))).toEqual(['m1', 'm2']);
    expect(accepted.contact.state).toBe('unverified');
    expect(accepted.contact.userKey).toEqual(other);
    expect(store.contactByKey(alice)).toBeUndefined();
    expect(store.contactByKey(other)?.id).toBe('alice');
    expect(store.hold('alice', item('x'))).toEqual({ kind: 'not_changed', state: 'unverified' });
  });

  it('a verified contact stays verified when the user rejects a key change', () => {
    const store = new TrustStore();
    const me = key();
    const alice = key();
    const mallory = key();
    store.observe('alice', alice, 'Alice', T0);
    const qr = safetyQrPayload(safetyNumber(alice, me)); // shown by Alice
    expect(compareSafetyQr(qr, safetyNumber(me, alice)).kind).toBe('match');
    expect(store.markVerified('alice', alice, 'qr', T0 + 1n).kind).toBe('verified');

    expect(store.observe('alice', mallory, 'Alice', T0 + 2n).kind).toBe('key_changed');
    store.hold('alice', item('from mallory'));
    const rejected = store.rejectNewKey('alice');
    expect(rejected.dropped).toBe(1);
    expect(rejected.contact.state).toBe('verified');
    expect(rejected.contact.verifiedBy).toBe('qr');
    expect(rejected.contact.userKey).toEqual(alice);
    expect(store.contactByKey(mallory)).toBeUndefined();
    expectCode(() => store.rejectNewKey('alice'), 'invalid_argument');
    expectCode(() => store.acceptNewKey('alice'), 'invalid_argument');
  });

  it('accepting a new key drops verification unless the new key itself is checked', () => {
    const store = new TrustStore();
    const alice = key();
    const newAlice = key();
    store.observe('alice', alice, 'Alice', T0);
    store.markVerified('alice', alice, 'safety_number', T0 + 1n);
    store.observe('alice', newAlice, 'Alice', T0 + 2n);
    // A check of the old key while the new one is undecided proves nothing about the new one.
    expect(store.markVerified('alice', alice, 'safety_number', T0 + 3n).kind).toBe('key_mismatch');
    expect(stateOf(store, 'alice')).toBe('changed');
    store.hold('alice', item('hello'));
    const v = store.markVerified('alice', newAlice, 'safety_number', T0 + 4n);
    expect(v.kind).toBe('verified_new_key');
    if (v.kind !== 'verified_new_key') return;
    expect(v.released).toHaveLength(1);
    expect(v.contact).toMatchObject({ state: 'verified', verifiedAt: T0 + 4n });
    expect(v.contact.userKey).toEqual(newAlice);

    // The plain path: accept, then unverified.
    const store2 = new TrustStore();
    store2.observe('alice', alice, 'Alice', T0);
    store2.markVerified('alice', alice, 'qr', T0);
    store2.observe('alice', newAlice, 'Alice', T0);
    expect(store2.acceptNewKey('alice').contact).toMatchObject({
      state: 'unverified',
      verifiedBy: undefined,
    });
  });

  it('verification of a key the contact does not hold changes nothing', () => {
    const store = new TrustStore();
    const alice = key();
    store.observe('alice', alice, 'Alice', T0);
    expect(store.markVerified('alice', key(), 'qr', T0).kind).toBe('key_mismatch');
    expect(stateOf(store, 'alice')).toBe('unverified');
    expectCode(() => store.markVerified('nobody', alice, 'qr', T0), 'unknown_user');
  });

  it('a third key replaces the undecided claim and drops what the second one sent', () => {
    const store = new TrustStore();
    store.observe('alice', key(), 'Alice', T0);
    const second = key();
    const third = key();
    store.observe('alice', second, 'Alice', T0);
    store.hold('alice', item('a'));
    const out = store.observe('alice', third, 'Alice', T0);
    expect(out.kind).toBe('key_changed');
    expect(store.contact('alice')?.claimedKey).toEqual(third);
    expect(store.contact('alice')?.heldItems).toBe(0);
    // The second key is no longer attached to the contact: it may be pinned elsewhere.
    expect(store.observe('someone', second, 'Someone', T0).kind).toBe('pinned');
  });

  it("a credential of another user's key claiming a known name: name_collision", () => {
    const store = new TrustStore();
    const alice = key();
    store.observe('alice', alice, 'Alice Martin', T0);
    const impostor = key();
    const out = store.observe('alice-2', impostor, 'ALICE  MARTIN', T0);
    expect(out).toMatchObject({ kind: 'name_collision', collidesWith: ['alice'] });
    expect(stateOf(store, 'alice-2')).toBe('unverified');
    // Full-width letters and a zero-width space fold too.
    expect(store.nameCollisions(key(), 'Ａｌｉｃｅ\u200b Martin')).toEqual(['alice', 'alice-2']);
    expect(store.nameCollisions(alice, 'Alice Martin')).toEqual(['alice-2']);
    // A known contact renaming itself into another contact's name.
    const bob = key();
    store.observe('bob', bob, 'Bob', T0);
    expect(store.observe('bob', bob, 'alice martin', T0)).toMatchObject({
      kind: 'name_collision',
      collidesWith: ['alice', 'alice-2'],
    });
    expect(normalizeDisplayName(' Ａ\u200dB ')).toBe('ab');
  });

  it('end to end: a leaf credential of another user key whose record claims a known name', () => {
    const suite = cipherSuite(1);
    const T = 1_790_000_000n;
    const makeUser = (name: string) => {
      const user = generateUserKey();
      const deviceKey = generateDeviceKey();
      const cert = issueDeviceCertificate(user, {
        deviceKey: deviceKey.publicKey,
        deviceName: 'laptop',
        createdAt: T,
        expiresAt: T + 86400n,
      });
      const record = firstIdentityRecord(user, { displayName: name, devices: [cert], issuedAt: T });
      const leaf = newLeafCredential({
        suite,
        userKey: user.publicKey,
        deviceCertificate: cert,
        deviceKey,
        notBefore: T,
        notAfter: T + 86400n,
      });
      return { record, credential: leaf.credential };
    };
    const alice = makeUser('Alice');
    const impostor = makeUser('Alice');
    const book = new RecordBook();
    const store = new TrustStore();
    for (const who of [alice, impostor]) book.add(encodeIdentityRecord(who.record));
    /** What the app does with a leaf credential it meets in a group. */
    const meet = (credential: typeof alice.credential) => {
      const { userKey } = parseParleyCredential(credential);
      const name = book.newestRecord(userKey)!.displayName;
      return store.observe(toHex(userKey), userKey, name, T);
    };
    expect(meet(alice.credential).kind).toBe('pinned');
    expect(meet(impostor.credential)).toMatchObject({
      kind: 'name_collision',
      collidesWith: [toHex(alice.record.userKey)],
    });
  });

  it('a key pinned for one contact cannot be pinned for another', () => {
    const store = new TrustStore();
    const alice = key();
    store.observe('alice', alice, 'Alice', T0);
    expect(store.observe('other', alice, 'Other', T0)).toEqual({
      kind: 'key_pinned_elsewhere',
      otherContact: 'alice',
    });
    expect(store.contact('other')).toBeUndefined();
  });

  it('equivocation flag, bounds and removal', () => {
    const store = new TrustStore();
    const alice = key();
    store.observe('alice', alice, 'Alice', T0);
    expect(store.flagEquivocation(key())).toBeUndefined();
    expect(store.flagEquivocation(alice)).toBe('alice');
    expect(store.contact('alice')?.equivocation).toBe(true);
    expectCode(() => store.observe('x', new Uint8Array(31), 'X', T0), 'invalid_key');
    expectCode(() => store.observe('', key(), 'X', T0), 'invalid_argument');
    expectCode(() => store.observe('y', key(), 'x'.repeat(129), T0), 'invalid_argument');
    expect(store.remove('alice')).toBe(true);
    expect(store.contactByKey(alice)).toBeUndefined();
    expect(store.remove('alice')).toBe(false);
  });
});

describe('trust store: persistence', () => {
  const A = new Uint8Array(32).fill(0xaa);
  const B = new Uint8Array(32).fill(0xbb);

  it('known answer: the encoding of one contact', () => {
    const store = new TrustStore();
    store.observe('a', A, 'Al', 0x0102n);
    store.markVerified('a', A, 'qr', 0x0304n);
    store.observe('a', B, 'Al', 0x0506n);
    store.hold('a', new Uint8Array([9, 9]));
    expect(toHex(store.export())).toBe(
      '0001' + // version
        '4060' + // contacts<V>: 96 bytes
        '0161' + // contact_id "a"
        'aa'.repeat(32) +
        '02416c' + // "Al"
        '03' + // changed
        '02' + // before the change: verified
        '0000000000000102' +
        '0102' + // verified_by: qr
        '010000000000000304' +
        '01' +
        'bb'.repeat(32) + // claimed key
        '03020909' + // held<V>: one item [9, 9]
        '00', // no equivocation
    );
  });

  it('round trip keeps every state, held item and flag', () => {
    const store = new TrustStore();
    const [a, b, c, d] = [key(), key(), key(), key()];
    store.observe('a', a, 'Ann', T0);
    store.observe('b', b, 'Ben', T0);
    store.markVerified('b', b, 'safety_number', T0 + 1n);
    store.observe('b', c, 'Ben', T0 + 2n);
    store.hold('b', item('held'));
    store.observe('d', d, 'Dee', T0);
    store.flagEquivocation(d);
    const bytes = store.export();
    const back = TrustStore.import(bytes);
    expect(back.contacts()).toEqual(store.contacts());
    expect(back.export()).toEqual(bytes);
    // The imported store works: rejecting returns Ben to verified.
    expect(back.rejectNewKey('b').contact.state).toBe('verified');
    expect(back.contactByKey(a)?.id).toBe('a');
  });

  it('bad bytes give a typed error and build nothing', () => {
    const store = new TrustStore();
    store.observe('a', A, 'Al', 1n);
    store.observe('a', B, 'Al', 2n);
    store.hold('a', item('x'));
    const good = store.export();
    for (let n = 0; n < good.length; n++) {
      let caught: unknown;
      try {
        TrustStore.import(good.subarray(0, n));
      } catch (e) {
        caught = e;
      }
      expect(caught, `prefix of ${n} bytes`).toBeInstanceOf(IdentityError);
    }
    const v2 = good.slice();
    v2[1] = 2;
    expectCode(() => TrustStore.import(v2), 'unsupported_version');
    // A changed contact without held-item room in the importing store's limits.
    expectCode(() => TrustStore.import(good, { maxHeldItems: 0 }), 'malformed');
    // State "unverified" with a claimed key: an invariant the decoder checks.
    const stateAt = good.indexOf(0x03, 2 + 2 + 2 + 32 + 3);
    const broken = good.slice();
    broken[stateAt] = 0x01;
    expectCode(() => TrustStore.import(broken), 'malformed');
    // The same contact twice.
    const twice = new TrustStore();
    twice.observe('a', A, 'Al', 1n);
    const one = twice.export().subarray(3); // one contact's bytes (after version and length)
    expect(one.length).toBe(52);
    const dup = new Uint8Array([0, 1, 0x40, 104, ...one, ...one]);
    expectCode(() => TrustStore.import(dup), 'malformed');
    const single = new Uint8Array([0, 1, 52, ...one]);
    expect(TrustStore.import(single).contact('a')?.displayName).toBe('Al');
  });
});
