import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeInvite, encodeInvite } from '../../src-core/net/index.js';
import { PASS, appErrorCode, cleanup, closeApp, newUser, openApp } from './appFixture.js';

afterEach(cleanup);

describe('app: devices', () => {
  it('links a new device over the link protocol, both list it, revoking publishes a record without it', async () => {
    const alice = await newUser('Alice');
    const laptop = await alice.app.identity.me();
    expect(await alice.app.devices.list()).toEqual([
      expect.objectContaining({ deviceId: laptop.deviceId, name: "Alice's laptop", current: true }),
    ]);
    const offer = await alice.app.devices.offerLink();
    expect(offer.code.startsWith('LINK-PARLEY:1:')).toBe(true);
    expect(offer.qr.size).toBeGreaterThanOrEqual(21);

    // A link code is not a contact invite, and a contact invite is not a link code.
    const stranger = await newUser('Mallory');
    expect(await appErrorCode(stranger.app.contacts.addByInviteCode({ code: offer.code }))).toBe(
      'bad_request',
    );
    expect(
      await appErrorCode(
        stranger.app.devices.acceptLink({ code: laptop.inviteCode, deviceName: 'x' }),
      ),
    ).toBe('bad_request');
    // A well-formed code with a secret the device never made is refused by it.
    const real = decodeInvite(offer.code.slice('LINK-'.length));
    const guessed = 'LINK-' + encodeInvite({ ...real, secret: new Uint8Array(randomBytes(16)) });
    expect(
      await appErrorCode(stranger.app.devices.acceptLink({ code: guessed, deviceName: 'x' })),
    ).toBe('forbidden');
    // A typo breaks the checksum.
    const typo = offer.code.slice(0, -3) + (offer.code.endsWith('A') ? 'BBB' : 'AAA');
    expect(
      await appErrorCode(stranger.app.devices.acceptLink({ code: typo, deviceName: 'x' })),
    ).toBe('bad_request');

    const phone = await newUser('Alice (new phone)');
    const linked = await phone.app.devices.acceptLink({ code: offer.code, deviceName: 'phone' });
    expect(linked.userId).toBe(laptop.userId);
    expect(linked.displayName).toBe('Alice');
    expect(linked.deviceName).toBe('phone');
    expect(linked.fingerprint).toBe(laptop.fingerprint);
    expect(linked.deviceId).not.toBe(laptop.deviceId);
    // The code was used once.
    expect(
      await appErrorCode(stranger.app.devices.acceptLink({ code: offer.code, deviceName: 'y' })),
    ).toBe('forbidden');

    const names = (devices: { name: string }[]) => devices.map((d) => d.name).sort();
    expect(names(await alice.app.devices.list())).toEqual(["Alice's laptop", 'phone']);
    expect(names(await phone.app.devices.list())).toEqual(["Alice's laptop", 'phone']);
    expect((await phone.app.devices.list()).find((d) => d.current)?.name).toBe('phone');

    // The linked device was given the user key, and keeps its identity across a restart.
    await closeApp(phone.app);
    const phone2 = openApp(phone.dir);
    expect((await phone2.profile.unlock({ passphrase: PASS })).userId).toBe(laptop.userId);
    expect(phone2.context.session().identity.userKey?.publicKey).toEqual(
      alice.app.context.session().identity.record.userKey,
    );
    expect(await appErrorCode(phone2.devices.revoke({ deviceId: linked.deviceId }))).toBe(
      'bad_request',
    );

    await alice.app.devices.revoke({ deviceId: linked.deviceId });
    expect(names(await alice.app.devices.list())).toEqual(["Alice's laptop"]);
    const record = alice.app.context.session().identity.record;
    expect(record.sequence).toBe(3n);
    expect(record.revoked).toHaveLength(1);
    expect(await appErrorCode(alice.app.devices.revoke({ deviceId: linked.deviceId }))).toBe(
      'not_found',
    );
  });
});
