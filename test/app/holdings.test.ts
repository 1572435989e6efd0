/**
 * What a holder keeps for its contacts survives its restart (app/holdings.ts): the KeyPackages a
 * contact deposited and the mail (a Welcome) left for it. Bob holds Eve's packages and, once Alice
 * adds Eve while she is offline, Eve's Welcome; Bob restarts twice; a package served in between
 * is not served again; Alice goes away and Eve, back online, joins from Bob's mailbox alone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { GroupHub } from '../../src-core/app/groups/groupHub.js';
import { HOLDINGS_NS } from '../../src-core/app/holdings.js';
import type { ParleyApp } from '../../src-core/app/parleyApp.js';
import { fetchKeyPackage } from '../../src-core/delivery/keyPackageDirectory.js';
import { PASS, befriend, cleanup, closeApp, newUser, openApp, waitFor } from './appFixture.js';

afterEach(cleanup);

async function restart(app: ParleyApp, dir: string): Promise<ParleyApp> {
  await closeApp(app);
  const again = openApp(dir);
  await again.profile.unlock({ passphrase: PASS });
  return again;
}

describe('app: holdings survive the holder’s restart', () => {
  it('a restarted holder still serves KeyPackages (not twice) and mail', async () => {
    const alice = await newUser('Alice');
    const bob = await newUser('Bob');
    const eve = await newUser('Eve');
    await befriend(alice.app, bob.app);
    await befriend(alice.app, eve.app);
    await befriend(bob.app, eve.app);
    const [bId, eId] = await Promise.all(
      [bob, eve].map(async (u) => (await u.app.identity.me()).userId),
    );
    const aliceHub = GroupHub.of(alice.app.context);
    await waitFor(
      async () => (await aliceHub.offline.ownersOf(eId!)).length > 0,
      'eve deposited KeyPackages',
    );
    const [eveKey] = await aliceHub.offline.ownersOf(eId!);
    const held = (app: ParleyApp) => app.context.session().keyPackages.holder.held(eveKey!);
    await waitFor(() => held(bob.app).oneTime > 0 && held(bob.app).lastResort, 'bob holds');
    const before = held(bob.app);

    const g = await alice.app.groups.create({ name: 'Later', members: [bId!] });
    const gid = g.groupId;
    await waitFor(async () => (await bob.app.groups.list()).some((x) => x.groupId === gid), 'bob');
    await closeApp(eve.app);
    await alice.app.groups.add({ groupId: gid, userIds: [eId!] });
    await waitFor(
      () => GroupHub.of(bob.app.context).offline.mailHeld(eveKey!) === 1,
      'welcome mailed to bob',
    );

    // Bob restarts: he still holds Eve's packages and her mail.
    let bobApp = await restart(bob.app, bob.dir);
    expect(held(bobApp)).toEqual(before);
    const mailAt = (app: ParleyApp) => GroupHub.of(app.context).offline.mailHeld(eveKey!);
    // Mailboxes come back from the store just after the unlock.
    await waitFor(() => mailAt(bobApp) === 1, 'mail restored');
    const stored: string[] = [];
    for await (const [name] of bobApp.context.session().store.namespace(HOLDINGS_NS).entries()) {
      stored.push(name.split('/')[0]!);
    }
    expect(stored.sort()).toEqual(['kp', 'kp', 'mail']); // Alice's and Eve's shelves, Eve's mail

    // Alice fetches one of Eve's packages from the restarted Bob; after another restart Bob still
    // knows it went out.
    const bobPeer = (await bobApp.network.status()).peerId;
    await waitFor(
      async () => (await alice.app.contacts.list()).some((c) => c.userId === bId && c.online),
      'bob redialled alice',
    );
    const got = await fetchKeyPackage(
      alice.app.context.session().ports.requests,
      alice.app.context.suite,
      [bobPeer],
      eveKey!,
    );
    expect(Buffer.from(got.owner).equals(Buffer.from(eveKey!))).toBe(true);
    expect(got.lastResort).toBe(false);
    expect(held(bobApp).oneTime).toBe(before.oneTime - 1);
    bobApp = await restart(bobApp, bob.dir);
    expect(held(bobApp)).toEqual({ oneTime: before.oneTime - 1, lastResort: true });
    await waitFor(() => mailAt(bobApp) === 1, 'mail restored again');

    // Alice is gone; Eve comes back and joins from the mailbox Bob kept across his restarts.
    await closeApp(alice.app);
    const eveBack = openApp(eve.dir);
    await eveBack.profile.unlock({ passphrase: PASS });
    await waitFor(
      async () => (await eveBack.groups.list()).some((x) => x.groupId === gid),
      'eve joined from the mailbox',
      30_000,
    );
    await waitFor(() => mailAt(bobApp) === 0, 'the fetched mail is acknowledged and dropped');
  }, 120_000);
});
