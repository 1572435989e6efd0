import { describe, expect, it } from 'vitest';
import { EnvelopeKind, decodeEnvelope } from '../../src-core/delivery/envelope.js';
import { toHex } from '../support/shared.js';
import { groupOf, newClient, text, untext } from './support/groupFixture.js';
import type { Fixture } from './support/groupFixture.js';

function converged(f: Fixture, names?: readonly string[]): void {
  const ms = f.members.filter((m) => names === undefined || names.includes(m.name));
  const first = ms[0]!.session;
  for (const m of ms) {
    expect(m.session.epoch, m.name).toBe(first.epoch);
    expect(toHex(m.session.group.epochAuthenticator()), m.name).toBe(
      toHex(first.group.epochAuthenticator()),
    );
  }
}

describe('GroupSession: commits ordered by the leader', () => {
  it('starts with the lowest leaf leading term 0, on a channel derived from the group id', () => {
    const f = groupOf(['alice', 'bob', 'carol']);
    f.run(2_000);
    for (const m of f.members) {
      expect(m.session.leader).toBe(0);
      expect(m.session.term).toBe(0n);
      expect(m.session.epoch).toBe(1n);
      expect(m.session.channel).toMatch(/^parley\/g\/[a-z2-7]{32}$/);
      expect(m.seen.rejected ?? []).toEqual([]);
    }
    expect(f.members[0]!.session.isLeader).toBe(true);
  });

  it("two members commit in the same epoch: all merge the leader's choice, the loser gets in next", () => {
    const f = groupOf(['alice', 'bob', 'carol']);
    const [, bob, carol] = f.members;
    const dave = newClient(f.suite, 'dave');
    const erin = newClient(f.suite, 'erin');
    // Both commits leave before either is ordered.
    bob!.session.add([dave.client.createKeyPackages({ count: 1 }).oneTime[0]!.message]);
    carol!.session.add([erin.client.createKeyPackages({ count: 1 }).oneTime[0]!.message]);
    f.run(1_000);
    converged(f);
    expect(f.members[0]!.session.epoch).toBe(3n);
    const names = f.members[0]!.session.group.members().map((m) =>
      'identity' in m.credential ? untext(m.credential.identity) : '?',
    );
    expect(names.sort()).toEqual(['alice', 'bob', 'carol', 'dave', 'erin']);
    // Exactly one of the two lost epoch 1 and re-made its add in epoch 2.
    const lost = [bob!, carol!].filter((m) => (m.seen.commitLost ?? []).length > 0);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.seen.commitLost![0]!.epoch).toBe(1n);
    expect(bob!.seen.welcome).toHaveLength(1);
    expect(carol!.seen.welcome).toHaveLength(1);
    // The invitees join from the Welcomes and read the group.
    const d = f.attach('dave', dave.client, dave.keys, bob!.seen.welcome![0]!.welcome);
    const e = f.attach('erin', erin.client, erin.keys, carol!.seen.welcome![0]!.welcome);
    // The one added first missed the later commit: it comes as a sync would bring it (what the
    // others published, fed through `receive`).
    const log = f.members.slice(0, 3).flatMap((m) => m.published);
    for (const m of [d, e]) for (const p of log) m.session.receive(p.envelope);
    converged(f);
    f.members[0]!.session.send(text('welcome both'));
    f.run(100);
    for (const m of [d, e])
      expect(m.seen.message?.map((x) => untext(x.data))).toEqual(['welcome both']);
  });

  it('merges no commit without its ordering record, then merges once the record arrives', () => {
    const f = groupOf(['alice', 'bob', 'carol']);
    const held: Uint8Array[] = [];
    f.net.drop = (m) => {
      if (decodeEnvelope(m.data).kind !== EnvelopeKind.orderingRecord) return false;
      held.push(m.data);
      return true;
    };
    f.members[1]!.session.update();
    f.run(1_000);
    // The leader merged (its own record), bob and carol hold the commit but no record.
    expect(f.members[0]!.session.epoch).toBe(2n);
    expect(f.members[1]!.session.epoch).toBe(1n);
    expect(f.members[2]!.session.epoch).toBe(1n);
    expect(held.length).toBeGreaterThan(0);
    f.net.drop = () => false;
    f.members[2]!.session.receive(held[0]!);
    expect(f.members[2]!.session.epoch).toBe(2n);
    f.run(3_000); // bob retries its commit; the leader answers with its branch
    converged(f);
    expect(f.members[1]!.seen.commitLost ?? []).toEqual([]);
  });

  it("a leaving member's self-remove is committed by the leader", () => {
    const f = groupOf(['alice', 'bob', 'carol']);
    const carol = f.members[2]!;
    carol.session.leave();
    f.run(2_000);
    expect(carol.seen.removed).toHaveLength(1);
    expect(carol.session.isRunning).toBe(false);
    converged(f, ['alice', 'bob']);
    expect(f.members[0]!.session.group.members().map((m) => m.leafIndex)).toEqual([0, 1]);
    expect(f.members[0]!.seen.epoch?.at(-1)?.committer).toBe(0);
    const after = f.members[0]!.session.send(text('after carol left'));
    expect(after).toBeGreaterThan(0);
    f.run(100);
    expect(f.members[1]!.seen.message?.map((x) => untext(x.data))).toEqual(['after carol left']);
    expect(carol.seen.message ?? []).toEqual([]);
  });

  it('a message sent while proposals are pending waits for the commit, then goes out', () => {
    const f = groupOf(['alice', 'bob', 'carol']);
    const [alice, bob, carol] = f.members;
    carol!.session.leave();
    f.run(10); // everyone holds carol's self-remove proposal now
    expect(bob!.session.group.state.proposals.size).toBe(1);
    const id = bob!.session.send(text('after the proposal'));
    expect(id).toBeGreaterThan(0);
    f.run(2_000);
    expect(bob!.session.epoch).toBe(2n);
    expect(alice!.seen.message?.map((m) => untext(m.data))).toEqual(['after the proposal']);
    expect(alice!.seen.message?.[0]?.epoch).toBe(2n);
    expect(carol!.seen.message ?? []).toEqual([]);
    expect(bob!.seen.notDelivered ?? []).toEqual([]);
  });

  it('a held message is not sent to someone who joined meanwhile: the sender is told instead', () => {
    const f = groupOf(['alice', 'bob', 'carol']);
    const [alice, bob, carol] = f.members;
    const erin = newClient(f.suite, 'erin');
    carol!.session.leave();
    f.run(10);
    const id = bob!.session.send(text('before erin'));
    // Alice's add commits carol's self-remove with it (a commit takes the cached proposals).
    alice!.session.add([erin.client.createKeyPackages({ count: 1 }).oneTime[0]!.message]);
    f.run(1_000);
    expect(carol!.seen.removed).toHaveLength(1);
    expect(bob!.seen.notDelivered).toEqual([{ id, reason: 'membership_changed' }]);
    const e = f.attach('erin', erin.client, erin.keys, alice!.seen.welcome![0]!.welcome);
    f.run(100);
    expect(e.seen.message ?? []).toEqual([]);
    expect(alice!.seen.message ?? []).toEqual([]);
  });
});
