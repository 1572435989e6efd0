/**
 * A member removed lately is still served the group's ciphertext log (groupSync.ts `authorized`):
 * removed while cut off, it learns of the commit only from a log, and its last messages settle
 * only there. Served for 8 epochs after its removal, refused after that, and never served to
 * someone who was never in the group. Real ParleyApp instances over loopback libp2p; the removed
 * member fetches with a real sync client over its own node.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { GroupHub } from '../../src-core/app/groups/groupHub.js';
import type { ParleyApp } from '../../src-core/app/parleyApp.js';
import { CiphertextLog, MemoryLogStore } from '../../src-core/delivery/ciphertextLog.js';
import { SyncClient } from '../../src-core/delivery/syncProtocol.js';
import { befriend, cleanup, newUser, waitFor } from './appFixture.js';

afterEach(cleanup);

/** What `fetcher` gets of the group's log from `peer` with a fresh log of its own. */
async function fetchFrom(fetcher: ParleyApp, peer: string, groupHex: string) {
  const s = GroupHub.of(fetcher.context).session;
  const log = await CiphertextLog.open(new MemoryLogStore());
  const client = new SyncClient({ log, requests: s.ports.requests, timeoutMs: 10_000 });
  const result = await client.catchUp(new Uint8Array(Buffer.from(groupHex, 'hex')), 0n, [peer]);
  return result.peers[0]!;
}

describe('app: the log served to members removed lately', () => {
  it('serves a removed member for 8 epochs, then refuses it; never serves a stranger', async () => {
    const [alice, bob, dave] = await Promise.all(['Alice', 'Bob', 'Dave'].map((n) => newUser(n)));
    await befriend(alice!.app, bob!.app);
    await befriend(alice!.app, dave!.app);
    const bId = (await bob!.app.identity.me()).userId;
    const gid = (await alice!.app.groups.create({ name: 'Team', members: [bId] })).groupId;
    const hubA = GroupHub.of(alice!.app.context);
    const hubB = GroupHub.of(bob!.app.context);
    await waitFor(() => hubB.groups.get(gid)?.session?.isRunning === true, 'bob joined');
    await bob!.app.messages.send({ groupId: gid, text: 'last words' });
    await waitFor(
      async () => (await alice!.app.messages.history({ groupId: gid })).messages.length === 1,
      'alice read bob',
    );
    const alicePeer = hubA.session.node.peerId;
    const bobPeer = hubB.session.node.peerId;
    const davePeer = GroupHub.of(dave!.app.context).session.node.peerId;

    // A member now: served (his message and the commits so far).
    const asMember = await fetchFrom(bob!.app, alicePeer, gid);
    expect(asMember.error).toBeUndefined();
    expect(asMember.added).toBeGreaterThan(0);

    await alice!.app.groups.remove({ groupId: gid, userIds: [bId] });
    const removedAt = hubA.active(gid).session.epoch;
    await waitFor(() => hubB.groups.get(gid)?.meta.state === 'removed', 'bob removed');
    expect(hubA.sync.authorized(bobPeer, gid)).toBe(true);
    const justRemoved = await fetchFrom(bob!.app, alicePeer, gid);
    expect(justRemoved.error).toBeUndefined();
    expect(justRemoved.added).toBeGreaterThan(asMember.added); // the commit removing him too

    // Dave never was in the group: refused, now as before.
    expect(hubA.sync.authorized(davePeer, gid)).toBe(false);
    expect((await fetchFrom(dave!.app, alicePeer, gid)).error).toBe('peer_refused');

    // Seven more epochs: still served; the eighth ends it.
    for (let i = 0; i < 7; i++) await alice!.app.groups.updateKeys({ groupId: gid });
    expect(hubA.active(gid).session.epoch).toBe(removedAt + 7n);
    expect(hubA.sync.authorized(bobPeer, gid)).toBe(true);
    expect((await fetchFrom(bob!.app, alicePeer, gid)).error).toBeUndefined();
    await alice!.app.groups.updateKeys({ groupId: gid });
    expect(hubA.sync.authorized(bobPeer, gid)).toBe(false);
    expect((await fetchFrom(bob!.app, alicePeer, gid)).error).toBe('peer_refused');
  }, 60_000);
});
