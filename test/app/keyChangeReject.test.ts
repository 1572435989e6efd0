/**
 * `contacts.rejectKeyChange`: a contact's peer presents another user key; the user refuses it.
 * The pinned key stays, the contact returns to the verification it had before the change (here
 * verified), the safety number is the old key's again, the decision survives a restart, and
 * there is nothing left to accept or reject. Also over the RPC boundary (schema both ways).
 */
import { MessageChannel } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import type { PortLike } from '../../src-core/app/rpc/channel.js';
import { portChannel } from '../../src-core/app/rpc/channel.js';
import { createClient } from '../../src-core/app/rpc/client.js';
import { serveChannel } from '../../src-core/app/rpc/server.js';
import { MemoryPeerIdentityStore } from '../../src-core/net/index.js';
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

function nodePort(port: MessagePort): PortLike {
  const adapted: PortLike = { postMessage: (m) => port.postMessage(m), onmessage: null };
  port.on('message', (data: unknown) => adapted.onmessage?.({ data }));
  return adapted;
}

describe('contacts: rejecting a key change', () => {
  it('keeps the pinned key and the earlier verification, across a restart and over RPC', async () => {
    const bobPeerKey = new MemoryPeerIdentityStore();
    const alice = await newUser('Alice');
    const bob = await newUser('Bob', { peerIdentity: () => bobPeerKey });
    const bMe = await bob.app.identity.me();
    await bob.app.contacts.addByInviteCode({ code: (await alice.app.identity.me()).inviteCode });
    await alice.app.contacts.verify({ userId: bMe.userId });
    const before = await alice.app.contacts.safetyNumber({ userId: bMe.userId });
    // Nothing to reject yet.
    expect(await appErrorCode(alice.app.contacts.rejectKeyChange({ userId: bMe.userId }))).toBe(
      'conflict',
    );
    expect(
      await appErrorCode(alice.app.contacts.rejectKeyChange({ userId: 'ab'.repeat(16) })),
    ).toBe('not_found');
    await closeApp(bob.app);

    // Same peer id, another user key.
    const loud = collect(alice.app, 'contact.key_changed');
    const impostor = await newUser('Bob', { peerIdentity: () => bobPeerKey });
    await impostor.app.contacts.addByInviteCode({
      code: (await alice.app.identity.me()).inviteCode,
    });
    await waitFor(() => loud.length > 0, 'key_changed event');
    expect((await alice.app.contacts.list())[0]?.verification).toBe('key_changed');
    const changed = await alice.app.contacts.safetyNumber({ userId: bMe.userId });
    expect(changed.digits).not.toBe(before.digits);
    // The impostor goes away: online, it would present its key again at each reconnection (and
    // be flagged again after the rejection).
    await closeApp(impostor.app);

    // Rejected through the RPC layer, as the UI would.
    const mc = new MessageChannel();
    serveChannel(alice.app, portChannel(nodePort(mc.port1)));
    const client = createClient(portChannel(nodePort(mc.port2)));
    const changedEvents = collect(alice.app, 'contact.changed');
    const rejected = await client.contacts.rejectKeyChange({ userId: bMe.userId });
    expect(rejected).toMatchObject({ userId: bMe.userId, verification: 'verified' });
    expect(changedEvents.at(-1)?.contact.verification).toBe('verified');
    await expect(client.contacts.rejectKeyChange({ userId: '' })).rejects.toMatchObject({
      code: 'bad_request',
    });
    client.close();
    mc.port1.close();
    mc.port2.close();
    expect((await alice.app.contacts.safetyNumber({ userId: bMe.userId })).digits).toBe(
      before.digits,
    );
    expect(await appErrorCode(alice.app.contacts.acceptKeyChange({ userId: bMe.userId }))).toBe(
      'conflict',
    );

    // The decision is stored.
    await closeApp(alice.app);
    const alice2 = openApp(alice.dir);
    await alice2.profile.unlock({ passphrase: PASS });
    const after = (await alice2.contacts.list())[0];
    expect(after).toMatchObject({ userId: bMe.userId, verification: 'verified' });
    expect((await alice2.contacts.safetyNumber({ userId: bMe.userId })).digits).toBe(before.digits);
    expect(await appErrorCode(alice2.contacts.rejectKeyChange({ userId: bMe.userId }))).toBe(
      'conflict',
    );
  });
});
