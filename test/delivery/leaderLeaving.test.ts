import { describe, expect, it } from 'vitest';
import { GroupSession } from '../../src-core/delivery/groupSession.js';
import { groupOf, record, text, untext } from './support/groupFixture.js';

describe('GroupSession: a leader whose removal is proposed', () => {
  it('stops leading even after a restart that forgot it asked to leave (sim seed 2947)', () => {
    const f = groupOf(['alice', 'bob', 'carol']);
    f.run(1_500);
    const [alice, bob, carol] = f.members;
    expect(alice!.session.isLeader).toBe(true);
    // Alice asks to leave; her proposal reaches everyone. Then she restarts from the same state:
    // the new session does not know she asked, but MLS keeps the proposal cached.
    alice!.session.leave();
    f.run(50);
    alice!.session.stop();
    const restarted = new GroupSession({
      group: alice!.session.group,
      ports: { clock: f.clock, channels: f.net.port('alice') },
    });
    const seen = record(restarted);
    restarted.start();
    expect(restarted.isLeader).toBe(false);
    // Bob's message waits for the proposal to be committed (RFC 9420 §12.4), then goes out.
    bob!.session.send(text('once alice is gone'));
    f.run(15_000);
    expect(seen.removed).toHaveLength(1);
    for (const m of [bob!, carol!]) expect(m.session.group.members()).toHaveLength(2);
    expect((carol!.seen.message ?? []).map((e) => untext(e.data))).toEqual(['once alice is gone']);
  });
});

describe('GroupSession: a restart resumes the persisted election', () => {
  it('claims the term after the one it knew, never one another leader already used', () => {
    const f = groupOf(['alice', 'bob', 'carol']);
    f.run(1_500);
    const [alice, bob, carol] = f.members;
    alice!.session.stop(); // the leader goes away: bob claims term 1
    f.run(8_000);
    expect([bob!.session.term, bob!.session.isLeader]).toEqual([1n, true]);
    const known = { term: carol!.session.term, leader: carol!.session.leader };
    expect(known).toEqual({ term: 1n, leader: bob!.session.group.ownLeaf });
    carol!.session.stop();
    bob!.session.stop(); // carol restarts alone with what she persisted, and must take over
    const restarted = new GroupSession({
      group: carol!.session.group,
      ports: { clock: f.clock, channels: f.net.port('carol') },
      election: known,
    });
    restarted.start();
    expect(restarted.term).toBe(1n);
    f.run(10_000);
    expect([restarted.term, restarted.isLeader]).toEqual([2n, true]);
  });
});
