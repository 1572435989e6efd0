import { afterEach, describe, expect, it } from 'vitest';
import type { ParleyApp } from '../../src-core/app/parleyApp.js';
import { safetyNumber, safetyQrPayload, generateUserKey } from '../../src-core/identity/index.js';
import { MemoryPeerIdentityStore } from '../../src-core/net/index.js';
import { fetchKeyPackage } from '../../src-core/delivery/keyPackageDirectory.js';
import { makeIntroduction } from '../../src-core/app/introduction.js';
import {
  PASS,
  appErrorCode,
  cleanup,
  closeApp,
  collect,
  newUser,
  openApp,
  waitFor,
} from './appFixture.js';

afterEach(cleanup);

const userKeyOf = (app: ParleyApp) => app.context.session().identity.record.userKey;
const kpOwnerOf = (app: ParleyApp) => app.context.session().keyPackages.signatureKeyPair.publicKey;

async function contactOf(app: ParleyApp, userId: string) {
  return (await app.contacts.list()).find((c) => c.userId === userId);
}

describe('app: contacts over libp2p on 127.0.0.1', () => {
  it('invite code → contacts both ways, records, safety numbers, QR verification, KeyPackages, restart', async () => {
    const alice = await newUser('Alice');
    const bob = await newUser('Bob');
    const aMe = await alice.app.identity.me();
    const bMe = await bob.app.identity.me();
    const aliceChanges = collect(alice.app, 'contact.changed');

    const added = await bob.app.contacts.addByInviteCode({ code: aMe.inviteCode });
    expect(added).toMatchObject({
      userId: aMe.userId,
      displayName: 'Alice',
      verification: 'unverified',
    });
    // The inviter made Bob a contact while answering; the code shown is spent and replaced.
    expect(await contactOf(alice.app, bMe.userId)).toMatchObject({
      displayName: 'Bob',
      verification: 'unverified',
    });
    expect(aliceChanges.some((e) => e.contact.userId === bMe.userId)).toBe(true);
    expect((await alice.app.identity.me()).inviteCode).not.toBe(aMe.inviteCode);
    // A used code is refused (the inviter gives one answer for wrong, used and expired codes).
    const carol = await newUser('Carol');
    expect(await appErrorCode(carol.app.contacts.addByInviteCode({ code: aMe.inviteCode }))).toBe(
      'forbidden',
    );
    expect(await appErrorCode(carol.app.contacts.addByInviteCode({ code: 'PARLEY:1:NOPE' }))).toBe(
      'bad_request',
    );
    await waitFor(async () => (await contactOf(alice.app, bMe.userId))?.online === true, 'online');

    // Each side holds the other's record (the record book) and a batch of its KeyPackages.
    const aS = alice.app.context.session();
    const bS = bob.app.context.session();
    expect(aS.records.newestRecord(userKeyOf(bob.app))?.displayName).toBe('Bob');
    expect(bS.records.newestRecord(userKeyOf(alice.app))?.displayName).toBe('Alice');
    await waitFor(
      () => aS.keyPackages.holder.held(kpOwnerOf(bob.app)).oneTime >= 8,
      'B packages at A',
    );
    await waitFor(
      () => bS.keyPackages.holder.held(kpOwnerOf(alice.app)).oneTime >= 8,
      'A packages at B',
    );
    expect(aS.keyPackages.holder.held(kpOwnerOf(bob.app)).lastResort).toBe(true);

    // Safety numbers: 60 digits, equal on both sides.
    const aView = await alice.app.contacts.safetyNumber({ userId: bMe.userId });
    const bView = await bob.app.contacts.safetyNumber({ userId: aMe.userId });
    expect(aView.digits).toMatch(/^\d{60}$/);
    expect(aView.digits).toBe(bView.digits);
    expect(aView.groups.join('')).toBe(aView.digits);
    expect(aView.digits).toContain(aMe.fingerprint);
    expect(aView.digits).toContain(bMe.fingerprint);

    // Alice scans Bob's QR: what Bob's screen encodes is his view of the pair.
    const bobsQr = safetyQrPayload(safetyNumber(userKeyOf(bob.app), userKeyOf(alice.app)));
    const forged = safetyQrPayload(safetyNumber(generateUserKey().publicKey, userKeyOf(alice.app)));
    const bad = await alice.app.contacts.verify({
      userId: bMe.userId,
      scannedQr: Buffer.from(forged).toString('base64url'),
    });
    expect(bad.check).toBe('their_key_differs');
    expect(bad.contact.verification).toBe('unverified');
    expect((await alice.app.contacts.verify({ userId: bMe.userId, scannedQr: 'AAAA' })).check).toBe(
      'unreadable',
    );
    const good = await alice.app.contacts.verify({
      userId: bMe.userId,
      scannedQr: Buffer.from(bobsQr).toString('base64url'),
    });
    expect(good.check).toBe('match');
    expect(good.contact.verification).toBe('verified');
    // Bob confirms by reading the digits.
    const byDigits = await bob.app.contacts.verify({ userId: aMe.userId });
    expect(byDigits).toMatchObject({
      check: 'confirmed_by_user',
      contact: { verification: 'verified' },
    });
    expect(await appErrorCode(bob.app.contacts.verify({ userId: 'ff'.repeat(32) }))).toBe(
      'not_found',
    );

    // Bad introductions over the network are refused and change nothing: garbage from a
    // contact's peer, and a contact's genuine introduction replayed by a stranger's peer.
    const trustBefore = Buffer.from(aS.trust.export()).toString('hex');
    const alicePeer = aS.node.peerId;
    await expect(
      bS.ports.requests.request(alicePeer, 'contact', new Uint8Array([0, 1, 2, 3])),
    ).rejects.toMatchObject({ code: 'peer_refused' });
    const bobIntro = makeIntroduction(bS.identity.record, bS.identity.deviceKey, bS.node.peerId);
    const cS = carol.app.context.session();
    await cS.node.dial(aS.node.addresses()[0]!);
    await expect(cS.ports.requests.request(alicePeer, 'contact', bobIntro)).rejects.toMatchObject({
      code: 'peer_refused',
    });
    expect(Buffer.from(aS.trust.export()).toString('hex')).toBe(trustBefore);
    expect((await alice.app.contacts.list()).map((c) => c.displayName)).toEqual(['Bob']);

    // A new name is signed as the next record and reaches the connected contact.
    await bob.app.identity.setDisplayName({ displayName: 'Robert' });
    await waitFor(
      async () => (await contactOf(alice.app, bMe.userId))?.displayName === 'Robert',
      'rename',
    );
    expect(aS.records.newestRecord(userKeyOf(bob.app))?.sequence).toBe(2n);

    // Restart Alice from her folder: contacts, trust state and records survive; Bob reconnects.
    const aliceKpOwner = kpOwnerOf(alice.app).slice();
    await closeApp(alice.app);
    const alice2 = openApp(alice.dir);
    await alice2.profile.unlock({ passphrase: PASS });
    expect(await contactOf(alice2, bMe.userId)).toMatchObject({
      displayName: 'Robert',
      verification: 'verified',
    });
    expect(alice2.context.session().records.newestRecord(userKeyOf(bob.app))?.displayName).toBe(
      'Robert',
    );
    expect((await alice2.contacts.safetyNumber({ userId: bMe.userId })).digits).toBe(aView.digits);
    await waitFor(async () => (await contactOf(alice2, bMe.userId))?.online === true, 'reconnect');
    // The KeyPackages Bob holds for Alice still open after her restart: same owner key, and a
    // package fetched from Bob is one whose private keys Alice2 holds.
    const a2 = alice2.context.session();
    expect(a2.keyPackages.signatureKeyPair.publicKey).toEqual(aliceKpOwner);
    const fetched = await fetchKeyPackage(
      a2.ports.requests,
      a2.keyPackages.client.suite,
      [(await bob.app.network.status()).peerId],
      aliceKpOwner,
    );
    const held = a2.keyPackages.client
      .keyPackageList()
      .map((p) => Buffer.from(p.ref).toString('hex'));
    expect(held).toContain(Buffer.from(fetched.ref).toString('hex'));
    const peers = await alice2.network.peers();
    expect(peers.find((p) => p.userId === bMe.userId)?.displayName).toBe('Robert');
    const status = await alice2.network.status();
    expect(status).toMatchObject({ online: true, lanDiscovery: false });
    expect(status.connectedPeers).toBeGreaterThanOrEqual(1);
  });

  it('a peer that proved to be a contact presents another user key: key_changed, loud event, held until accepted', async () => {
    // Bob's libp2p key is shared with a second profile (a reinstall that kept the network key,
    // or whoever stole it): same peer id, new user key, same name.
    const bobPeerKey = new MemoryPeerIdentityStore();
    const alice = await newUser('Alice');
    const bob = await newUser('Bob', { peerIdentity: () => bobPeerKey });
    const bMe = await bob.app.identity.me();
    await bob.app.contacts.addByInviteCode({ code: (await alice.app.identity.me()).inviteCode });
    await alice.app.contacts.verify({ userId: bMe.userId });
    const before = await alice.app.contacts.safetyNumber({ userId: bMe.userId });
    const bobPeerId = (await bob.app.network.status()).peerId;
    await closeApp(bob.app);

    const loud = collect(alice.app, 'contact.key_changed');
    const impostor = await newUser('Bob', { peerIdentity: () => bobPeerKey });
    expect((await impostor.app.network.status()).peerId).toBe(bobPeerId);
    await impostor.app.contacts.addByInviteCode({
      code: (await alice.app.identity.me()).inviteCode,
    });
    await waitFor(() => loud.length > 0, 'key_changed event');
    expect(loud[0]).toMatchObject({
      userId: bMe.userId,
      displayName: 'Bob',
      previousFingerprint: bMe.fingerprint,
      newFingerprint: (await impostor.app.identity.me()).fingerprint,
    });
    const list = await alice.app.contacts.list();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ userId: bMe.userId, verification: 'key_changed' });
    // What the user compares now is the new key's number.
    const changed = await alice.app.contacts.safetyNumber({ userId: bMe.userId });
    expect(changed.digits).not.toBe(before.digits);
    // The pinned key stays pinned until the user decides.
    const aS = alice.app.context.session();
    expect(aS.trust.contact(bMe.userId)?.userKey).toEqual(
      aS.trust.contactByKey(aS.trust.contact(bMe.userId)!.userKey)?.userKey,
    );

    // The decision survives a restart, and accepting makes the contact unverified on the new key.
    await closeApp(alice.app);
    const alice2 = openApp(alice.dir);
    await alice2.profile.unlock({ passphrase: PASS });
    expect((await alice2.contacts.list())[0]?.verification).toBe('key_changed');
    const accepted = await alice2.contacts.acceptKeyChange({ userId: bMe.userId });
    expect(accepted.verification).toBe('unverified');
    expect(await appErrorCode(alice2.contacts.acceptKeyChange({ userId: bMe.userId }))).toBe(
      'conflict',
    );
    expect((await alice2.contacts.safetyNumber({ userId: bMe.userId })).digits).toBe(
      changed.digits,
    );
  });
});
