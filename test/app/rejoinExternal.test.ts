/**
 * A member stuck behind its own ordered commit comes back by external commit (groupRejoin.ts):
 * real ParleyApp instances over libp2p on 127.0.0.1.
 *
 * The crash: Bob's session makes a key update commit and stops processing the moment it hands the
 * commit to the network (as a process killed right after its publish would: the commit goes out,
 * the ordering record never comes back to it), and his app is closed once Alice has ordered the
 * commit. His stored state is the one before the commit; after the restart MLS cannot process
 * his own commit (its handshake key is spent), so the only ways on are the leader's re-add or a
 * rejoin. The test checks it was the rejoin: his log holds the rejoin entry, and nobody logged a
 * removal or an addition of him.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ParleyApp } from '../../src-core/app/parleyApp.js';
import { GroupHub } from '../../src-core/app/groups/groupHub.js';
import { REJOINED_DETAIL } from '../../src-core/app/groups/groupRejoin.js';
import { EnvelopeKind } from '../../src-core/delivery/envelope.js';
import { fetchGroupInfo } from '../../src-core/delivery/groupInfoService.js';
import {
  PASS,
  befriend,
  cleanup,
  closeApp,
  collect,
  newUser,
  openApp,
  texts,
  waitFor,
} from './appFixture.js';

afterEach(cleanup);

async function epochOf(app: ParleyApp, groupId: string): Promise<number> {
  const g = (await app.groups.list()).find((x) => x.groupId === groupId);
  return g?.epoch ?? -1;
}

async function logOf(app: ParleyApp, groupId: string) {
  return (await app.groups.membershipLog({ groupId, limit: 200 })).entries;
}

describe('app: rejoin by external commit', () => {
  it('a member closed after its commit was ordered, before merging it, rejoins and chats on', async () => {
    const alice = await newUser('Alice');
    const bob = await newUser('Bob');
    const carol = await newUser('Carol');
    await befriend(alice.app, bob.app);
    await befriend(alice.app, carol.app);
    await befriend(bob.app, carol.app);
    const [aId, bId, cId] = await Promise.all(
      [alice, bob, carol].map(async (u) => (await u.app.identity.me()).userId),
    );
    const gid = (await alice.app.groups.create({ name: 'Team', members: [bId!, cId!] })).groupId;
    for (const u of [bob, carol]) {
      await waitFor(async () => (await epochOf(u.app, gid)) >= 1, 'joined');
    }
    await alice.app.messages.send({ groupId: gid, text: 'before from Alice' });
    await bob.app.messages.send({ groupId: gid, text: 'before from Bob' });
    for (const u of [alice, bob, carol]) {
      await waitFor(async () => (await texts(u.app, gid)).length === 2, 'history before');
    }

    // Bob's commit goes out and his session stops at once (it never sees the ordering record).
    const e = GroupHub.of(bob.app.context).active(gid);
    const stuckAt = e.session.epoch;
    const sent = new Promise<void>((resolve) => {
      const off = e.session.on('published', (p) => {
        if (p.kind !== EnvelopeKind.commit) return;
        off();
        e.session.stop();
        resolve();
      });
    });
    e.session.update();
    await sent;
    for (const u of [alice, carol]) {
      await waitFor(async () => (await epochOf(u.app, gid)) > Number(stuckAt), 'commit ordered');
    }
    expect(e.session.epoch).toBe(stuckAt); // never merged it
    await closeApp(bob.app);
    const ordered = await epochOf(alice.app, gid);

    // Restart: stuck behind his own commit, Bob rejoins by external commit.
    const bob2 = openApp(bob.dir);
    const bobLog = collect(bob2, 'group.member_changed');
    const aliceLog = collect(alice.app, 'group.member_changed');
    const carolLog = collect(carol.app, 'group.member_changed');
    await bob2.profile.unlock({ passphrase: PASS });
    await waitFor(
      () => bobLog.some((x) => x.entry.detail === REJOINED_DETAIL),
      'bob rejoined',
      40_000,
    );
    const rejoined = bobLog.find((x) => x.entry.detail === REJOINED_DETAIL)!.entry;
    expect(rejoined).toMatchObject({
      change: 'keys_updated',
      actorUserId: bId,
      subjectUserId: bId,
    });
    expect(rejoined.epoch).toBeGreaterThan(ordered);
    await waitFor(
      async () =>
        (await epochOf(alice.app, gid)) === (await epochOf(bob2, gid)) &&
        (await epochOf(carol.app, gid)) === (await epochOf(bob2, gid)),
      'same epoch everywhere',
    );

    // Messages both ways after the rejoin; the history before is still there.
    await bob2.messages.send({ groupId: gid, text: 'after from Bob' });
    await alice.app.messages.send({ groupId: gid, text: 'after from Alice' });
    await carol.app.messages.send({ groupId: gid, text: 'after from Carol' });
    const all = [
      'before from Alice',
      'before from Bob',
      'after from Alice',
      'after from Bob',
      'after from Carol',
    ];
    for (const app of [alice.app, bob2, carol.app]) {
      await waitFor(async () => {
        const have = await texts(app, gid);
        return all.every((t) => have.includes(t));
      }, 'every message read');
      expect((await texts(app, gid)).sort()).toEqual([...all].sort());
    }

    // The state after the rejoin was stored: a second restart goes on from it.
    await closeApp(bob2);
    const bob3 = openApp(bob.dir);
    await bob3.profile.unlock({ passphrase: PASS });
    await bob3.messages.send({ groupId: gid, text: 'after a restart' });
    await waitFor(
      async () => (await texts(alice.app, gid)).includes('after a restart'),
      'alice reads bob after his restart',
    );
    expect((await logOf(bob3, gid)).filter((x) => x.detail === REJOINED_DETAIL)).toHaveLength(1);

    // Nobody saw Bob removed or added again: one member of his, the only addition at creation.
    for (const [app, live] of [
      [alice.app, aliceLog],
      [carol.app, carolLog],
    ] as const) {
      expect(live.filter((x) => x.entry.subjectUserId === bId)).toEqual([]);
      const bobs = (await logOf(app, gid)).filter((x) => x.subjectUserId === bId);
      // His own key update (the commit he was stuck behind), besides his addition at creation
      // in Alice's log: no removal, no addition after.
      const since = bobs.filter((x) => !(x.change === 'added' && x.epoch === 1));
      expect(since.map((x) => [x.change, x.epoch])).toEqual([['keys_updated', ordered]]);
      const members = await app.groups.members({ groupId: gid });
      expect(members.filter((m) => m.userId === bId)).toMatchObject([{ devices: 1 }]);
      expect(members.map((m) => m.userId).sort()).toEqual([aId, bId, cId].sort());
    }
  });

  it("GroupInfo goes to a member's own device only: not to another member presenting its key", async () => {
    const alice = await newUser('Alice');
    const carol = await newUser('Carol');
    const dave = await newUser('Dave');
    await befriend(alice.app, carol.app);
    await befriend(alice.app, dave.app);
    const [cId, dId] = await Promise.all(
      [carol, dave].map(async (u) => (await u.app.identity.me()).userId),
    );
    const gid = (await alice.app.groups.create({ name: 'Three', members: [cId!, dId!] })).groupId;
    for (const u of [carol, dave]) {
      await waitFor(async () => (await epochOf(u.app, gid)) >= 1, 'joined');
    }
    const alicePeer = GroupHub.of(alice.app.context).session.node.peerId;
    const carolHub = GroupHub.of(carol.app.context);
    const daveHub = GroupHub.of(dave.app.context);
    const ask = (hub: GroupHub, as: GroupHub) =>
      fetchGroupInfo(hub.session.ports.requests, [alicePeer], as.active(gid).group);
    const outcome = (answers: Awaited<ReturnType<typeof ask>>) =>
      answers.map((a) => (a.groupInfo === undefined ? a.error : 'served'));

    // Each member with its own leaf key, from its own device: served.
    expect(outcome(await ask(carolHub, carolHub))).toEqual(['served']);
    expect(outcome(await ask(daveHub, daveHub))).toEqual(['served']);
    // Dave's device with Carol's leaf key (and a valid proof of it): refused, as a stranger is
    // (the refusal code does not travel: the asker sees the request refused).
    expect(outcome(await ask(daveHub, carolHub))).toEqual(['peer_refused']);
  });
});
