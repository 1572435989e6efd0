/**
 * Catch-up on an epoch change asks one more peer (groupSync.ts): a catch-up stops at the first
 * peer holding every commit, and application messages have no sequence, so a first peer that
 * lost a message as we did looks complete. Real ParleyApp instances over loopback libp2p; the
 * sync client's requests are observed on its prototype (the real one runs).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GroupHub } from '../../src-core/app/groups/groupHub.js';
import { SyncClient } from '../../src-core/delivery/syncProtocol.js';
import { befriend, cleanup, newUser, waitFor } from './appFixture.js';

afterEach(async () => {
  vi.restoreAllMocks();
  await cleanup();
});

describe('app: catch-up on an epoch change', () => {
  it('asks one more member device', async () => {
    const [alice, bob, carol] = await Promise.all(['Alice', 'Bob', 'Carol'].map((n) => newUser(n)));
    await befriend(alice!.app, bob!.app);
    await befriend(alice!.app, carol!.app);
    await befriend(bob!.app, carol!.app);
    const ids = await Promise.all(
      [bob!, carol!].map(async (u) => (await u.app.identity.me()).userId),
    );
    const gid = (await alice!.app.groups.create({ name: 'Team', members: ids })).groupId;
    const hubs = [alice!, bob!, carol!].map((u) => GroupHub.of(u.app.context));
    const [aPeer, bPeer, cPeer] = hubs.map((h) => h.session.node.peerId);
    const bobHub = hubs[1]!;
    await waitFor(() => bobHub.groups.get(gid)?.session?.isRunning === true, 'bob joined');
    await waitFor(() => hubs[2]!.groups.get(gid)?.session?.isRunning === true, 'carol joined');
    const e = bobHub.active(gid);
    await waitFor(() => {
      const online = bobHub.onlinePeers(e);
      return online.includes(aPeer!) && online.includes(cPeer!);
    }, 'both on the channel');

    const spy = vi.spyOn(SyncClient.prototype, 'catchUp');
    const from = e.session.epoch;
    await alice!.app.groups.updateKeys({ groupId: gid });
    await waitFor(() => e.session.epoch > from, 'bob merged the update');

    // Bob's client: the one asking Alice and Carol (never Bob himself).
    const bobCalls = (): { peers: readonly string[]; at: number }[] =>
      spy.mock.calls
        .map((c, at) => ({ peers: c[2], at, self: spy.mock.contexts[at] }))
        .filter((c) => !c.peers.includes(bPeer!))
        .filter((c, _i, all) => {
          const full = all.find((x) => x.peers.length === 2);
          return full !== undefined && c.self === full.self;
        });
    await waitFor(() => bobCalls().some((c) => c.peers.length === 1), 'a second peer asked');
    // A catch-up already running when the epoch changed asks it after its first pass; either
    // way the one more peer is a member device, and Bob's regular catch-ups ask both.
    const single = bobCalls().find((c) => c.peers.length === 1)!;
    expect([aPeer, cPeer]).toContain(single.peers[0]);
  }, 40_000);
});
