import { describe, expect, it } from 'vitest';
import { EnvelopeKind, encodeEnvelope } from '../../src-core/delivery/envelope.js';
import { isDeliveryError } from '../../src-core/delivery/errors.js';
import { GroupInfoServer, fetchGroupInfo } from '../../src-core/delivery/groupInfoService.js';
import { GroupSession } from '../../src-core/delivery/groupSession.js';
import type { GroupSessionOptions } from '../../src-core/delivery/groupSession.js';
import type { Group } from '../../src-core/mls/client/index.js';
import { Group as GroupHandle, groupInfoFor } from '../../src-core/mls/client/index.js';
import { WireFormat } from '../../src-core/mls/framing/framedContent.js';
import { encodeMlsMessage } from '../../src-core/mls/framing/mlsMessage.js';
import { createExternalCommit } from '../../src-core/mls/group/index.js';
import { decodeGroupState, encodeGroupState } from '../../src-core/mls/storage/index.js';
import type { SessionEvents } from '../../src-core/delivery/sessionEvents.js';
import { toHex } from '../support/shared.js';
import { MemoryRequestNet } from './storeForwardFixture.js';
import { groupOf, newClient, record, text, untext } from './support/groupFixture.js';
import type { Fixture, Member } from './support/groupFixture.js';

const ELECTION_MS = 4_000;
const serversOf = new WeakMap<Fixture, MemoryRequestNet>();

function nameOf(group: Group): string {
  const own = group.members().find((m) => m.leafIndex === group.ownLeaf)!;
  return 'identity' in own.credential ? untext(own.credential.identity) : '?';
}

/**
 * A group whose members rejoin by external commit: each serves GroupInfo over an in-memory
 * request network and fetches it from the others (its session's `rejoin` option).
 */
function rejoiningGroup(
  names: readonly string[],
  options: Omit<GroupSessionOptions, 'group' | 'ports'> = {},
): { f: Fixture; requests: MemoryRequestNet; fetched: string[] } {
  const requests = new MemoryRequestNet();
  const fetched: string[] = [];
  const holder: { f?: Fixture } = {};
  const f = groupOf(names, {
    ...options,
    timing: { electionTimeoutMs: ELECTION_MS, ...options.timing },
    rejoin: {
      fetchGroupInfo: async (group) => {
        const self = nameOf(group);
        fetched.push(self);
        const peers = names.filter((n) => n !== self);
        const answers = await fetchGroupInfo(requests.port(`${self}-rq`), peers, group);
        return answers.flatMap((a) => (a.groupInfo === undefined ? [] : [a.groupInfo]));
      },
    },
  });
  holder.f = f;
  for (const m of f.members) watchRejoined(m.session);
  serversOf.set(f, requests);
  for (const name of names) {
    new GroupInfoServer({
      requests: requests.port(name),
      self: name,
      clock: f.clock,
      group: () => {
        const s = holder.f!.members.find((m) => m.name === name)?.session;
        return s === undefined || s.isRejoining ? undefined : s.group;
      },
    });
  }
  return { f, requests, fetched };
}

const named = (f: Fixture, name: string): Member => f.members.find((m) => m.name === name)!;

/** Runs the clock in small steps so that the in-memory requests (promises) settle in between. */
async function runAsync(f: Fixture, ms: number, step = 250): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    f.run(step);
    for (let i = 0; i < 20; i++) await Promise.resolve();
  }
  f.run(0);
}

function converged(members: readonly Member[]): void {
  const [first, ...rest] = members;
  for (const m of rest) {
    expect(m.session.epoch, m.name).toBe(first!.session.epoch);
    expect(toHex(m.session.group.state.groupContext.treeHash), m.name).toBe(
      toHex(first!.session.group.state.groupContext.treeHash),
    );
    expect(toHex(m.session.group.epochAuthenticator()), m.name).toBe(
      toHex(first!.session.group.epochAuthenticator()),
    );
  }
}

const rejoinedLog = new WeakMap<GroupSession, SessionEvents['rejoined'][]>();
function watchRejoined(session: GroupSession): void {
  const log: SessionEvents['rejoined'][] = [];
  rejoinedLog.set(session, log);
  session.on('rejoined', (e) => log.push(e));
}

/** The `rejoined` events of a member's session (recorded since its creation). */
function rejoinedOf(m: Member): SessionEvents['rejoined'][] {
  return rejoinedLog.get(m.session) ?? [];
}

const texts = (m: Member): string[] => (m.seen.message ?? []).map((e) => untext(e.data));

describe('rejoin by external commit', () => {
  it('a pair stuck past the fork window on a branch that lost rejoins the winner, converges, and its messages arrive', async () => {
    // forks.test's "fork older than the window": 2/2 partition, alice/bob commit twice, carol/dave
    // once under a newer term. Carol/dave keep a fork point of epoch 1 and judge the fork there:
    // theirs wins (equal reach and members, newer term). Alice/bob are past their window.
    const { f, fetched } = rejoiningGroup(['alice', 'bob', 'carol', 'dave'], { forkWindow: 1 });
    await runAsync(f, 1_500);
    const [alice, bob, carol, dave] = ['alice', 'bob', 'carol', 'dave'].map((n) => named(f, n));
    f.net.partition(['alice', 'bob'], ['carol', 'dave']);
    alice!.session.update();
    await runAsync(f, 500);
    bob!.session.update();
    await runAsync(f, 500);
    expect(alice!.session.epoch).toBe(3n);
    await runAsync(f, 6_000);
    dave!.session.update();
    await runAsync(f, 1_000);
    expect(carol!.session.epoch).toBe(2n);
    const lost = bob!.session.send(text('sent on the branch that lost'));
    f.net.heal();
    await runAsync(f, 5_000);
    for (const m of [alice!, bob!]) {
      expect(
        m.seen.rejoinNeeded?.map((r) => r.forkEpoch),
        m.name,
      ).toEqual([1n]);
    }
    // Then, an election timeout later, each fetches GroupInfos, rejoins carol/dave's branch by
    // an external commit the leader orders, and continues there.
    await runAsync(f, 3 * ELECTION_MS);
    expect(fetched).toContain('alice');
    expect(fetched).toContain('bob');
    converged([alice!, bob!, carol!, dave!]);
    expect(carol!.session.group.members()).toHaveLength(4);
    for (const m of [alice!, bob!]) expect(m.session.isRejoining, m.name).toBe(false);
    for (const m of [alice!, bob!]) {
      expect(
        rejoinedOf(m).map((e) => e.stuckAt),
        m.name,
      ).toEqual([1n]);
    }
    // Carol and dave saw two resyncs: no member removed, none added.
    for (const e of carol!.seen.membership ?? []) {
      if (e.epoch > 2n) expect([e.added.length, e.removed.length]).toEqual([0, 0]);
    }
    // Bob's message of the lost branch was sent again on the winning one (same roster: nobody
    // joined since, so nothing is withheld) and read there.
    expect((bob!.seen.notDelivered ?? []).map((n) => n.id)).not.toContain(lost);
    for (const m of [alice!, carol!, dave!]) {
      expect(texts(m), m.name).toContain('sent on the branch that lost');
    }
    // Two resyncs (alice's and bob's), nothing else.
    expect(carol!.session.epoch).toBe(4n);
    // Everyone reads everyone.
    for (const m of [alice!, bob!, carol!, dave!]) m.session.send(text(`after, from ${m.name}`));
    await runAsync(f, 1_000);
    for (const m of [alice!, bob!, carol!, dave!]) {
      for (const other of [alice!, bob!, carol!, dave!]) {
        if (other !== m) expect(texts(m), m.name).toContain(`after, from ${other.name}`);
      }
    }
    // Nothing refused along the way but the other branch's traffic (MLS or fork evidence).
    const codes = new Set(
      [alice!, bob!, carol!, dave!].flatMap((m) =>
        (m.seen.rejected ?? []).map((r) => r.error.code),
      ),
    );
    expect(codes.has('external_commit_refused')).toBe(false);
    expect(codes.has('internal')).toBe(false);
  });

  it('a member stuck behind its own ordered commit after a restart rejoins by external commit, without a re-add', async () => {
    const { f, fetched } = rejoiningGroup(['alice', 'bob', 'carol']);
    await runAsync(f, 1_500);
    const bob = f.members[1]!;
    let snapshot: Map<string, Uint8Array> | undefined;
    const off = bob.session.on('published', (p) => {
      if (p.kind === EnvelopeKind.commit && snapshot === undefined) {
        snapshot = new Map(encodeGroupState(bob.session.group.state));
      }
    });
    bob.session.update();
    await runAsync(f, 1_000);
    off();
    expect(f.members[0]!.session.epoch).toBe(2n);
    const sync = [...bob.published, ...f.members[0]!.published]
      .filter((p) => p.epoch === 1n && p.kind !== EnvelopeKind.heartbeat)
      .map((p) => p.envelope);
    bob.session.destroy();
    // Bob restarts from the state saved as his commit went out (its key spent).
    const restarted = restartWithRejoin(f, 'bob', snapshot!, fetched);
    const stuckAt = restarted.session.send(text('written while stuck'));
    for (const env of sync) restarted.session.receive(env);
    expect(restarted.session.epoch).toBe(1n);
    expect(restarted.seen.rejoinNeeded?.map((e) => e.forkEpoch)).toEqual([1n]);
    await runAsync(f, 3 * ELECTION_MS);
    expect(fetched).toContain('bob (restarted)');
    expect(rejoinedOf(restarted)).toEqual([{ epoch: 3n, stuckAt: 1n }]);
    converged(f.members);
    expect(f.members[0]!.session.epoch).toBe(3n); // one commit: the resync (no remove + re-add)
    expect(f.members[0]!.seen.welcome ?? []).toEqual([]);
    // Bob's message written while stuck reaches the others (sent again after the rejoin).
    const reported = (restarted.seen.notDelivered ?? []).some((n) => n.id === stuckAt);
    expect(reported).toBe(false);
    for (const m of [f.members[0]!, f.members[2]!]) {
      expect(texts(m)).toContain('written while stuck');
    }
    f.members[0]!.session.send(text('welcome back'));
    await runAsync(f, 500);
    expect(texts(restarted)).toContain('welcome back');
  });

  it("a stranger's external commit removing a member is refused by every member with a typed error", async () => {
    const { f } = rejoiningGroup(['alice', 'bob', 'carol']);
    await runAsync(f, 1_500);
    const [alice, bob, carol] = f.members as [Member, Member, Member];
    const epoch = alice.session.epoch;
    // Mallory got hold of a GroupInfo (e.g. leaked) and tries to take bob's place.
    const gi = groupInfoFor(alice.session.group);
    const mallory = newClient(f.suite, 'bob'); // even claiming bob's name
    const bobLeaf = bob.session.group.ownLeaf;
    const asBob = createExternalCommit({
      groupInfo: gi,
      credential: { credentialType: 1, identity: text('bob') },
      signatureKeyPair: mallory.keys,
      resync: bobLeaf,
    });
    // ... or just to join, removing nobody.
    const join = createExternalCommit({
      groupInfo: gi,
      credential: { credentialType: 1, identity: text('mallory') },
      signatureKeyPair: mallory.keys,
    });
    // ... or a member (carol, a new key of hers) removing someone else (bob) by a "resync".
    const byCarol = createExternalCommit({
      groupInfo: gi,
      credential: carol.session.group.state.ownLeafNode.credential,
      signatureKeyPair: f.suite.generateSignatureKeyPair(),
      resync: bobLeaf,
    });
    const port = f.net.port('mallory');
    for (const c of [asBob, join, byCarol]) {
      expect(c.commit.wireFormat).toBe(WireFormat.publicMessage);
      const envelope = encodeEnvelope({
        groupId: alice.session.group.groupId,
        epoch,
        kind: EnvelopeKind.commit,
        mlsMessage: encodeMlsMessage(c.commit),
      });
      void port.publish(alice.session.channel, envelope);
    }
    await runAsync(f, 3_000);
    for (const m of [alice, bob, carol]) {
      expect(m.session.epoch, m.name).toBe(epoch);
      const refused = (m.seen.rejected ?? []).filter((r) =>
        isDeliveryError(r.error, 'external_commit_refused'),
      );
      expect(refused.length, m.name).toBe(3);
    }
    expect(alice.session.group.members()).toHaveLength(3);
    // The group still works.
    bob.session.send(text('still here'));
    await runAsync(f, 500);
    expect(texts(alice)).toContain('still here');
    expect(texts(carol)).toContain('still here');
  });
});

/** Bob's session restarted from `snapshot`, rejoining with the fixture's GroupInfo servers. */
function restartWithRejoin(
  f: Fixture,
  name: string,
  snapshot: Map<string, Uint8Array>,
  fetched: string[],
): Member {
  const i = f.members.findIndex((m) => m.name === name);
  const old = f.members[i]!;
  const requests = serversOf.get(f)!;
  const session = new GroupSession({
    group: new GroupHandle(decodeGroupState(snapshot, { suite: f.suite })),
    ports: { clock: f.clock, channels: f.net.port(name) },
    timing: { electionTimeoutMs: ELECTION_MS },
    rejoin: {
      fetchGroupInfo: async (group) => {
        fetched.push(`${name} (restarted)`);
        const peers = f.members.map((m) => m.name).filter((n) => n !== name);
        const answers = await fetchGroupInfo(requests.port(`${name}-rq2`), peers, group);
        return answers.flatMap((a) => (a.groupInfo === undefined ? [] : [a.groupInfo]));
      },
    },
  });
  watchRejoined(session);
  const m: Member = { ...old, session, seen: record(session), published: [] };
  f.members[i] = m;
  session.start();
  return m;
}
