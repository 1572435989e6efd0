import { describe, expect, it } from 'vitest';
import { encode } from '../../src-core/codec/index.js';
import { cipherSuite } from '../../src-core/crypto/index.js';
import { issueDeviceCertificate } from '../../src-core/identity/deviceCertificate.js';
import type { DeviceCertificate } from '../../src-core/identity/deviceCertificate.js';
import { IdentityError } from '../../src-core/identity/errors.js';
import { generateDeviceKey, generateUserKey } from '../../src-core/identity/keys.js';
import type { DeviceKeyPair, UserKeyPair } from '../../src-core/identity/keys.js';
import {
  MembershipLog,
  membershipChanges,
  membershipEntryCodec,
} from '../../src-core/identity/membershipLog.js';
import type {
  MemberRef,
  MembershipChange,
  MembershipEntry,
} from '../../src-core/identity/membershipLog.js';
import { newLeafCredential } from '../../src-core/identity/parleyCredential.js';
import type { LeafCredential } from '../../src-core/identity/parleyCredential.js';
import { userKeyFingerprint } from '../../src-core/identity/safetyNumber.js';
import { requiredCapabilitiesCodec } from '../../src-core/mls/capabilities.js';
import type { Group, GroupEvent, PendingCommit } from '../../src-core/mls/client/index.js';
import { MlsClient } from '../../src-core/mls/client/index.js';
import { CredentialType } from '../../src-core/mls/credential.js';
import { ExtensionType } from '../../src-core/mls/extension.js';
import { encodeMlsMessage } from '../../src-core/mls/framing/mlsMessage.js';
import { createExternalCommit } from '../../src-core/mls/group/externalCommit.js';
import { createGroupInfo } from '../../src-core/mls/group/groupInfo.js';
import { proposeGroupContextExtensions } from '../../src-core/mls/group/messages.js';
import { proposeReInit } from '../../src-core/mls/group/reinit.js';
import { toHex } from '../support/shared.js';

const suite = cipherSuite(1);
const T0 = 1_790_000_000n;
const YEAR = 365n * 86400n;

interface Person {
  readonly user: UserKeyPair;
  readonly devices: { key: DeviceKeyPair; cert: DeviceCertificate }[];
}

function person(name: string, deviceCount = 1): Person {
  const user = generateUserKey();
  const devices = Array.from({ length: deviceCount }, (_, i) => {
    const key = generateDeviceKey();
    const cert = issueDeviceCertificate(user, {
      deviceKey: key.publicKey,
      deviceName: `${name}-${i}`,
      createdAt: T0,
      expiresAt: T0 + YEAR,
    });
    return { key, cert };
  });
  return { user, devices };
}

function leafCredential(p: Person, device = 0): LeafCredential {
  return newLeafCredential({
    suite,
    userKey: p.user.publicKey,
    deviceCertificate: p.devices[device]!.cert,
    deviceKey: p.devices[device]!.key,
    notBefore: T0,
    notAfter: T0 + YEAR,
  });
}

function clientOf(p: Person): MlsClient {
  const leaf = leafCredential(p);
  return new MlsClient({
    suite,
    credential: leaf.credential,
    signatureKeyPair: leaf.signatureKeyPair,
  });
}

function pendingOf(e: GroupEvent): PendingCommit {
  if (e.kind !== 'commit') throw new Error(`expected a commit, got ${e.kind}`);
  return e.commit;
}

const ref = (p: Person, leafIndex: number, device = 0): MemberRef => ({
  leafIndex,
  userFingerprint: userKeyFingerprint(p.user.publicKey),
  deviceKey: p.devices[device]!.key.publicKey,
});

const changesOf = (entries: readonly MembershipEntry[]): MembershipChange[] =>
  entries.map((e) => e.change);

describe('membership log over a real MLS group', () => {
  it('adds, removes, key change, device change and policy change, the same for every member', () => {
    const alice = person('alice', 2);
    const bob = person('bob');
    const carol = person('carol');
    const dave = person('dave');
    const a = clientOf(alice).createGroup();
    const logs = new Map<Group, MembershipLog>([[a, new MembershipLog(a.groupId)]]);
    let now = T0;

    /** The committer and every other member record the commit, then merge it. */
    const settle = (
      by: Group,
      out: { commit: Uint8Array; pending: PendingCommit },
    ): MembershipEntry[] => {
      now += 60n;
      const mine = logs.get(by)!.record(by, out.pending, now);
      for (const [g, log] of logs) {
        if (g === by) continue;
        const p = pendingOf(g.process(out.commit));
        expect(log.record(g, p, now)).toEqual(mine);
        g.merge(p);
      }
      by.merge(out.pending);
      return mine;
    };

    // Alice adds Bob and Carol.
    const bobClient = clientOf(bob);
    const carolClient = clientOf(carol);
    const added = a.add([
      bobClient.createKeyPackages({ count: 1, lastResort: false }).oneTime[0]!.message,
      carolClient.createKeyPackages({ count: 1, lastResort: false }).oneTime[0]!.message,
    ]);
    const addEntries = settle(a, added);
    expect(addEntries.map((e) => [e.seq, e.epoch, e.time])).toEqual([
      [0n, 1n, T0 + 60n],
      [1n, 1n, T0 + 60n],
    ]);
    expect(addEntries[0]!.actor).toEqual({ kind: 'member', member: ref(alice, 0) });
    expect(changesOf(addEntries)).toEqual([
      { kind: 'add', member: ref(bob, 1) },
      { kind: 'add', member: ref(carol, 2) },
    ]);
    const b = bobClient.joinGroup(added.welcome!);
    const c = carolClient.joinGroup(added.welcome!);
    // A joiner's log would start empty; here Bob and Carol copy Alice's so all logs compare equal.
    logs.set(b, MembershipLog.import(logs.get(a)!.export()));
    logs.set(c, MembershipLog.import(logs.get(a)!.export()));

    // Fresh encryption keys only: nothing to log.
    expect(settle(b, b.update())).toEqual([]);

    // Bob's leaf gets a new signature key from the same device: a key change.
    const bobNew = leafCredential(bob);
    const keyChange = settle(
      b,
      b.update({ signatureKeyPair: bobNew.signatureKeyPair, credential: bobNew.credential }),
    );
    expect(changesOf(keyChange)).toEqual([{ kind: 'key_change', member: ref(bob, 1) }]);
    expect(keyChange[0]!.actor).toEqual({ kind: 'member', member: ref(bob, 1) });

    // Alice moves her leaf to her second device: a device change.
    const aliceSecond = leafCredential(alice, 1);
    const deviceChange = settle(
      a,
      a.update({
        signatureKeyPair: aliceSecond.signatureKeyPair,
        credential: aliceSecond.credential,
      }),
    );
    expect(changesOf(deviceChange)).toEqual([
      { kind: 'device_change', from: ref(alice, 0, 0), to: ref(alice, 0, 1) },
    ]);

    // Carol removes Bob and adds Dave in one commit.
    const daveClient = clientOf(dave);
    const daveKp = daveClient.createKeyPackages({ count: 1, lastResort: false }).oneTime[0]!
      .message;
    const removal = c.proposeRemove(1); // Carol's proposal, which she commits below
    expect(a.process(removal.message).kind).toBe('proposal');
    const bobOut = logs.get(b)!;
    logs.delete(b); // Bob is removed: his log stops here
    const removeAdd = settle(c, c.add([daveKp]));
    expect(changesOf(removeAdd)).toEqual([
      { kind: 'remove', member: ref(bob, 1) },
      { kind: 'add', member: ref(dave, 1) },
    ]);
    expect(removeAdd[0]!.actor).toEqual({ kind: 'member', member: ref(carol, 2) });
    expect(bobOut.nextSeq).toBe(4n);

    // Alice proposes required capabilities (a policy change); Carol commits it.
    const required = {
      extensionType: ExtensionType.requiredCapabilities,
      extensionData: encode(requiredCapabilitiesCodec, {
        extensionTypes: [],
        proposalTypes: [],
        credentialTypes: [CredentialType.basic],
      }),
    };
    const proposal = proposeGroupContextExtensions(a.state, [required]);
    expect(c.process(encodeMlsMessage(proposal.message)).kind).toBe('proposal');
    const policy = settle(c, c.commit());
    expect(changesOf(policy)).toEqual([
      {
        kind: 'policy_change',
        added: [ExtensionType.requiredCapabilities],
        removed: [],
        changed: [],
      },
    ]);

    // Every member holds the same log; a page walk sees all of it in order.
    const logA = logs.get(a)!;
    expect(logs.get(c)!.export()).toEqual(logA.export());
    expect(logA.size).toBe(7);
    const seen: bigint[] = [];
    let from: bigint | undefined = logA.firstSeq;
    while (from !== undefined) {
      const page = logA.read(from, 3);
      seen.push(...page.entries.map((e) => e.seq));
      from = page.next;
    }
    expect(seen).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n]);
    expect(logA.latest(2).map((e) => e.change.kind)).toEqual(['policy_change', 'add']);
    expect(MembershipLog.import(logA.export()).read(0n, 10).entries).toEqual(
      logA.read(0n, 10).entries,
    );
  });

  it('an external commit logs the joiner as added by itself; a ReInit is logged', () => {
    const alice = person('alice');
    const bob = person('bob');
    const erin = person('erin');
    const a = clientOf(alice).createGroup();
    const bobClient = clientOf(bob);
    const added = a.add([
      bobClient.createKeyPackages({ count: 1, lastResort: false }).oneTime[0]!.message,
    ]);
    a.merge(added.pending);
    const b = bobClient.joinGroup(added.welcome!);
    const log = new MembershipLog(a.groupId);

    const erinLeaf = leafCredential(erin);
    const external = createExternalCommit({
      groupInfo: encodeMlsMessage(createGroupInfo(a.state)),
      credential: erinLeaf.credential,
      signatureKeyPair: erinLeaf.signatureKeyPair,
    });
    const p = pendingOf(a.process(encodeMlsMessage(external.commit)));
    const entries = log.record(a, p, T0);
    expect(entries.map((e) => [e.actor, e.change])).toEqual([
      [
        { kind: 'new_member', member: ref(erin, 2) },
        { kind: 'add', member: ref(erin, 2) },
      ],
    ]);
    a.merge(p);
    b.merge(pendingOf(b.process(encodeMlsMessage(external.commit))));

    const reinit = proposeReInit(a.state, { cipherSuite: 1 });
    expect(b.process(encodeMlsMessage(reinit.message)).kind).toBe('proposal');
    const out = b.commit();
    expect(log.record(b, out.pending, T0 + 1n).map((e) => e.change)).toEqual([
      { kind: 'reinit', version: 1, cipherSuite: 1 },
    ]);
  });

  it('commits for another group are refused', () => {
    const p = person('p');
    const g1 = clientOf(p).createGroup();
    const g2 = clientOf(p).createGroup();
    const log = new MembershipLog(g1.groupId);
    const out = g2.update();
    expect(() => log.record(g2, out.pending, T0)).toThrow(IdentityError);
    // Without a Parley credential the log still names the leaf.
    const plain = new MlsClient({
      suite,
      credential: { credentialType: CredentialType.basic, identity: new Uint8Array([1]) },
      signatureKeyPair: suite.generateSignatureKeyPair(),
    }).createGroup();
    const k = clientOf(person('q')).createKeyPackages({ count: 1, lastResort: false });
    const { actor, changes } = membershipChanges(plain, plain.add([k.oneTime[0]!.message]).pending);
    expect(actor).toEqual({
      kind: 'member',
      member: { leafIndex: 0, userFingerprint: undefined, deviceKey: undefined },
    });
    expect(changes).toHaveLength(1);
  });
});

describe('membership log: bounds, paging and encoding', () => {
  const gid = new Uint8Array([0xab]);
  const m = (leafIndex: number): MemberRef => ({
    leafIndex,
    userFingerprint: undefined,
    deviceKey: undefined,
  });
  const actor = { kind: 'member' as const, member: m(0) };

  it('keeps at most capacity entries, oldest dropped, sequence numbers kept', () => {
    const log = new MembershipLog(gid, 3);
    for (let i = 1; i <= 5; i++) log.append(BigInt(i), T0, actor, [{ kind: 'add', member: m(i) }]);
    expect(log.size).toBe(3);
    expect(log.firstSeq).toBe(2n);
    expect(log.nextSeq).toBe(5n);
    // Reading from a dropped position starts at the oldest held.
    const page = log.read(0n, 2);
    expect(page.entries.map((e) => e.seq)).toEqual([2n, 3n]);
    expect(page.next).toBe(4n);
    expect(log.read(4n, 2)).toMatchObject({ next: undefined });
    expect(log.read(9n, 2).entries).toEqual([]);
    expect(() => log.append(1n, T0, actor, [])).toThrow(/membership_conflict/);
    expect(() => log.read(0n, 0)).toThrow(IdentityError);
    expect(() => new MembershipLog(gid, 0)).toThrow(IdentityError);
  });

  it('known answer: one entry of each kind', () => {
    const fp = new Uint8Array(32).fill(0x11);
    const dk = new Uint8Array(32).fill(0x22);
    const full: MemberRef = { leafIndex: 5, userFingerprint: fp, deviceKey: dk };
    const entry = (change: MembershipChange): string =>
      toHex(
        encode(membershipEntryCodec, {
          seq: 1n,
          epoch: 2n,
          time: 3n,
          actor: { kind: 'member', member: m(7) },
          change,
        }),
      );
    const head =
      '0000000000000001' +
      '0000000000000002' +
      '0000000000000003' +
      '01' +
      '00000007' +
      '00' +
      '00';
    const fullHex = '00000005' + '01' + '11'.repeat(32) + '01' + '22'.repeat(32);
    expect(entry({ kind: 'add', member: full })).toBe(head + '01' + fullHex);
    expect(entry({ kind: 'remove', member: m(1) })).toBe(head + '02' + '00000001' + '0000');
    expect(entry({ kind: 'device_change', from: m(1), to: full })).toBe(
      head + '03' + '00000001' + '0000' + fullHex,
    );
    expect(entry({ kind: 'key_change', member: m(2) })).toBe(head + '04' + '00000002' + '0000');
    expect(entry({ kind: 'policy_change', added: [3], removed: [], changed: [0xff00, 5] })).toBe(
      head + '05' + '020003' + '00' + '04ff000005',
    );
    expect(entry({ kind: 'reinit', version: 1, cipherSuite: 3 })).toBe(head + '06' + '00010003');
  });

  it('bad bytes give a typed error', () => {
    const log = new MembershipLog(gid, 4);
    log.append(1n, T0, actor, [{ kind: 'add', member: m(1) }]);
    log.append(2n, T0, actor, [{ kind: 'remove', member: m(1) }]);
    const good = log.export();
    expect(MembershipLog.import(good).export()).toEqual(good);
    for (let n = 0; n < good.length; n++) {
      expect(() => MembershipLog.import(good.subarray(0, n)), `prefix ${n}`).toThrow(IdentityError);
    }
    // next_seq that disagrees with the entries' sequence numbers.
    const header = 2 + 2 + 4; // version, group_id<V>, capacity
    const skewed = good.slice();
    skewed[header + 7] = 7;
    expect(() => MembershipLog.import(skewed)).toThrow(/malformed/);
    // A capacity below the number of entries.
    const small = good.slice();
    small[header - 1] = 1;
    expect(() => MembershipLog.import(small)).toThrow(/malformed/);
    // An unknown change type.
    const unknown = good.slice();
    unknown[unknown.length - 7] = 9;
    expect(() => MembershipLog.import(unknown)).toThrow(IdentityError);
    const v2 = good.slice();
    v2[1] = 2;
    expect(() => MembershipLog.import(v2)).toThrow(/unsupported_version/);
  });
});
