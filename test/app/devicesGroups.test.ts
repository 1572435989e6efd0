import { afterEach, describe, expect, it } from 'vitest';
import type { ParleyApp } from '../../src-core/app/parleyApp.js';
import { cleanup, newUser, waitFor } from './appFixture.js';

afterEach(cleanup);

async function befriend(a: ParleyApp, b: ParleyApp): Promise<void> {
  const code = (await a.identity.me()).inviteCode;
  const c = await b.contacts.addByInviteCode({ code });
  await waitFor(
    async () => (await b.contacts.list()).some((x) => x.userId === c.userId && x.online),
    'online',
  );
}

async function texts(app: ParleyApp, groupId: string): Promise<string[]> {
  return (await app.messages.history({ groupId })).messages.map((m) => m.text);
}

async function devicesOf(app: ParleyApp, groupId: string, userId: string): Promise<number> {
  const members = await app.groups.members({ groupId });
  return members.find((m) => m.userId === userId)?.devices ?? 0;
}

async function stateOf(app: ParleyApp, groupId: string): Promise<string | undefined> {
  return (await app.groups.list()).find((g) => g.groupId === groupId)?.state;
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
      const log = await bob.app.groups.membershipLog({ groupId: g });
      expect(log.entries.some((e) => e.change === 'device_added' && e.subjectUserId === aId)).toBe(
        true,
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

    // Revoking: gone from both groups in Bob's view and Alice's, and the phone learns it.
    await alice.app.devices.revoke({ deviceId: linked.deviceId });
    for (const g of [g1, g2]) {
      await waitFor(async () => (await devicesOf(bob.app, g, aId)) === 1, `bob: 1 device in ${g}`);
      await waitFor(async () => (await devicesOf(alice.app, g, aId)) === 1, `alice: 1 in ${g}`);
      await waitFor(async () => (await stateOf(phone.app, g)) === 'removed', `phone out of ${g}`);
      const log = await bob.app.groups.membershipLog({ groupId: g });
      expect(
        log.entries.some((e) => e.change === 'device_removed' && e.subjectUserId === aId),
      ).toBe(true);
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
});
