import { describe, expect, it } from 'vitest';
import { EnvelopeKind, decodeEnvelope } from '../../src-core/delivery/envelope.js';
import { GroupSession } from '../../src-core/delivery/groupSession.js';
import { Group } from '../../src-core/mls/client/index.js';
import type { GroupMember } from '../../src-core/mls/client/index.js';
import { decodeGroupState, encodeGroupState } from '../../src-core/mls/storage/index.js';
import { groupOf, record, text, untext } from './support/groupFixture.js';
import type { Fixture, Member } from './support/groupFixture.js';

const ELECTION_MS = 4_000;

/** Three members whose leader re-adds with a KeyPackage fresh from the member's own client. */
function group(): { f: Fixture; freshFor: string[] } {
  const freshFor: string[] = [];
  const holder: { f?: Fixture } = {};
  const fresh = (m: GroupMember): Uint8Array | undefined => {
    const name = 'identity' in m.credential ? untext(m.credential.identity) : '?';
    freshFor.push(name);
    const client = holder.f?.members.find((x) => x.name === name)?.client;
    return client?.createKeyPackages({ count: 1 }).oneTime[0]!.message;
  };
  const f = groupOf(['alice', 'bob', 'carol'], {
    freshKeyPackage: fresh,
    timing: { electionTimeoutMs: ELECTION_MS },
  });
  holder.f = f;
  return { f, freshFor };
}

/**
 * Bob commits an update and "crashes" right after publishing it: his new session starts from the
 * state persisted at that moment (epoch 1, the commit's handshake key spent), as an app restarts.
 */
function bobRestartsBehindHisCommit(f: Fixture): { bob: Member; sync: Uint8Array[] } {
  f.run(1_500);
  const bob = f.members[1]!;
  let snapshot: Map<string, Uint8Array> | undefined;
  const off = bob.session.on('published', (p) => {
    if (p.kind === EnvelopeKind.commit && snapshot === undefined) {
      snapshot = new Map(encodeGroupState(bob.session.group.state));
    }
  });
  bob.session.update();
  f.run(1_000);
  off();
  expect(snapshot).toBeDefined();
  // The others merged bob's commit (epoch 2); the crash loses bob's merge.
  expect(f.members[0]!.session.epoch).toBe(2n);
  expect(f.members[2]!.session.epoch).toBe(2n);
  bob.session.destroy();
  // What a sync brings of epoch 1: bob's commit (his log kept it) and the leader's record.
  const sync = [...bob.published, ...f.members[0]!.published]
    .filter((p) => p.epoch === 1n && p.kind !== EnvelopeKind.heartbeat)
    .map((p) => p.envelope);
  const state = decodeGroupState(snapshot!, { suite: f.suite });
  const session = new GroupSession({
    group: new Group(state),
    ports: { clock: f.clock, channels: f.net.port('bob') },
    timing: { electionTimeoutMs: ELECTION_MS },
  });
  expect(session.epoch).toBe(1n);
  const restarted: Member = { ...bob, session, seen: record(session), published: [] };
  f.members[1] = restarted;
  session.start();
  return { bob: restarted, sync };
}

const commitsAfter = (m: Member, epoch: bigint): number =>
  (m.seen.epoch ?? []).filter((e) => e.epoch > epoch).length;

describe('rejoin by re-add', () => {
  it('a member stuck behind its own ordered commit is removed, re-added with a fresh KeyPackage, and reads again', () => {
    const { f, freshFor } = group();
    const { bob, sync } = bobRestartsBehindHisCommit(f);
    const alice = f.members[0]!;
    for (const env of sync) bob.session.receive(env);
    // MLS refuses bob's own commit (its key was spent): only a rejoin gets him on.
    expect(bob.session.epoch).toBe(1n);
    expect(bob.seen.rejoinNeeded?.map((e) => e.forkEpoch)).toEqual([1n]);
    // Not before an election timeout since the leader merged the commit (about 1 s ago): the
    // leader hears bob's heartbeat now and only republishes its branch.
    f.run(10);
    expect(freshFor).toEqual([]);
    expect(alice.session.epoch).toBe(2n);
    f.run(ELECTION_MS + 3_000);
    expect(freshFor).toEqual(['bob']);
    const welcome = alice.seen.welcome?.at(-1);
    expect(welcome).toBeDefined();
    // A removal, then the re-add: two commits past epoch 2.
    expect(alice.session.epoch).toBe(4n);
    expect(commitsAfter(alice, 2n)).toBe(2);
    const nb = f.attach('bob (re-added)', bob.client, bob.keys, welcome!.welcome);
    bob.session.destroy();
    expect(nb.session.epoch).toBe(4n);
    alice.session.send(text('after the rejoin'));
    f.run(500);
    expect(nb.seen.message?.map((m) => untext(m.data))).toEqual(['after the rejoin']);
    expect(f.members[2]!.seen.message?.map((m) => untext(m.data))).toEqual(['after the rejoin']);
    expect(alice.session.group.members()).toHaveLength(3);
    // Nobody re-added twice meanwhile.
    f.run(ELECTION_MS * 2);
    expect(freshFor).toEqual(['bob']);
    expect(alice.session.epoch).toBe(4n);
  });

  it('a replayed old heartbeat of a committer costs at most the documented two commits', () => {
    const { f, freshFor } = group();
    const alice = f.members[0]!;
    // The heartbeats to replay: those bob signed at epoch 1 as the committer of its end.
    const { bob: stuck, sync } = bobRestartsBehindHisCommit(f);
    const beats: Uint8Array[] = [];
    const off = stuck.session.on('published', (p) => {
      if (p.kind === EnvelopeKind.heartbeat && p.epoch === 1n) beats.push(p.envelope);
    });
    // Keep the leader from hearing them now: they are recorded to be replayed much later.
    f.net.drop = (m) => m.from === 'bob';
    for (const env of sync) stuck.session.receive(env);
    f.run(3_000);
    off();
    stuck.session.destroy();
    f.net.drop = () => false;
    expect(beats.length).toBeGreaterThan(0);
    expect(decodeEnvelope(beats[0]!).epoch).toBe(1n);
    expect(freshFor).toEqual([]);
    // Much later someone replays them, again and again: the first replay is taken for a stuck
    // committer (two commits: remove, re-add); the others cost nothing.
    const before = alice.session.epoch;
    const port = f.net.port('mallory');
    f.run(ELECTION_MS);
    const epochs: bigint[] = [];
    for (let i = 0; i < 5; i++) {
      for (const b of beats) void port.publish(alice.session.channel, b);
      f.run(2_000);
      epochs.push(alice.session.epoch - before);
    }
    expect(freshFor).toEqual(['bob']);
    expect(epochs).toEqual([2n, 2n, 2n, 2n, 2n]);
    expect(commitsAfter(alice, before)).toBe(2);
    expect(alice.session.group.members()).toHaveLength(3);
  });
  it('a member re-added once and stuck again at a later epoch is re-added again', () => {
    const { f, freshFor } = group();
    const alice = f.members[0]!;
    const { bob, sync } = bobRestartsBehindHisCommit(f);
    for (const env of sync) bob.session.receive(env);
    f.run(ELECTION_MS + 3_000);
    expect(freshFor).toEqual(['bob']);
    const first = alice.seen.welcome!.at(-1)!;
    bob.session.destroy();
    const nb = f.attach('bob', bob.client, bob.keys, first.welcome);
    f.members.splice(1, 1); // the re-added bob (attached last) stands in for the old one
    f.members.splice(1, 0, f.members.pop()!);
    expect(nb.session.epoch).toBe(4n);
    f.run(2_000);
    // Bob commits again and crashes again behind his commit, now at epoch 4.
    let snapshot: Map<string, Uint8Array> | undefined;
    const off = nb.session.on('published', (p) => {
      if (p.kind === EnvelopeKind.commit && snapshot === undefined) {
        snapshot = new Map(encodeGroupState(nb.session.group.state));
      }
    });
    nb.session.update();
    f.run(1_000);
    off();
    expect(alice.session.epoch).toBe(5n);
    const again = [...nb.published, ...alice.published]
      .filter((p) => p.epoch === 4n && p.kind !== EnvelopeKind.heartbeat)
      .map((p) => p.envelope);
    nb.session.destroy();
    const session = new GroupSession({
      group: new Group(decodeGroupState(snapshot!, { suite: f.suite })),
      ports: { clock: f.clock, channels: f.net.port('bob') },
      timing: { electionTimeoutMs: ELECTION_MS },
    });
    const seen = record(session);
    session.start();
    for (const env of again) session.receive(env);
    expect(seen.rejoinNeeded?.map((e) => e.forkEpoch)).toEqual([4n]);
    f.run(ELECTION_MS + 3_000);
    // Re-added a second time: a removal and an add past epoch 5.
    expect(freshFor).toEqual(['bob', 'bob']);
    expect(alice.session.epoch).toBe(7n);
    const second = alice.seen.welcome!.at(-1)!;
    expect(second).not.toBe(first);
    session.destroy();
    const nb2 = f.attach('bob (twice)', bob.client, bob.keys, second.welcome);
    alice.session.send(text('twice back'));
    f.run(500);
    expect(nb2.seen.message?.map((m) => untext(m.data))).toEqual(['twice back']);
  });
});
