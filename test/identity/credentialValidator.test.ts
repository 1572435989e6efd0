// The credential validator: each rule with its typed outcome (checkCredential), then the same
// rules enforced by real MLS groups through GroupConfig.validateCredential.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Credential } from '../../src-core/mls/credential.js';
import { CredentialType } from '../../src-core/mls/credential.js';
import type { CredentialContext } from '../../src-core/mls/group/config.js';
import { createCommit } from '../../src-core/mls/group/createCommit.js';
import { MlsClient } from '../../src-core/mls/client/index.js';
import type { Group, GroupEvent } from '../../src-core/mls/client/index.js';
import { encodeMlsMessage } from '../../src-core/mls/framing/mlsMessage.js';
import type { KeyPair } from '../../src-core/crypto/index.js';
import type { CredentialValidatorOptions, ParleyIdentity } from '../../src-core/identity/index.js';
import {
  createCredentialValidator,
  encodeParleyIdentity,
  leavesToRemove,
  nextIdentityRecord,
  parleyCredential,
} from '../../src-core/identity/index.js';
import { expectMlsError } from '../mls/groupHarness.js';
import type { Device, User } from './chainFixtures.js';
import {
  DAY,
  Records,
  T0,
  YEAR,
  identityOf,
  leafCert,
  leafKey,
  makeUser,
  recordOf,
  suite1,
} from './chainFixtures.js';

const NOW = T0 + DAY;
const gid = new TextEncoder().encode('group-A');

const alice = makeUser(0x11, 'Alice', [
  { seed: 0x21, name: 'laptop' },
  { seed: 0x22, name: 'phone' },
  { seed: 0x23, name: 'tablet' },
]);
const [laptop, phone, tablet] = alice.devices as [Device, Device, Device];
const bob = makeUser(0x12, 'Bob', [{ seed: 0x24, name: 'desktop' }]);
const carol = makeUser(0x13, 'Carol', [
  { seed: 0x25, name: 'old laptop', createdAt: T0 - 2n * YEAR, expiresAt: T0 - YEAR },
]);
const dave = makeUser(0x14, 'Dave', [
  { seed: 0x26, name: 'future phone', createdAt: T0 + 30n * DAY, expiresAt: T0 + YEAR },
]);
// Mallory's own key, a device she names like Alice's, and a record calling herself "Alice".
const mallory = makeUser(0x41, 'Alice', [{ seed: 0x51, name: 'laptop' }]);

// Alice's newest record: the phone is revoked, the tablet was never listed.
const aliceRecord = nextIdentityRecord(alice.key, recordOf(alice, [laptop, phone]), {
  revokeDevices: [phone.key.publicKey],
  issuedAt: NOW,
});
const records = new Records()
  .put(aliceRecord)
  .put(recordOf(bob))
  .put(recordOf(carol))
  .put(recordOf(dave))
  .put(recordOf(mallory));

let leafSeed = 0x80;
function leafFor(user: User, device: Device, over: Parameters<typeof leafCert>[2] = {}) {
  const key = leafKey(leafSeed++);
  const identity = identityOf(user, device, leafCert(device, key.publicKey, over));
  return { key, identity, credential: parleyCredential(identity) };
}

function validator(over: Partial<CredentialValidatorOptions> = {}) {
  return createCredentialValidator({ records, now: () => NOW, cipherSuite: 1, ...over });
}

const addCtx: CredentialContext = { kind: 'add', groupId: gid };

function outcome(
  c: { credential: Credential; key: KeyPair },
  context: CredentialContext = addCtx,
  over: Partial<CredentialValidatorOptions> = {},
): string {
  const r = validator(over).checkCredential(c.credential, c.key.publicKey, { context });
  return r.ok ? 'ok' : r.code;
}

describe('checkCredential: one typed outcome per rule', () => {
  it('accepts a good chain and names user, device and display name', () => {
    const good = leafFor(alice, laptop);
    const r = validator().checkCredential(good.credential, good.key.publicKey, {
      context: addCtx,
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.userKey).toEqual(alice.key.publicKey);
    expect(r.deviceKey).toEqual(laptop.key.publicKey);
    expect(r.deviceName).toBe('laptop');
    expect(r.displayName).toBe('Alice');
    expect(validator().validate(good.credential, good.key.publicKey, addCtx)).toBe(true);
  });

  it('forged device certificate: bad_signature', () => {
    // Mallory's device certificate presented under Alice's user key.
    const forged = leafFor(mallory, mallory.devices[0]!);
    const identity: ParleyIdentity = { ...forged.identity, userKey: alice.key.publicKey };
    expect(outcome({ ...forged, credential: parleyCredential(identity) })).toBe('bad_signature');
  });

  it('forged leaf certificate: bad_signature', () => {
    // The leaf certificate is signed by Bob's device but presented under Alice's laptop.
    const bobs = leafFor(bob, bob.devices[0]!);
    const identity = identityOf(alice, laptop, bobs.identity.leafCertificate);
    expect(outcome({ ...bobs, credential: parleyCredential(identity) })).toBe('bad_signature');
  });

  it('leaf key not certified: leaf_key_not_certified', () => {
    const good = leafFor(alice, laptop);
    expect(outcome({ credential: good.credential, key: leafKey(0x7f) })).toBe(
      'leaf_key_not_certified',
    );
  });

  it('expired and not-yet-valid certificates', () => {
    expect(outcome(leafFor(carol, carol.devices[0]!))).toBe('expired');
    expect(outcome(leafFor(dave, dave.devices[0]!))).toBe('not_yet_valid');
    const leafExpired = leafFor(alice, laptop, { notBefore: T0 - 90n * DAY, notAfter: T0 });
    expect(outcome(leafExpired)).toBe('expired');
    // Within the clock tolerance (5 minutes) a certificate still counts as valid.
    expect(outcome(leafExpired, addCtx, { now: () => T0 + 299n })).toBe('ok');
    expect(outcome(leafExpired, addCtx, { now: () => T0 + 301n })).toBe('expired');
  });

  it('revoked device, and a device missing from the newest record', () => {
    expect(outcome(leafFor(alice, phone))).toBe('revoked');
    expect(outcome(leafFor(alice, tablet))).toBe('unknown_device');
  });

  it("another user's key claiming a known name: wrong_user", () => {
    const fake = leafFor(mallory, mallory.devices[0]!);
    // On its own it is a valid credential of Mallory (whose record says "Alice")...
    const r = validator().checkCredential(fake.credential, fake.key.publicKey);
    expect(r.ok && r.displayName).toBe('Alice');
    // ...but not of the Alice the caller knows, nor as a replacement of Alice's leaf.
    const expected = validator().checkCredential(fake.credential, fake.key.publicKey, {
      expectedUserKey: alice.key.publicKey,
    });
    expect(expected.ok ? 'ok' : expected.code).toBe('wrong_user');
    const previous = leafFor(alice, laptop).credential;
    expect(outcome(fake, { kind: 'update', groupId: gid, leafIndex: 0, previous })).toBe(
      'wrong_user',
    );
  });

  it('a replacement leaf from another device of the same user: device_changed', () => {
    const previous = leafFor(alice, laptop).credential;
    const bobsPrevious = leafFor(bob, bob.devices[0]!).credential;
    const ctx = { kind: 'commit', groupId: gid, leafIndex: 0, previous } as const;
    expect(outcome(leafFor(alice, laptop), ctx)).toBe('ok');
    expect(outcome(leafFor(bob, bob.devices[0]!), { ...ctx, previous: bobsPrevious })).toBe('ok');
    const tabletUser = makeUser(0x11, 'Alice', [{ seed: 0x27, name: 'x' }]);
    records.put(
      nextIdentityRecord(alice.key, aliceRecord, {
        addDevices: [tabletUser.devices[0]!.cert],
        issuedAt: NOW,
      }),
    );
    try {
      expect(outcome(leafFor(alice, tabletUser.devices[0]!), ctx)).toBe('device_changed');
    } finally {
      records.put(aliceRecord);
    }
  });

  it('a leaf key bound to one group is refused in another: wrong_group', () => {
    const bound = leafFor(alice, laptop, { groupId: gid });
    expect(outcome(bound)).toBe('ok');
    expect(outcome(bound, { kind: 'add', groupId: new Uint8Array([1]) })).toBe('wrong_group');
  });

  it('bad version, wrong suite, non-Parley credential, unknown user when records are required', () => {
    const good = leafFor(alice, laptop);
    const bytes = encodeParleyIdentity(good.identity);
    bytes[1] = 2;
    const v2 = { credentialType: CredentialType.basic, identity: bytes } as const;
    expect(outcome({ credential: v2, key: good.key })).toBe('unsupported_version');
    expect(outcome(good, addCtx, { cipherSuite: 3 })).toBe('cipher_suite_mismatch');
    const plain = { credentialType: CredentialType.basic, identity: new TextEncoder().encode('a') };
    expect(outcome({ credential: plain, key: good.key })).toBe('malformed');
    expect(outcome(good, addCtx, { records: new Records() })).toBe('ok');
    expect(outcome(good, addCtx, { records: new Records(), requireRecord: true })).toBe(
      'unknown_user',
    );
  });

  it('tree members: chain only by default, everything in strict mode', () => {
    const tree: CredentialContext = { kind: 'tree', groupId: gid, leafIndex: 3 };
    expect(outcome(leafFor(carol, carol.devices[0]!), tree)).toBe('ok');
    expect(outcome(leafFor(alice, phone), tree)).toBe('ok');
    expect(outcome(leafFor(carol, carol.devices[0]!), tree, { treeCheck: 'strict' })).toBe(
      'expired',
    );
    const forged = leafFor(alice, laptop);
    expect(outcome({ credential: forged.credential, key: leafKey(0x7e) }, tree)).toBe(
      'leaf_key_not_certified',
    );
  });

  it('the caller policy decides last, and a throwing record source rejects without throwing', () => {
    const good = leafFor(alice, laptop);
    expect(outcome(good, addCtx, { userPolicy: () => 'untrusted' })).toBe('untrusted');
    const broken = {
      newestRecord: (): never => {
        throw new Error('disk on fire');
      },
    };
    expect(outcome(good, addCtx, { records: broken })).toBe('malformed');
  });

  it('never throws and never accepts a mutated credential', () => {
    const good = leafFor(alice, laptop);
    const bytes = encodeParleyIdentity(good.identity);
    const v = validator();
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const mutated = Uint8Array.from(bytes);
        mutated[at % mutated.length]! ^= x;
        const credential = { credentialType: CredentialType.basic, identity: mutated } as const;
        const r = v.checkCredential(credential, good.key.publicKey, { context: addCtx });
        expect(r.ok).toBe(false);
      }),
      { numRuns: 1_000 },
    );
  });

  it('leavesToRemove names revoked, unlisted, expired and unverifiable members', () => {
    const members = [
      { leafIndex: 0, ...leafFor(alice, laptop) },
      { leafIndex: 1, ...leafFor(alice, phone) },
      { leafIndex: 2, ...leafFor(alice, tablet) },
      { leafIndex: 4, ...leafFor(carol, carol.devices[0]!) },
      { leafIndex: 5, ...leafFor(bob, bob.devices[0]!) },
    ].map((m) => ({
      leafIndex: m.leafIndex,
      credential: m.credential,
      signatureKey: m.key.publicKey,
    }));
    members.push({
      leafIndex: 7,
      credential: { credentialType: CredentialType.basic, identity: new Uint8Array([0, 1]) },
      signatureKey: leafKey(0x7d).publicKey,
    });
    const found = leavesToRemove(members, records, NOW).map((c) => [c.leafIndex, c.code]);
    expect(found).toEqual([
      [1, 'revoked'],
      [2, 'unknown_device'],
      [4, 'expired'],
      [7, 'malformed'],
    ]);
    const noExpiry = leavesToRemove(members, records, NOW, { includeExpired: false });
    expect(noExpiry.map((c) => c.leafIndex)).toEqual([1, 2, 7]);
  });
});

describe('MLS groups with the Parley validator', () => {
  let clock = NOW;
  const config = {
    validateCredential: validator({ now: () => clock }).validate,
    now: () => clock,
  };

  function client(user: User, device: Device, permissive = false): MlsClient {
    const leaf = leafFor(user, device);
    return new MlsClient({
      suite: suite1,
      credential: leaf.credential,
      signatureKeyPair: leaf.key,
      config: permissive ? { now: () => clock } : config,
    });
  }

  function keyPackage(c: MlsClient): Uint8Array {
    return c.createKeyPackages({ count: 1, lastResort: false, now: clock }).oneTime[0]!.message;
  }

  function commitOf(e: GroupEvent) {
    if (e.kind !== 'commit') throw new Error(`expected a commit, got ${e.kind}`);
    return e.commit;
  }

  it('a good member is added; forged, expired and revoked ones are credential_rejected', () => {
    clock = NOW;
    const group = client(alice, laptop).createGroup({ groupId: gid });
    const bobClient = client(bob, bob.devices[0]!);
    const add = group.add([keyPackage(bobClient)]);
    group.merge(add.pending);
    const bobGroup = bobClient.joinGroup(add.welcome!);
    expect(bobGroup.members()).toHaveLength(2);

    const forgedLeaf = leafFor(mallory, mallory.devices[0]!);
    const forged = new MlsClient({
      suite: suite1,
      credential: parleyCredential({ ...forgedLeaf.identity, userKey: alice.key.publicKey }),
      signatureKeyPair: forgedLeaf.key,
    });
    const rejected: [MlsClient, string][] = [
      [forged, 'bad_signature'],
      [client(carol, carol.devices[0]!), 'expired'],
      [client(alice, phone), 'revoked'],
    ];
    for (const [bad, why] of rejected) {
      const r = validator().checkCredential(bad.credential, bad.signaturePublicKey);
      expect(r.ok ? 'ok' : r.code).toBe(why);
      expectMlsError(() => group.add([keyPackage(bad)]), 'credential_rejected');
    }
    expect(group.members()).toHaveLength(2);
  });

  it('a receiver rejects a commit adding a revoked device even if the committer accepted it', () => {
    clock = NOW;
    const sloppy = client(alice, laptop, true);
    const group = sloppy.createGroup({ groupId: new TextEncoder().encode('group-B') });
    const bobClient = client(bob, bob.devices[0]!);
    const add = group.add([keyPackage(bobClient)]);
    group.merge(add.pending);
    const bobGroup = bobClient.joinGroup(add.welcome!);
    const bad = group.add([keyPackage(client(alice, phone))]);
    expectMlsError(() => bobGroup.process(bad.commit), 'credential_rejected');
  });

  it("a receiver rejects a commit that swaps a member's leaf to another user's credential", () => {
    clock = NOW;
    const sloppy = client(alice, laptop, true);
    const group = sloppy.createGroup({ groupId: new TextEncoder().encode('group-C') });
    const bobClient = client(bob, bob.devices[0]!);
    const add = group.add([keyPackage(bobClient)]);
    group.merge(add.pending);
    const bobGroup = bobClient.joinGroup(add.welcome!);
    const fake = leafFor(mallory, mallory.devices[0]!);
    const swapped = createCommit(group.state, {
      leafNode: { credential: fake.credential, signatureKeyPair: fake.key },
    });
    expectMlsError(() => bobGroup.process(encodeMlsMessage(swapped.commit)), 'credential_rejected');
    // The same leaf change with a new key of Alice's own laptop is accepted.
    const own = leafFor(alice, laptop);
    const rotated = createCommit(group.state, {
      leafNode: { credential: own.credential, signatureKeyPair: own.key },
    });
    expect(commitOf(bobGroup.process(encodeMlsMessage(rotated.commit)))).toBeDefined();
  });

  it('joining a group with a member whose certificate ran out, then naming it for removal', () => {
    clock = NOW;
    const group = client(alice, laptop).createGroup({
      groupId: new TextEncoder().encode('group-D'),
    });
    const short = makeUser(0x15, 'Erin', [
      { seed: 0x28, name: 'phone', createdAt: T0, expiresAt: NOW + DAY },
    ]);
    records.put(recordOf(short));
    const erin = client(short, short.devices[0]!);
    const a1 = group.add([keyPackage(erin)]);
    group.merge(a1.pending);
    clock = NOW + 2n * DAY; // Erin's device certificate has expired meanwhile
    const bobClient = client(bob, bob.devices[0]!);
    const a2 = group.add([keyPackage(bobClient)]);
    group.merge(a2.pending);
    const bobGroup: Group = bobClient.joinGroup(a2.welcome!);
    const toRemove = leavesToRemove(bobGroup.members(), records, clock);
    expect(toRemove.map((c) => [c.leafIndex, c.code])).toEqual([[1, 'expired']]);
    // A joiner in strict mode refuses the whole group instead.
    const strictLeaf = leafFor(bob, bob.devices[0]!);
    const strictBob = new MlsClient({
      suite: suite1,
      credential: strictLeaf.credential,
      signatureKeyPair: strictLeaf.key,
      config: {
        now: () => clock,
        validateCredential: validator({ now: () => clock, treeCheck: 'strict' }).validate,
      },
    });
    const a3 = group.add([keyPackage(strictBob)]);
    group.merge(a3.pending);
    expectMlsError(() => strictBob.joinGroup(a3.welcome!), 'credential_rejected');
  });
});
