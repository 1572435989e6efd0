import { afterEach, describe, expect, it } from 'vitest';
import type { ParleyApp } from '../../src-core/app/parleyApp.js';
import { GroupHub } from '../../src-core/app/groups/groupHub.js';
import { rulesExtension, rulesOf } from '../../src-core/app/groups/groupRules.js';
import { groupChannel } from '../../src-core/delivery/channel.js';
import { EnvelopeKind } from '../../src-core/delivery/envelope.js';
import type { DeliveryError } from '../../src-core/delivery/errors.js';
import { mlsEnvelope } from '../../src-core/delivery/outbox.js';
import { Group } from '../../src-core/mls/client/index.js';
import { MlsError } from '../../src-core/mls/errors.js';
import { decodeGroupState, encodeGroupState } from '../../src-core/mls/storage/index.js';
import { befriend, cleanup, collect, appErrorCode, newUser, waitFor } from './appFixture.js';

afterEach(cleanup);

async function roleAt(app: ParleyApp, groupId: string, userId: string): Promise<string> {
  const m = (await app.groups.members({ groupId })).find((x) => x.userId === userId);
  return m?.role ?? 'none';
}

/** Alice (admin) made a group with Bob and Carol; everyone joined. */
async function team() {
  const [alice, bob, carol] = await Promise.all(['Alice', 'Bob', 'Carol'].map((n) => newUser(n)));
  await befriend(alice!.app, bob!.app);
  await befriend(alice!.app, carol!.app);
  await befriend(bob!.app, carol!.app);
  const [aId, bId, cId] = await Promise.all(
    [alice!, bob!, carol!].map(async (u) => (await u.app.identity.me()).userId),
  );
  const g = await alice!.app.groups.create({ name: 'Team', members: [bId!, cId!] });
  for (const u of [bob!, carol!]) {
    await waitFor(async () => (await u.app.groups.list()).length === 1, 'joined');
  }
  return {
    apps: [alice!.app, bob!.app, carol!.app] as const,
    ids: [aId!, bId!, cId!] as const,
    gid: g.groupId,
  };
}

describe('app: roles changed after creation (GroupContextExtensions commits)', () => {
  it('admins promote and demote; every member sees it; members may not; the last admin stays', async () => {
    const { apps, ids, gid } = await team();
    const [alice, bob, carol] = apps;
    const [aId, bId, cId] = ids;
    const events = apps.map((a) => collect(a, 'group.rules_changed'));
    const logs = apps.map((a) => collect(a, 'group.member_changed'));

    // A member may not change roles (checked before anything is sent).
    expect(
      await appErrorCode(carol.groups.setRole({ groupId: gid, userId: cId, role: 'admin' })),
    ).toBe('forbidden');
    expect(
      await appErrorCode(
        bob.groups.setRole({ groupId: gid, userId: 'ab'.repeat(32), role: 'admin' }),
      ),
    ).toBe('not_found');

    const promoted = await alice.groups.setRole({ groupId: gid, userId: bId, role: 'admin' });
    expect(promoted).toMatchObject({ userId: bId, role: 'admin' });
    for (const app of apps) {
      await waitFor(
        async () => (await roleAt(app, gid, bId)) === 'admin',
        'bob is admin everywhere',
      );
    }
    for (const [i, ev] of events.entries()) {
      await waitFor(() => ev.length === 1, `rules event at ${i}`);
      expect(ev[0]).toMatchObject({ groupId: gid, byUserId: aId });
      expect([...ev[0]!.admins].sort()).toEqual([aId, bId].sort());
      await waitFor(
        () =>
          logs[i]!.some((l) => l.entry.change === 'role_changed' && l.entry.subjectUserId === bId),
        'role_changed logged',
      );
      const entry = logs[i]!.find((l) => l.entry.change === 'role_changed')!.entry;
      expect(entry).toMatchObject({ actorUserId: aId, detail: 'admin', subjectName: 'Bob' });
    }
    expect((await bob.groups.list())[0]!.myRole).toBe('admin');
    const page = await carol.groups.membershipLog({ groupId: gid });
    expect(page.entries.some((x) => x.change === 'role_changed' && x.subjectUserId === bId)).toBe(
      true,
    );

    // Bob, now an admin, demotes Alice; then Bob is the last admin and cannot step down.
    await bob.groups.setRole({ groupId: gid, userId: aId, role: 'member' });
    for (const app of apps) {
      await waitFor(async () => (await roleAt(app, gid, aId)) === 'member', 'alice demoted');
    }
    expect(
      await appErrorCode(bob.groups.setRole({ groupId: gid, userId: bId, role: 'member' })),
    ).toBe('conflict');
    // Alice is a member now: her calls are refused, and the group says so at every member.
    expect(
      await appErrorCode(alice.groups.setRole({ groupId: gid, userId: aId, role: 'admin' })),
    ).toBe('forbidden');
    for (const app of apps) {
      expect(await roleAt(app, gid, bId)).toBe('admin');
      const policyRules = rulesOf(
        GroupHub.of(app.context).get(gid).group!.state.groupContext.extensions,
      );
      expect(policyRules?.admins).toEqual([bId]);
    }

    // Bob, the last admin, leaves: the remaining member with the lowest leaf (Alice) is made
    // admin first, so the group keeps one.
    await bob.groups.leave({ groupId: gid });
    for (const app of [alice, carol]) {
      await waitFor(async () => (await roleAt(app, gid, aId)) === 'admin', 'alice admin again');
      await waitFor(
        async () => (await app.groups.members({ groupId: gid })).length === 2,
        'bob gone',
      );
    }
    expect((await bob.groups.list())[0]!.state).toBe('left');
  });

  it("a non-admin's GroupContextExtensions commit is refused by every other member", async () => {
    const { apps, ids, gid } = await team();
    const [alice, bob, carol] = apps;
    const [, , cId] = ids;
    const hubs = apps.map((a) => GroupHub.of(a.context));
    const rejected = hubs.slice(0, 2).map((h) => {
      const seen: DeliveryError[] = [];
      h.get(gid).session!.on('rejected', (r) => seen.push(r.error));
      return seen;
    });
    // Carol's own client refuses to make it.
    const real = hubs[2]!.get(gid).group!;
    const rules = rulesOf(real.state.groupContext.extensions)!;
    const selfPromotion = [rulesExtension({ ...rules, admins: [...rules.admins, cId] })];
    expect(() => real.setExtensions(selfPromotion)).toThrow(
      expect.objectContaining({ code: 'proposal_rejected_by_policy' }),
    );
    // A rogue Carol: a copy of her state without the policy makes the commit; she publishes it.
    const rogue = new Group(
      decodeGroupState(encodeGroupState(real.state), {
        config: { ...hubs[2]!.config, proposalPolicy: () => true },
      }),
    );
    const commit = rogue.setExtensions(selfPromotion);
    const envelope = mlsEnvelope(rogue, EnvelopeKind.commit, commit.commit);
    await hubs[2]!.session.ports.channels.publish(groupChannel(real.groupId), envelope);
    for (const [i, seen] of rejected.entries()) {
      await waitFor(() => seen.length > 0, `member ${i} refuses the rogue commit`);
      const cause = seen[0]!.cause;
      expect(cause).toBeInstanceOf(MlsError);
      expect((cause as MlsError).code).toBe('proposal_rejected_by_policy');
    }
    rogue.destroy();
    // Nothing moved: same epoch, Carol still a member everywhere; the group goes on.
    const epoch = hubs[0]!.get(gid).group!.epoch;
    for (const app of apps) expect(await roleAt(app, gid, cId)).toBe('member');
    await alice.groups.setPolicy({
      groupId: gid,
      policy: { ...(await alice.groups.policy({ groupId: gid })), disappearAfterMs: 3_600_000 },
    });
    for (const app of [bob, carol]) {
      await waitFor(
        async () => (await app.groups.policy({ groupId: gid })).disappearAfterMs === 3_600_000,
        'policy everywhere',
      );
    }
    expect(hubs[0]!.get(gid).group!.epoch).toBe(epoch + 1n);

    // An admin who left still stands in the rules, but does not count as the group's admin.
    const [aId, bId] = ids;
    await alice.groups.setRole({ groupId: gid, userId: bId, role: 'admin' });
    await bob.groups.leave({ groupId: gid });
    await waitFor(
      async () => (await alice.groups.members({ groupId: gid })).length === 2,
      'bob gone',
    );
    expect(rulesOf(hubs[0]!.get(gid).group!.state.groupContext.extensions)?.admins).toContain(bId);
    expect(
      await appErrorCode(alice.groups.setRole({ groupId: gid, userId: aId, role: 'member' })),
    ).toBe('conflict');
  });
});
