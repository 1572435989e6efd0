import { describe, expect, it } from 'vitest';
import { wins } from '../../src-core/delivery/forks.js';
import { toHex } from '../support/shared.js';
import { groupOf, text, untext } from './support/groupFixture.js';
import type { Fixture, Member } from './support/groupFixture.js';

function named(f: Fixture, name: string): Member {
  return f.members.find((m) => m.name === name)!;
}

function names(m: Member): string[] {
  return m.session.group
    .members()
    .map((x) => ('identity' in x.credential ? untext(x.credential.identity) : '?'))
    .sort();
}

describe('forks', () => {
  it('the branch rule: more members, then higher term, then lower commit hash', () => {
    const h = (b: number) => Uint8Array.of(b);
    expect(
      wins(
        { membersAfter: 4, term: 0n, commitHash: h(9) },
        { membersAfter: 3, term: 5n, commitHash: h(1) },
      ),
    ).toBe(true);
    expect(
      wins(
        { membersAfter: 3, term: 2n, commitHash: h(9) },
        { membersAfter: 3, term: 1n, commitHash: h(1) },
      ),
    ).toBe(true);
    expect(
      wins(
        { membersAfter: 3, term: 1n, commitHash: h(1) },
        { membersAfter: 3, term: 1n, commitHash: h(2) },
      ),
    ).toBe(true);
    expect(
      wins(
        { membersAfter: 3, term: 1n, commitHash: h(2) },
        { membersAfter: 3, term: 1n, commitHash: h(1) },
      ),
    ).toBe(false);
  });

  it("a 2/2 partition with commits on both sides heals to one branch; the losing side's removal is kept", () => {
    const f = groupOf(['alice', 'bob', 'carol', 'dave']);
    f.run(1_500);
    const [alice, bob, carol, dave] = ['alice', 'bob', 'carol', 'dave'].map((n) => named(f, n));
    f.net.partition(['alice', 'bob'], ['carol', 'dave']);
    // Alice's side keeps alice as leader (term 0) and removes dave: 3 members on that branch.
    alice!.session.remove([3]);
    f.run(1_000);
    expect(alice!.session.epoch).toBe(2n);
    expect(bob!.session.epoch).toBe(2n);
    bob!.session.send(text('sent on the losing branch'));
    f.run(100);
    expect(alice!.seen.message?.map((m) => untext(m.data))).toEqual(['sent on the losing branch']);
    // Carol's side elects carol (term 1) after the timeout and updates: 4 members on that branch.
    f.run(6_000);
    expect(carol!.session.term).toBe(1n);
    expect(carol!.session.isLeader).toBe(true);
    dave!.session.update();
    f.run(1_000);
    expect(carol!.session.epoch).toBe(2n);
    expect(dave!.session.epoch).toBe(2n);
    expect(toHex(carol!.session.group.epochAuthenticator())).not.toBe(
      toHex(alice!.session.group.epochAuthenticator()),
    );

    f.net.heal();
    f.run(10_000);
    // Carol's branch won (4 members after its commit against 3); alice and bob rolled back.
    expect(
      alice!.seen.fork?.map((x) => [x.forkEpoch, x.won, x.reproposedRemovals, x.resent]),
    ).toEqual([[1n, false, 1, 0]]);
    expect(
      bob!.seen.fork?.map((x) => [x.forkEpoch, x.won, x.reproposedRemovals, x.resent]),
    ).toEqual([[1n, false, 1, 1]]);
    expect((carol!.seen.fork ?? []).every((x) => x.won)).toBe(true);
    expect(dave!.seen.removed).toHaveLength(1);
    for (const m of [alice!, bob!, carol!]) {
      expect(m.session.epoch, m.name).toBe(3n);
      expect(names(m), m.name).toEqual(['alice', 'bob', 'carol']);
      expect(toHex(m.session.group.epochAuthenticator()), m.name).toBe(
        toHex(carol!.session.group.epochAuthenticator()),
      );
      expect(m.session.term, m.name).toBe(1n);
    }
    // Bob's message from the losing branch reached carol on the winning one (sent again after the
    // removal was made again, so dave never got a copy he could read).
    expect(carol!.seen.message?.map((m) => untext(m.data))).toEqual(['sent on the losing branch']);
    expect(dave!.seen.message ?? []).toEqual([]);
    // Dave cannot read what is sent now.
    const before = dave!.seen.message?.length ?? 0;
    alice!.session.send(text('after the heal'));
    f.run(100);
    expect(dave!.seen.message?.length ?? 0).toBe(before);
    expect(carol!.seen.message?.map((m) => untext(m.data))).toEqual([
      'sent on the losing branch',
      'after the heal',
    ]);
    const last = alice!.published.at(-1)!.envelope;
    expect(dave!.session.group.isActive).toBe(false);
    expect(() => dave!.session.group.process(last)).toThrow();
  });
});
