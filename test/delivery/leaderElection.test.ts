import { describe, expect, it } from 'vitest';
import { encode } from '../../src-core/codec/index.js';
import { EnvelopeKind, encodeEnvelope } from '../../src-core/delivery/envelope.js';
import {
  HEARTBEAT_LABEL,
  branchHead,
  heartbeatTBSCodec,
} from '../../src-core/delivery/heartbeat.js';
import { LeaderElection } from '../../src-core/delivery/leaderElection.js';
import { toHex } from '../support/shared.js';
import { groupOf, text, untext } from './support/groupFixture.js';

const timing = { heartbeatMs: 1_000, electionTimeoutMs: 4_000, staggerMs: 1_000 };

describe('leader election', () => {
  it('terms: higher term wins, lower leaf breaks a tie, older terms are stale', () => {
    const e = new LeaderElection(timing, 2, [0, 1, 2, 3], 0);
    expect([e.term, e.leader, e.isLeader]).toEqual([0n, 0, false]);
    expect(e.observe(0n, 0, 10)).toBe('current');
    expect(e.observe(0n, 1, 10)).toBe('not_leader');
    expect(e.observe(1n, 3, 20)).toBe('adopted');
    expect(e.observe(1n, 1, 20)).toBe('adopted'); // same term, lower leaf
    expect(e.observe(1n, 3, 20)).toBe('not_leader');
    expect(e.observe(0n, 0, 30)).toBe('stale');
    expect([e.term, e.leader]).toEqual([1n, 1]);
  });

  it('claims are staggered by rank among the non-leaders, lowest leaf first', () => {
    const deadlines = [1, 2, 3].map((self) =>
      new LeaderElection(timing, self, [0, 1, 2, 3], 0).claimDeadline([0, 1, 2, 3]),
    );
    expect(deadlines).toEqual([4_000, 5_000, 6_000]);
    expect(new LeaderElection(timing, 0, [0, 1], 0).claimDeadline([0, 1])).toBeUndefined();
  });

  it('a removed leader is replaced at once by the lowest remaining leaf, next term', () => {
    const e = new LeaderElection(timing, 2, [0, 1, 2], 0);
    expect(e.membersChanged([0, 1, 2], 5)).toBe(false);
    expect(e.membersChanged([1, 2], 5)).toBe(true);
    expect([e.term, e.leader]).toEqual([1n, 1]);
  });

  it('a silent leader is replaced after the timeout with a higher term; the group goes on', () => {
    const f = groupOf(['alice', 'bob', 'carol', 'dave']);
    f.run(2_000);
    const [alice, bob, carol, dave] = f.members;
    // Alice crashes: no more heartbeats, no answers.
    alice!.session.stop();
    f.run(4_500);
    // Bob (the lowest remaining leaf) claimed term 1 before carol's and dave's time came.
    for (const m of [bob!, carol!, dave!]) {
      expect(m.session.term, m.name).toBe(1n);
      expect(m.session.leader, m.name).toBe(1);
    }
    expect(bob!.session.isLeader).toBe(true);
    expect(carol!.seen.leader?.map((l) => [l.term, l.leader])).toEqual([[1n, 1]]);
    // Commits are ordered by the new leader.
    carol!.session.update();
    f.run(500);
    for (const m of [bob!, carol!, dave!]) expect(m.session.epoch, m.name).toBe(2n);
    expect(carol!.seen.epoch?.[0]?.term).toBe(1n);
    dave!.session.send(text('still here'));
    f.run(100);
    expect(carol!.seen.message?.map((m) => untext(m.data))).toEqual(['still here']);
    // Alice comes back believing she still leads term 0: her (validly signed) heartbeat for the
    // current epoch and branch is refused as stale.
    const tbs = {
      groupId: carol!.session.group.groupId,
      epoch: 2n,
      term: 0n,
      leaderLeaf: 0,
      head: branchHead(carol!.session.group.state),
      sentAt: 0n,
    };
    const signature = f.suite.signWithLabel(
      alice!.keys.privateKey,
      HEARTBEAT_LABEL,
      encode(heartbeatTBSCodec, tbs),
    );
    carol!.session.receive(
      encodeEnvelope({
        groupId: tbs.groupId,
        epoch: 2n,
        kind: EnvelopeKind.heartbeat,
        heartbeat: { ...tbs, signature },
      }),
    );
    expect(carol!.session.term).toBe(1n);
    expect(carol!.session.leader).toBe(1);
    expect(carol!.seen.rejected?.map((r) => r.error.code)).toEqual(['stale_term']);
  });

  it('a member that is behind may claim (to be sent the branch) but orders nothing at its old epoch', () => {
    const f = groupOf(['alice', 'bob', 'carol', 'dave']);
    f.run(1_500);
    const [alice, bob, carol, dave] = f.members;
    // Carol and dave miss bob's update; then alice (the leader) crashes.
    f.net.partition(['alice', 'bob'], ['carol', 'dave']);
    bob!.session.update();
    f.run(500);
    alice!.session.stop();
    f.net.heal();
    // Dave wants a change at the old epoch; bob leads term 1 at epoch 2, carol claims at epoch 1.
    dave!.session.update();
    f.run(12_000);
    expect(carol!.seen.behind?.length ?? 0).toBeGreaterThan(0);
    for (const m of [bob!, carol!, dave!]) {
      expect(m.seen.fork ?? [], m.name).toEqual([]);
      expect(m.session.epoch, m.name).toBe(3n);
      expect(toHex(m.session.group.epochAuthenticator()), m.name).toBe(
        toHex(bob!.session.group.epochAuthenticator()),
      );
    }
    // No record was ever signed for epoch 1 other than the one alice gave bob's update.
    const epoch1Records = f.members
      .flatMap((m) => m.published)
      .filter((p) => p.kind === EnvelopeKind.orderingRecord && p.epoch === 1n)
      .map((p) => toHex(p.envelope.slice(-64)));
    expect(new Set(epoch1Records).size).toBe(1);
    expect(dave!.seen.commitLost?.map((c) => c.epoch)).toEqual([1n]);
  });
});
