import { afterEach, describe, expect, it } from 'vitest';
import { GroupHub } from '../../src-core/app/groups/groupHub.js';
import type { ParleyApp } from '../../src-core/app/parleyApp.js';
import { CONTACT_PROTOCOL } from '../../src-core/app/contactsService.js';
import { makeIntroduction } from '../../src-core/app/introduction.js';
import { encodeIdentityRecord, nextIdentityRecord } from '../../src-core/identity/index.js';
import { MemoryPeerIdentityStore } from '../../src-core/net/index.js';
import {
  PASS,
  befriend,
  cleanup,
  texts,
  closeApp,
  newUser,
  openApp,
  waitFor,
} from './appFixture.js';

afterEach(cleanup);

async function devicesOf(app: ParleyApp, groupId: string, userId: string): Promise<number> {
  const members = await app.groups.members({ groupId });
  return members.find((m) => m.userId === userId)?.devices ?? 0;
}

async function stateOf(app: ParleyApp, groupId: string): Promise<string | undefined> {
  return (await app.groups.list()).find((g) => g.groupId === groupId)?.state;
}

/** Alice and Bob (contacts), a group of Alice's with Bob, and Alice's phone linked into it. */
async function aliceWithPhone() {
  const alice = await newUser('Alice');
  const bob = await newUser('Bob');
  await befriend(alice.app, bob.app);
  const aId = (await alice.app.identity.me()).userId;
  const bId = (await bob.app.identity.me()).userId;
  const g1 = (await alice.app.groups.create({ name: 'Alice team', members: [bId] })).groupId;
  await waitFor(async () => (await stateOf(bob.app, g1)) === 'active', 'bob in g1');
  const offer = await alice.app.devices.offerLink();
  const phone = await newUser('Alice (new phone)');
  const linked = await phone.app.devices.acceptLink({ code: offer.code, deviceName: 'phone' });
  await waitFor(async () => (await stateOf(phone.app, g1)) === 'active', 'phone in g1');
  // The group is listed as active from the moment the Welcome is taken, while its state is still
  // being stored; its session starts only after that (joinFlow.ts). A send before then is refused.
  await waitFor(
    async () => GroupHub.of(phone.app.context).get(g1).session?.isRunning === true,
    'the phone’s g1 session runs',
  );
  await waitFor(async () => (await devicesOf(bob.app, g1, aId)) === 2, 'bob sees 2 devices');
  return { alice, bob, phone, aId, g1, phoneDeviceId: linked.deviceId };
}

describe('app: a user’s devices in the user’s groups', () => {
  it('a linked device joins both groups, is one user to others, and revoking it removes it everywhere', async () => {
    const alice = await newUser('Alice');
    const bob = await newUser('Bob');
    await befriend(alice.app, bob.app);
    const aId = (await alice.app.identity.me()).userId;
    const bId = (await bob.app.identity.me()).userId;

    // One group Alice runs, one Bob runs where Alice is a plain member (membership = admins).
    const g1 = (await alice.app.groups.create({ name: 'Alice team', members: [bId] })).groupId;
    const g2 = (await bob.app.groups.create({ name: 'Bob club', members: [aId] })).groupId;
    await waitFor(async () => (await stateOf(bob.app, g1)) === 'active', 'bob in g1');
    await waitFor(async () => (await stateOf(alice.app, g2)) === 'active', 'alice in g2');
    expect((await alice.app.groups.policy({ groupId: g2 })).membership).toBe('admins');
    await alice.app.messages.send({ groupId: g1, text: 'before the phone' });
    await waitFor(async () => (await texts(bob.app, g1)).includes('before the phone'), 'bob');

    const offer = await alice.app.devices.offerLink();
    const phone = await newUser('Alice (new phone)');
    const linked = await phone.app.devices.acceptLink({ code: offer.code, deviceName: 'phone' });
    expect(linked.userId).toBe(aId);

    // The phone gets both groups, same names, same roles.
    await waitFor(async () => (await phone.app.groups.list()).length === 2, 'phone in 2 groups');
    const phoneGroups = await phone.app.groups.list();
    expect(phoneGroups.find((g) => g.groupId === g1)).toMatchObject({
      name: 'Alice team',
      myRole: 'admin',
      state: 'active',
    });
    expect(phoneGroups.find((g) => g.groupId === g2)).toMatchObject({
      name: 'Bob club',
      myRole: 'member',
      state: 'active',
    });
    // Bob sees Alice once, with two devices; the log says a device joined, not a new person.
    for (const g of [g1, g2]) {
      await waitFor(async () => (await devicesOf(bob.app, g, aId)) === 2, `bob: 2 devices in ${g}`);
      const members = await bob.app.groups.members({ groupId: g });
      expect(members.map((m) => m.displayName).sort()).toEqual(['Alice', 'Bob']);
      // The entry is stored in the batch after the merge the members view already shows.
      await waitFor(
        async () =>
          (await bob.app.groups.membershipLog({ groupId: g })).entries.some(
            (e) => e.change === 'device_added' && e.subjectUserId === aId,
          ),
        'bob logs device_added',
      );
    }
    const phoneMembers = await phone.app.groups.members({ groupId: g2 });
    expect(phoneMembers.find((m) => m.isMe)).toMatchObject({ userId: aId, devices: 2 });

    // Forward secrecy: nothing from before it joined; everything after.
    expect(await texts(phone.app, g1)).not.toContain('before the phone');
    await bob.app.messages.send({ groupId: g1, text: 'hello both of you' });
    await waitFor(
      async () => (await texts(phone.app, g1)).includes('hello both of you'),
      'phone reads g1',
    );
    await phone.app.messages.send({ groupId: g2, text: 'from the phone' });
    await waitFor(async () => (await texts(bob.app, g2)).includes('from the phone'), 'bob reads');
    await waitFor(async () => (await texts(alice.app, g2)).includes('from the phone'), 'alice');
    const fromPhone = (await bob.app.messages.history({ groupId: g2 })).messages.find(
      (m) => m.text === 'from the phone',
    );
    expect(fromPhone).toMatchObject({ senderUserId: aId, senderName: 'Alice' });

    // A group Alice joins later (Bob adds her laptop, the device he knows) reaches the phone too.
    const g3 = (await bob.app.groups.create({ name: 'Later', members: [aId] })).groupId;
    await waitFor(async () => (await stateOf(phone.app, g3)) === 'active', 'phone in g3');
    await waitFor(async () => (await devicesOf(bob.app, g3, aId)) === 2, 'bob: 2 devices in g3');

    // Revoking: gone from every group in Bob's view and Alice's, and the phone learns it.
    await alice.app.devices.revoke({ deviceId: linked.deviceId });
    for (const g of [g1, g2, g3]) {
      await waitFor(async () => (await devicesOf(bob.app, g, aId)) === 1, `bob: 1 device in ${g}`);
      await waitFor(async () => (await devicesOf(alice.app, g, aId)) === 1, `alice: 1 in ${g}`);
      await waitFor(async () => (await stateOf(phone.app, g)) === 'removed', `phone out of ${g}`);
      await waitFor(
        async () =>
          (await bob.app.groups.membershipLog({ groupId: g })).entries.some(
            (e) => e.change === 'device_removed' && e.subjectUserId === aId,
          ),
        'bob logs device_removed',
      );
    }
    await bob.app.messages.send({ groupId: g2, text: 'after the revocation' });
    await waitFor(
      async () => (await texts(alice.app, g2)).includes('after the revocation'),
      'alice reads',
    );
    expect(await texts(phone.app, g2)).not.toContain('after the revocation');
    // The phone's history from before stays readable on it.
    expect(await texts(phone.app, g1)).toContain('hello both of you');
  });

  it('refuses a revoked device’s messages from the moment the record is known, before its removal', async () => {
    const { alice, bob, phone, g1, phoneDeviceId } = await aliceWithPhone();
    // Bob learns a revocation of the phone (as gossip would bring it) and, not being an admin
    // of Alice's group, cannot remove it himself: the phone's leaf stays in his tree for now.
    const a = alice.app.context.session();
    const revocation = nextIdentityRecord(a.identity.userKey!, a.identity.record, {
      revokeDevices: [new Uint8Array(Buffer.from(phoneDeviceId, 'hex'))],
      issuedAt: alice.app.context.nowSeconds(),
    });
    expect(bob.app.context.session().records.add(encodeIdentityRecord(revocation)).kind).toBe(
      'replaced',
    );
    const bobEntry = GroupHub.of(bob.app.context).get(g1);
    const phoneLeaf = GroupHub.of(phone.app.context).get(g1).group!.ownLeaf;
    let arrived = false;
    const off = bobEntry.session!.on('message', (m) => {
      if (m.sender.leafIndex === phoneLeaf) arrived = true;
    });
    await phone.app.messages.send({ groupId: g1, text: 'sent by a revoked device' });
    await waitFor(async () => arrived, 'the message reaches bob’s group session');
    off();
    await bobEntry.chain;
    expect(await texts(bob.app, g1)).not.toContain('sent by a revoked device');
    // Alice has not revoked it yet: she reads it (the refusal is Bob's knowledge, not MLS's).
    await waitFor(
      async () => (await texts(alice.app, g1)).includes('sent by a revoked device'),
      'alice reads',
    );
  });

  it('a device offline when it is revoked learns it on its return and closes its groups', async () => {
    const { alice, bob, phone, aId, g1, phoneDeviceId } = await aliceWithPhone();
    await closeApp(phone.app);
    await alice.app.devices.revoke({ deviceId: phoneDeviceId });
    await waitFor(async () => (await devicesOf(bob.app, g1, aId)) === 1, 'bob: 1 device');
    await waitFor(async () => (await devicesOf(alice.app, g1, aId)) === 1, 'alice: 1 device');
    // It comes back under a new peer id: no contact has that peer bound to Alice.
    const back = openApp(phone.dir, { peerIdentity: () => new MemoryPeerIdentityStore() });
    await back.profile.unlock({ passphrase: PASS });
    await waitFor(async () => (await stateOf(back, g1)) === 'removed', 'the phone closes g1');
    // It holds the record that revoked it (refused by Alice's device, it pulled her record): the
    // commit removing it may also reach it (gossip's recent-message cache), the record always does.
    const own = back.context.session();
    await waitFor(
      async () => own.records.newestRecord(own.identity.record.userKey)?.revoked.length === 1,
      'the phone holds its revocation',
    );
    // Bob does not take the revoked device as Alice's new one, though its old record lists it.
    const b = bob.app.context.session();
    await waitFor(async () => own.node.isConnected(b.node.peerId), 'the phone reaches bob');
    const hello = makeIntroduction(own.identity.record, own.identity.deviceKey, own.node.peerId);
    await expect(
      own.ports.requests.request(b.node.peerId, CONTACT_PROTOCOL, hello),
    ).rejects.toThrow();
    expect(b.contacts.contactOfPeer(own.node.peerId)).toBeUndefined();
    // It is no longer served as Alice's device.
    expect((await alice.app.devices.list()).map((d) => d.deviceId)).not.toContain(phoneDeviceId);
  });

  it('records travel between our devices, and the new device can revoke the old one', async () => {
    const { alice, bob, phone, aId, g1 } = await aliceWithPhone();
    const laptopId = (await alice.app.identity.me()).deviceId;
    // A rename on the laptop reaches the phone (it adopts the newer record of its own user).
    await alice.app.identity.setDisplayName({ displayName: 'Alice L.' });
    await waitFor(
      async () => (await phone.app.identity.me()).displayName === 'Alice L.',
      'the phone takes the renamed record',
    );
    await waitFor(
      async () =>
        (await phone.app.devices.list()).some(
          (d) => d.deviceId === laptopId && d.lastSeenAt !== null,
        ),
      'the phone knows which peer is the laptop',
    );
    // The phone knows Alice's contacts (from the laptop) and Bob knows the phone as Alice's.
    await waitFor(
      async () =>
        (await phone.app.contacts.list()).some((c) => c.displayName === 'Bob' && c.online),
      'the phone has Bob as an online contact',
    );
    expect((await bob.app.contacts.list()).filter((c) => c.userId === aId)).toHaveLength(1);
    await phone.app.devices.revoke({ deviceId: laptopId });
    await waitFor(async () => (await stateOf(alice.app, g1)) === 'removed', 'the laptop is out');
    await waitFor(async () => (await devicesOf(bob.app, g1, aId)) === 1, 'bob: 1 device');
    await phone.app.messages.send({ groupId: g1, text: 'only the phone now' });
    await waitFor(
      async () => (await texts(bob.app, g1)).includes('only the phone now'),
      'bob reads the phone',
    );
  });
});
