import { afterEach, describe, expect, it } from 'vitest';
import { GroupHub } from '../../src-core/app/groups/groupHub.js';
import type { ParleyApp } from '../../src-core/app/parleyApp.js';
import { fetchKeyPackage } from '../../src-core/delivery/keyPackageDirectory.js';
import { depositMail } from '../../src-core/delivery/mailbox.js';
import { loopbackNetConfig } from '../../src-core/net/index.js';
import { PASS, befriend, cleanup, closeApp, newUser, openApp, waitFor } from './appFixture.js';

afterEach(cleanup);

const junkBytes = new Uint8Array([0, 1, 0xff, 0xff]);

async function texts(app: ParleyApp, groupId: string): Promise<string[]> {
  return (await app.messages.history({ groupId, limit: 200 })).messages.map((m) => m.text);
}

async function epochOf(app: ParleyApp, groupId: string): Promise<number | undefined> {
  return (await app.groups.list()).find((g) => g.groupId === groupId)?.epoch;
}

describe('app: store and forward (a member offline catches up from the others)', () => {
  it('Carol, closed while Alice and Bob chat and Alice adds Dave, catches up in order', async () => {
    const alice = await newUser('Alice');
    const bob = await newUser('Bob');
    const carol = await newUser('Carol');
    const dave = await newUser('Dave');
    await befriend(alice.app, bob.app);
    await befriend(alice.app, carol.app);
    await befriend(bob.app, carol.app);
    await befriend(alice.app, dave.app);
    const userIds = await Promise.all(
      [alice, bob, carol, dave].map(async (u) => (await u.app.identity.me()).userId),
    );
    const [, bId, cId, dId] = userIds;

    const g = await alice.app.groups.create({ name: 'Team', members: [bId!, cId!] });
    const gid = g.groupId;
    for (const u of [bob, carol]) {
      await waitFor(
        async () => (await u.app.groups.list()).some((x) => x.groupId === gid),
        'joined',
      );
    }
    await alice.app.messages.send({ groupId: gid, text: 'before' });
    for (const u of [bob, carol]) {
      await waitFor(async () => (await texts(u.app, gid)).includes('before'), 'before read');
    }

    // Carol goes offline; the others talk, and Alice adds Dave (a new epoch).
    await closeApp(carol.app);
    await alice.app.messages.send({ groupId: gid, text: 'a1' });
    await waitFor(async () => (await texts(bob.app, gid)).includes('a1'), 'bob reads a1');
    await bob.app.messages.send({ groupId: gid, text: 'b1' });
    await waitFor(async () => (await texts(alice.app, gid)).includes('b1'), 'alice reads b1');
    await alice.app.groups.add({ groupId: gid, userIds: [dId!] });
    await waitFor(
      async () => (await dave.app.groups.list()).some((x) => x.groupId === gid),
      'dave joined',
    );
    const epoch = (await epochOf(alice.app, gid))!;
    await waitFor(async () => (await epochOf(bob.app, gid)) === epoch, 'bob at the epoch');
    await alice.app.messages.send({ groupId: gid, text: 'a2' });
    await waitFor(async () => (await texts(bob.app, gid)).includes('a2'), 'bob reads a2');
    await bob.app.messages.send({ groupId: gid, text: 'b2' });
    await waitFor(async () => (await texts(alice.app, gid)).includes('b2'), 'alice reads b2');
    const expected = ['before', 'a1', 'b1', 'a2', 'b2'];
    expect(await texts(alice.app, gid)).toEqual(expected);
    expect(await texts(bob.app, gid)).toEqual(expected);

    // Gossipsub replays what it still caches (GossipsubHistoryLength = 5 heartbeats) to a peer
    // that (re)subscribes, by message id, so in any order: Carol stays away past that, as anyone
    // offline for longer than a few seconds does, and all she gets comes from the others' logs.
    await new Promise((r) => setTimeout(r, 6 * loopbackNetConfig().gossip.heartbeatIntervalMs));

    // Carol comes back: everything sent meanwhile, in order, on the same epoch.
    const back = openApp(carol.dir);
    await back.profile.unlock({ passphrase: PASS });
    await waitFor(async () => (await epochOf(back, gid)) === epoch, 'carol at the epoch');
    await waitFor(async () => (await texts(back, gid)).length === expected.length, 'carol reads');
    expect(await texts(back, gid)).toEqual(expected);
    // Dave is not Carol's contact: she sees his user id, not his name.
    const members = await back.groups.members({ groupId: gid });
    expect(members.map((m) => m.userId).sort()).toEqual([...userIds].sort());
    const codes = await Promise.all(
      [alice.app, bob.app, back, dave.app].map((a) => a.groups.epochCode({ groupId: gid })),
    );
    expect(new Set(codes.map((c) => c.code)).size).toBe(1);

    // Carol is live again: what she sends now reaches everyone, Dave included.
    await back.messages.send({ groupId: gid, text: 'c1' });
    for (const a of [alice.app, bob.app, dave.app]) {
      await waitFor(async () => (await texts(a, gid)).includes('c1'), 'c1 read');
    }
  }, 120_000);

  it('an offline contact is added from a held KeyPackage and joins from its mailbox', async () => {
    const alice = await newUser('Alice');
    const bob = await newUser('Bob');
    const eve = await newUser('Eve');
    await befriend(alice.app, bob.app);
    await befriend(alice.app, eve.app);
    await befriend(bob.app, eve.app);
    const [aId, bId, eId] = await Promise.all(
      [alice, bob, eve].map(async (u) => (await u.app.identity.me()).userId),
    );
    // Eve's devices left KeyPackages with Alice (and Bob): Alice knows their owner key.
    const aliceHub = GroupHub.of(alice.app.context);
    await waitFor(
      async () => (await aliceHub.offline.ownersOf(eId!)).length > 0,
      'eve deposited KeyPackages with alice',
    );
    const [eveKey] = await aliceHub.offline.ownersOf(eId!);

    const g = await alice.app.groups.create({ name: 'Later', members: [bId!] });
    const gid = g.groupId;
    await waitFor(async () => (await bob.app.groups.list()).some((x) => x.groupId === gid), 'bob');

    // Eve is offline: Alice adds her from the package she holds; the Welcome goes to Eve's
    // mailbox at Bob. Then Alice goes offline too, so only the mailbox can bring Eve in.
    await closeApp(eve.app);
    await alice.app.groups.add({ groupId: gid, userIds: [eId!] });
    const epoch = (await epochOf(alice.app, gid))!;
    await waitFor(async () => (await epochOf(bob.app, gid)) === epoch, 'bob at the epoch');
    await alice.app.messages.send({ groupId: gid, text: 'welcome Eve' });
    await waitFor(async () => (await texts(bob.app, gid)).includes('welcome Eve'), 'bob reads');
    const bobHub = GroupHub.of(bob.app.context);
    await waitFor(async () => bobHub.offline.mailHeld(eveKey!) === 1, 'welcome mailed to bob');
    // Junk in the same mailbox is dropped without harm.
    const bobPeer = (await bob.app.network.status()).peerId;
    const junk = await depositMail(aliceHub.session.ports.requests, [bobPeer], eveKey!, junkBytes);
    expect(junk).toEqual([{ holder: bobPeer }]);
    expect(bobHub.offline.mailHeld(eveKey!)).toBe(2);
    await closeApp(alice.app);

    // Mallory, Bob's contact but not Eve's, takes one of Eve's packages from Bob's holder (a
    // holder serves anyone), adds Eve to a group of hers and mails the Welcome, signed by her
    // own device: Eve must refuse it (the adder is not her contact).
    const mallory = await newUser('Mallory');
    await befriend(bob.app, mallory.app);
    const mHub = GroupHub.of(mallory.app.context);
    const trap = await mallory.app.groups.create({ name: 'Trap', members: [bId!] });
    const trapEntry = mHub.active(trap.groupId);
    const stolen = await fetchKeyPackage(
      mHub.session.ports.requests,
      mHub.ctx.suite,
      [bobPeer],
      eveKey!,
    );
    const welcomed = new Promise<Uint8Array>((resolve) => {
      const off = trapEntry.session.on('welcome', (w) => {
        off();
        resolve(w.welcome);
      });
    });
    trapEntry.session.add([stolen.message]);
    const forged = mHub.offline.mailedWelcome(
      trapEntry.session.group,
      'Trap',
      await welcomed,
      eveKey!,
    );
    const mailed = await depositMail(mHub.session.ports.requests, [bobPeer], eveKey!, forged);
    expect(mailed).toEqual([{ holder: bobPeer }]);
    expect(bobHub.offline.mailHeld(eveKey!)).toBe(3);

    const back = openApp(eve.dir);
    await back.profile.unlock({ passphrase: PASS });
    await waitFor(async () => (await back.groups.list()).some((x) => x.groupId === gid), 'joined');
    await waitFor(async () => (await epochOf(back, gid)) === epoch, 'eve at the epoch');
    // What was sent after her Welcome comes from Bob's log.
    await waitFor(async () => (await texts(back, gid)).includes('welcome Eve'), 'eve reads');
    await waitFor(async () => bobHub.offline.mailHeld(eveKey!) === 0, 'all acknowledged');
    // Joined Alice's group only: the junk and Mallory's Welcome were dropped.
    expect((await back.groups.list()).map((x) => x.groupId)).toEqual([gid]);
    const members = await back.groups.members({ groupId: gid });
    expect(members.map((m) => m.userId).sort()).toEqual([aId, bId, eId].sort());
    await back.messages.send({ groupId: gid, text: 'hi, I was away' });
    await waitFor(async () => (await texts(bob.app, gid)).includes('hi, I was away'), 'bob');
  }, 120_000);
});
