import { afterEach, describe, expect, it } from 'vitest';
import type { ParleyApp } from '../../src-core/app/parleyApp.js';
import { PASS, appErrorCode, cleanup, closeApp, newUser, openApp, waitFor } from './appFixture.js';

afterEach(cleanup);

async function befriend(a: ParleyApp, b: ParleyApp): Promise<void> {
  const code = (await a.identity.me()).inviteCode;
  const c = await b.contacts.addByInviteCode({ code });
  await waitFor(async () => (await b.contacts.list()).some((x) => x.userId === c.userId && x.online), 'online');
}

async function texts(app: ParleyApp, groupId: string): Promise<string[]> {
  return (await app.messages.history({ groupId })).messages.map((m) => m.text);
}

describe('app: groups over libp2p on 127.0.0.1', () => {
  it('create, chat, members, membership log, epoch code, remove, restart', async () => {
    const alice = await newUser('Alice');
    const bob = await newUser('Bob');
    const carol = await newUser('Carol');
    await befriend(alice.app, bob.app);
    await befriend(alice.app, carol.app);
    await befriend(bob.app, carol.app);
    const ids = await Promise.all([alice, bob, carol].map(async (u) => (await u.app.identity.me()).userId));
    const [aId, bId, cId] = ids as [string, string, string];

    const g = await alice.app.groups.create({ name: 'Team', members: [bId, cId] });
    expect(g).toMatchObject({ name: 'Team', epoch: 1, memberCount: 3, myRole: 'admin', state: 'active' });
    const gid = g.groupId;
    for (const u of [bob, carol]) {
      await waitFor(async () => (await u.app.groups.list()).some((x) => x.groupId === gid), 'joined');
      expect((await u.app.groups.list())[0]).toMatchObject({ name: 'Team', myRole: 'member', memberCount: 3 });
    }
    const members = await bob.app.groups.members({ groupId: gid });
    expect(members.map((m) => m.displayName).sort()).toEqual(['Alice', 'Bob', 'Carol']);
    expect(members.find((m) => m.userId === aId)?.role).toBe('admin');

    const hi = await alice.app.messages.send({ groupId: gid, text: 'hello team' });
    await waitFor(async () => (await texts(bob.app, gid)).includes('hello team'), 'bob reads');
    await waitFor(async () => (await texts(carol.app, gid)).includes('hello team'), 'carol reads');
    expect(await appErrorCode(bob.app.groups.remove({ groupId: gid, userIds: [cId] }))).toBe('forbidden');
  });
});
