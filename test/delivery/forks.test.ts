import { describe, expect, it } from 'vitest';
import { cipherSuite } from '../../src-core/crypto/index.js';
import { wins } from '../../src-core/delivery/forks.js';
import { toHex } from '../support/shared.js';
import { groupOf, newClient, text, untext } from './support/groupFixture.js';
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
  it('the branch rule: greater reach, then more members, then higher term, then lower hash', () => {
    const h = (b: number) => Uint8Array.of(b);
    const tip = (reach: number, membersAfter: number, term: bigint, hash: number) => ({
      reach,
      membersAfter,
      term,
      commitHash: h(hash),
    });
    // The side whose leader reached more members wins, whatever its size after or its term.
    expect(wins(tip(5, 7, 0n, 9), tip(3, 8, 4n, 1))).toBe(true);
    expect(wins(tip(3, 8, 4n, 1), tip(5, 7, 0n, 9))).toBe(false);
    expect(wins(tip(2, 4, 0n, 9), tip(2, 3, 5n, 1))).toBe(true);
    expect(wins(tip(2, 3, 2n, 9), tip(2, 3, 1n, 1))).toBe(true);
    expect(wins(tip(2, 3, 1n, 1), tip(2, 3, 1n, 2))).toBe(true);
    expect(wins(tip(2, 3, 1n, 2), tip(2, 3, 1n, 1))).toBe(false);
  });

  it('a 3/2 partition: the larger side wins although the smaller one elected a newer term', () => {
    const all = ['alice', 'bob', 'carol', 'dave', 'erin'];
    const f = groupOf(all);
    f.run(1_500);
    const [alice, bob, carol, dave, erin] = all.map((n) => named(f, n));
    f.net.partition(['alice', 'bob', 'carol'], ['dave', 'erin']);
    // Alice keeps leading the larger side (term 0); bob updates there.
    bob!.session.update();
    f.run(1_000);
    expect(alice!.session.epoch).toBe(2n);
    // The smaller side elects dave (term 1) and erin updates: as many members after, newer term.
    f.run(6_000);
    expect(dave!.session.term).toBe(1n);
    erin!.session.update();
    f.run(1_000);
    expect(dave!.session.epoch).toBe(2n);
    f.net.heal();
    f.run(10_000);
    for (const m of [alice!, bob!, carol!]) {
      expect(
        m.seen.fork?.every((x) => x.won),
        m.name,
      ).toBe(true);
    }
    for (const m of [dave!, erin!]) {
      expect(
        m.seen.fork?.map((x) => [x.forkEpoch, x.won]),
        m.name,
      ).toEqual([[1n, false]]);
    }
    const auth = toHex(alice!.session.group.epochAuthenticator());
    for (const m of f.members) {
      expect(names(m), m.name).toEqual(all);
      expect(toHex(m.session.group.epochAuthenticator()), m.name).toBe(auth);
    }
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
    // Alice read it on the losing branch: the copy sent again has the same id and is dropped.
    expect(alice!.seen.message?.map((m) => untext(m.data))).toEqual(['sent on the losing branch']);
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

  it('adds made on the losing branch are made again on the winning one, with a fresh KeyPackage', () => {
    const erin = newClient(cipherSuite(1), 'erin');
    const f = groupOf(['alice', 'bob', 'carol', 'dave'], {
      freshKeyPackage: (m) =>
        'identity' in m.credential && untext(m.credential.identity) === 'erin'
          ? erin.client.createKeyPackages({ count: 1 }).oneTime[0]!.message
          : undefined,
    });
    const frank = newClient(f.suite, 'frank');
    const gina = newClient(f.suite, 'gina');
    f.run(1_500);
    const [alice, bob, carol, dave] = ['alice', 'bob', 'carol', 'dave'].map((n) => named(f, n));
    f.net.partition(['alice', 'bob'], ['carol', 'dave']);
    alice!.session.add([erin.client.createKeyPackages({ count: 1 }).oneTime[0]!.message]);
    f.run(1_000);
    expect(names(alice!)).toEqual(['alice', 'bob', 'carol', 'dave', 'erin']);
    f.run(6_000); // carol takes over her side
    carol!.session.add([
      frank.client.createKeyPackages({ count: 1 }).oneTime[0]!.message,
      gina.client.createKeyPackages({ count: 1 }).oneTime[0]!.message,
    ]);
    f.run(1_000);
    expect(names(dave!)).toEqual(['alice', 'bob', 'carol', 'dave', 'frank', 'gina']);
    f.net.heal();
    f.run(10_000);
    // Six members beat five: alice's side lost, and erin is added again on carol's branch.
    expect(alice!.seen.fork?.map((x) => [x.won, x.reproposedRemovals, x.reproposedAdds])).toEqual([
      [false, 0, 1],
    ]);
    for (const m of [alice!, bob!, carol!, dave!]) {
      expect(names(m), m.name).toEqual(['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'gina']);
      expect(toHex(m.session.group.epochAuthenticator()), m.name).toBe(
        toHex(carol!.session.group.epochAuthenticator()),
      );
    }
    // The Welcome of the winning branch's re-add opens with erin's fresh KeyPackage.
    const welcomes = [alice!, bob!].flatMap((m) => m.seen.welcome ?? []);
    const last = welcomes.at(-1)!;
    expect(
      last.added.map((m) => ('identity' in m.credential ? untext(m.credential.identity) : '?')),
    ).toEqual(['erin']);
    const e = f.attach('erin', erin.client, erin.keys, last.welcome);
    expect(e.session.epoch).toBe(carol!.session.epoch);
  });

  it('a fork older than the window is reported as needing a rejoin', () => {
    const f = groupOf(['alice', 'bob', 'carol', 'dave'], { forkWindow: 1 });
    f.run(1_500);
    const [alice, bob, carol, dave] = ['alice', 'bob', 'carol', 'dave'].map((n) => named(f, n));
    f.net.partition(['alice', 'bob'], ['carol', 'dave']);
    alice!.session.update();
    f.run(500);
    bob!.session.update();
    f.run(500);
    expect(alice!.session.epoch).toBe(3n);
    f.run(6_000);
    dave!.session.update();
    f.run(1_000);
    expect(carol!.session.epoch).toBe(2n);
    const sent = bob!.session.send(text('on a branch that may be lost'));
    f.net.heal();
    f.run(5_000);
    // Alice's side keeps one fork point (epoch 2): carol's epoch-1 record is older than that.
    for (const m of [alice!, bob!]) {
      expect(
        m.seen.rejoinNeeded?.map((r) => [r.forkEpoch, r.error.code]),
        m.name,
      ).toEqual([[1n, 'rejoin_needed']]);
    }
    expect(bob!.seen.rejoinNeeded![0]!.unsettled).toContain(sent);
    expect(alice!.session.epoch).toBe(3n); // nothing was rolled back on unverifiable evidence
  });
});
