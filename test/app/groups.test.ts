import { afterEach, describe, expect, it } from 'vitest';
import { GroupHub } from '../../src-core/app/groups/groupHub.js';
import type { ParleyApp } from '../../src-core/app/parleyApp.js';
import { loopbackNetConfig } from '../../src-core/net/index.js';
import {
  PASS,
  befriend,
  cleanup,
  texts,
  appErrorCode,
  closeApp,
  newUser,
  openApp,
  waitFor,
} from './appFixture.js';

afterEach(cleanup);

describe('app: groups over libp2p on 127.0.0.1', () => {
  it('create, chat, members, membership log, epoch code, remove, restart', async () => {
    const alice = await newUser('Alice');
    const bob = await newUser('Bob');
    const carol = await newUser('Carol');
    await befriend(alice.app, bob.app);
    await befriend(alice.app, carol.app);
    await befriend(bob.app, carol.app);
    const ids = await Promise.all(
      [alice, bob, carol].map(async (u) => (await u.app.identity.me()).userId),
    );
    const [aId, bId, cId] = ids as [string, string, string];

    const g = await alice.app.groups.create({ name: 'Team', members: [bId, cId] });
    expect(g).toMatchObject({
      name: 'Team',
      epoch: 1,
      memberCount: 3,
      myRole: 'admin',
      state: 'active',
    });
    const gid = g.groupId;
    for (const u of [bob, carol]) {
      await waitFor(
        async () => (await u.app.groups.list()).some((x) => x.groupId === gid),
        'joined',
      );
      expect((await u.app.groups.list())[0]).toMatchObject({
        name: 'Team',
        myRole: 'member',
        memberCount: 3,
      });
    }
    const members = await bob.app.groups.members({ groupId: gid });
    expect(members.map((m) => m.displayName).sort()).toEqual(['Alice', 'Bob', 'Carol']);
    expect(members.find((m) => m.userId === aId)?.role).toBe('admin');

    const hi = await alice.app.messages.send({ groupId: gid, text: 'hello team' });
    await waitFor(async () => (await texts(bob.app, gid)).includes('hello team'), 'bob reads');
    await waitFor(async () => (await texts(carol.app, gid)).includes('hello team'), 'carol reads');
    expect(await appErrorCode(bob.app.groups.remove({ groupId: gid, userIds: [cId] }))).toBe(
      'forbidden',
    );

    // Reply, edit, react, delete: every member sees the same result.
    const re = await bob.app.messages.reply({
      groupId: gid,
      replyTo: hi.messageId,
      text: 'hi Alice',
    });
    expect(re.replyTo).toMatchObject({
      messageId: hi.messageId,
      text: 'hello team',
      senderName: 'Alice',
    });
    await alice.app.messages.edit({ groupId: gid, messageId: hi.messageId, text: 'hello, team' });
    await carol.app.messages.react({
      groupId: gid,
      messageId: hi.messageId,
      emoji: '👍',
      on: true,
    });
    await bob.app.messages.react({ groupId: gid, messageId: hi.messageId, emoji: '👍', on: true });
    const oops = await carol.app.messages.send({ groupId: gid, text: 'oops' });
    await carol.app.messages.delete({ groupId: gid, messageId: oops.messageId });
    expect(
      await appErrorCode(
        bob.app.messages.edit({ groupId: gid, messageId: hi.messageId, text: 'x' }),
      ),
    ).toBe('forbidden');
    for (const u of [alice, bob, carol]) {
      await waitFor(async () => {
        const m = await u.app.messages.get({ groupId: gid, messageId: hi.messageId });
        return m.text === 'hello, team' && m.reactions[0]?.count === 2;
      }, 'edit and reactions');
      await waitFor(
        async () =>
          (await u.app.messages.history({ groupId: gid })).messages.some(
            (m) => m.messageId === oops.messageId && m.deleted,
          ),
        'deleted',
      );
      await waitFor(async () => (await texts(u.app, gid)).includes('hi Alice'), 'reply');
    }
    expect(
      await appErrorCode(
        alice.app.messages.react({ groupId: gid, messageId: hi.messageId, emoji: '', on: true }),
      ),
    ).toBe('bad_request');
    expect(
      await appErrorCode(
        alice.app.messages.react({
          groupId: gid,
          messageId: oops.messageId,
          emoji: '👍',
          on: true,
        }),
      ),
    ).toBe('not_found');
    const aliceView = await alice.app.messages.get({ groupId: gid, messageId: hi.messageId });
    expect(aliceView.editedAt).not.toBeNull();
    expect(aliceView.reactions).toEqual([{ emoji: '👍', count: 2, mine: false }]);

    // Unread counts, read marks and search in local history.
    // Bob's reply counts; Carol's deleted message does not; Alice's own never do.
    expect((await alice.app.groups.list())[0]!.unread).toBe(1);
    const history = await alice.app.messages.history({ groupId: gid });
    expect(history.messages.map((m) => m.text)).toEqual(['hello, team', 'hi Alice', '']);
    const last = history.messages[history.messages.length - 1]!;
    expect(await alice.app.messages.markRead({ groupId: gid, upTo: last.messageId })).toEqual({
      unread: 0,
    });
    const page1 = await alice.app.messages.history({ groupId: gid, limit: 2 });
    expect(page1.messages.map((m) => m.text)).toEqual(['hi Alice', '']);
    const page2 = await alice.app.messages.history({
      groupId: gid,
      limit: 2,
      before: page1.nextCursor!,
    });
    expect(page2).toEqual({
      messages: [expect.objectContaining({ text: 'hello, team' })],
      nextCursor: null,
    });
    const hits = await carol.app.messages.search({ query: 'ALICE' });
    expect(hits.map((h) => [h.message.text, h.groupName])).toEqual([['hi Alice', 'Team']]);

    // Rename (admin), per-epoch codes equal on every side.
    await alice.app.groups.rename({ groupId: gid, name: 'Team 2' });
    await waitFor(async () => (await carol.app.groups.list())[0]?.name === 'Team 2', 'renamed');
    const codes = await Promise.all(
      [alice, bob, carol].map((u) => u.app.groups.epochCode({ groupId: gid })),
    );
    expect(codes[0]!.code).toMatch(/^\d{20}$/);
    expect(new Set(codes.map((c) => c.code)).size).toBe(1);

    // Alice removes Carol: Carol sees the group closed and reads nothing sent after.
    const removed = await alice.app.groups.remove({ groupId: gid, userIds: [cId] });
    expect(removed.memberCount).toBe(2);
    await waitFor(
      async () => (await carol.app.groups.list())[0]?.state === 'removed',
      'carol removed',
    );
    await waitFor(
      async () => (await bob.app.groups.members({ groupId: gid })).length === 2,
      'bob sees',
    );
    await bob.app.messages.send({ groupId: gid, text: 'after carol' });
    await waitFor(async () => (await texts(alice.app, gid)).includes('after carol'), 'alice reads');
    expect(await texts(carol.app, gid)).not.toContain('after carol');
    expect(await appErrorCode(carol.app.messages.send({ groupId: gid, text: 'still here?' }))).toBe(
      'conflict',
    );
    const log = await bob.app.groups.membershipLog({ groupId: gid });
    expect(log.entries.map((e) => e.change)).toContain('removed');
    expect(log.entries.find((e) => e.change === 'removed')).toMatchObject({
      subjectName: 'Carol',
      actorName: 'Alice',
    });

    // Restart all three from their folders: history and membership survive, and the group works.
    const before = await Promise.all([alice, bob, carol].map((u) => texts(u.app, gid)));
    const reopened: ParleyApp[] = [];
    for (const u of [alice, bob, carol]) {
      // Each comes back on its old port, where the others' address books look for it: a restart
      // on a fresh port is found again only through a peer that learns the new address.
      const listen = (await u.app.network.status()).listenAddrs.filter((a) => a.includes('/tcp/'));
      await closeApp(u.app);
      const app = openApp(u.dir, { net: loopbackNetConfig({ listen }) });
      await app.profile.unlock({ passphrase: PASS });
      reopened.push(app);
    }
    const [a2, b2, c2] = reopened as [ParleyApp, ParleyApp, ParleyApp];
    expect(await Promise.all(reopened.map((app) => texts(app, gid)))).toEqual(before);
    expect((await a2.groups.members({ groupId: gid })).map((m) => m.displayName).sort()).toEqual([
      'Alice',
      'Bob',
    ]);
    expect((await c2.groups.list())[0]).toMatchObject({ state: 'removed', name: 'Team 2' });
    expect((await b2.groups.list())[0]).toMatchObject({
      state: 'active',
      memberCount: 2,
      name: 'Team 2',
    });
    // The stored states still work together: what Alice's restored state encrypts, Bob's
    // decrypts. The envelope is handed over directly, so this does not hang on how soon gossip
    // subscriptions are exchanged again after a restart (net layer; sometimes >15 s here).
    const a2Hub = GroupHub.of(a2.context);
    const b2Hub = GroupHub.of(b2.context);
    const published = new Promise<Uint8Array>((resolve) => {
      const off = a2Hub.get(gid).session!.on('published', (ev) => {
        off();
        resolve(ev.envelope);
      });
    });
    await a2.messages.send({ groupId: gid, text: 'back again' });
    b2Hub.get(gid).session!.receive(await published);
    await waitFor(async () => (await texts(b2, gid)).includes('back again'), 'after restart');
    expect(await texts(c2, gid)).not.toContain('back again');
  });

  it('invite by code, update keys, leave, policy', async () => {
    const alice = await newUser('Alice');
    const bob = await newUser('Bob');
    const dave = await newUser('Dave');
    await befriend(alice.app, bob.app);
    const bId = (await bob.app.identity.me()).userId;
    const g = await alice.app.groups.create({ name: 'Pair', members: [bId] });
    const gid = g.groupId;
    await waitFor(async () => (await bob.app.groups.list()).length === 1, 'bob joined');

    // Dave is no contact yet: Alice adds him with his invite code.
    const invited = await alice.app.groups.invite({
      groupId: gid,
      inviteCode: (await dave.app.identity.me()).inviteCode,
    });
    expect(invited.memberCount).toBe(3);
    await waitFor(async () => (await dave.app.groups.list()).length === 1, 'dave joined');
    await waitFor(
      async () => (await bob.app.groups.members({ groupId: gid })).length === 3,
      'bob sees dave',
    );
    // Messages sent before a new member's subscription reached the others are not fetched again
    // (the sync protocol is not wired into the app yet): wait until Alice sees Dave on the channel.
    const davePeer = (await dave.app.network.status()).peerId;
    const aliceHub = GroupHub.of(alice.app.context);
    await waitFor(
      () => aliceHub.onlinePeers(aliceHub.get(gid)).includes(davePeer),
      'dave subscribed',
    );
    await alice.app.messages.send({ groupId: gid, text: 'welcome Dave' });
    await waitFor(async () => (await texts(dave.app, gid)).includes('welcome Dave'), 'dave reads');

    // Our own key update: a new epoch, logged, and the same epoch code everywhere.
    const before = (await alice.app.groups.list())[0]!.epoch;
    const updated = await bob.app.groups.updateKeys({ groupId: gid });
    expect(updated.epoch).toBe(before + 1);
    await waitFor(async () => (await alice.app.groups.list())[0]!.epoch === before + 1, 'epoch');
    // The log entry is written with the state, just after the epoch moved in memory.
    await waitFor(
      async () =>
        (await alice.app.groups.membershipLog({ groupId: gid })).entries[0]?.change ===
        'keys_updated',
      'logged',
    );
    const log = await alice.app.groups.membershipLog({ groupId: gid });
    expect(log.entries[0]).toMatchObject({ change: 'keys_updated', actorName: 'Bob' });
    await waitFor(
      async () => (await dave.app.groups.list())[0]!.epoch === before + 1,
      'dave epoch',
    );
    const [ca, cd] = await Promise.all(
      [alice, dave].map((u) => u.app.groups.epochCode({ groupId: gid })),
    );
    expect(ca!.code).toBe(cd!.code);

    // Policy: the defaults from the group's context; an admin changes it for everyone
    // (test/app/groupPolicy.test.ts and groupRoles.test.ts go further).
    expect(await dave.app.groups.policy({ groupId: gid })).toMatchObject({ membership: 'admins' });
    const policy = await alice.app.groups.policy({ groupId: gid });
    expect(await alice.app.groups.setPolicy({ groupId: gid, policy })).toEqual(policy);
    const open = { ...policy, membership: 'everyone' as const };
    expect(await alice.app.groups.setPolicy({ groupId: gid, policy: open })).toEqual(open);
    await waitFor(
      async () => (await dave.app.groups.policy({ groupId: gid })).membership === 'everyone',
      'dave sees the new policy',
    );
    expect(await appErrorCode(dave.app.groups.setPolicy({ groupId: gid, policy }))).toBe(
      'forbidden',
    );

    // Dave leaves: another member commits his removal; his history stays, the group is closed.
    await dave.app.groups.leave({ groupId: gid });
    expect((await dave.app.groups.list())[0]).toMatchObject({ state: 'left' });
    expect(await texts(dave.app, gid)).toContain('welcome Dave');
    await waitFor(
      async () =>
        (await alice.app.groups.membershipLog({ groupId: gid })).entries[0]?.change === 'left',
      'gone',
    );
    expect(await alice.app.groups.members({ groupId: gid })).toHaveLength(2);
    const aliceLog = await alice.app.groups.membershipLog({ groupId: gid, limit: 1 });
    expect(aliceLog.entries[0]).toMatchObject({ change: 'left', subjectName: 'Dave' });
    expect(aliceLog.nextCursor).not.toBeNull();
    const older = await alice.app.groups.membershipLog({
      groupId: gid,
      before: aliceLog.nextCursor!,
    });
    expect(older.entries.map((e) => e.change)).toContain('created');
  });
});
