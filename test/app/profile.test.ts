import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, describe, expect, it } from 'vitest';
import {
  PASS,
  appErrorCode,
  cleanup,
  closeApp,
  collect,
  openApp,
  tempProfileDir,
} from './appFixture.js';

afterEach(cleanup);

/**
 * Every raw record of the database (keys and encrypted values), hashed: "untouched" means this
 * stays equal. (LevelDB reorganises its files on every open, so the files themselves change.)
 */
async function snapshot(dir: string): Promise<{ records: number; hash: string }> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, {
    keyEncoding: 'view',
    valueEncoding: 'view',
    createIfMissing: false,
  });
  const h = createHash('sha256');
  let records = 0;
  for await (const [k, v] of db.iterator()) {
    h.update(Buffer.from(k).toString('hex')).update(':').update(Buffer.from(v).toString('hex'));
    h.update(';');
    records++;
  }
  await db.close();
  return { records, hash: h.digest('hex') };
}

describe('app: profile lifecycle', () => {
  it('create, lock, wrong passphrase (typed error, files untouched), unlock, reopen', async () => {
    const dir = await tempProfileDir();
    const app = openApp(dir);
    expect(await app.profile.status()).toEqual({ state: 'absent', keyProtection: 'passphrase' });
    expect(await appErrorCode(app.identity.me())).toBe('locked');
    expect(
      await appErrorCode(app.profile.create({ displayName: 'Ada', deviceName: 'laptop' })),
    ).toBe('bad_request');
    expect(await app.profile.status()).toEqual({ state: 'absent', keyProtection: 'passphrase' });

    const me = await app.profile.create({
      displayName: ' Ada ',
      deviceName: 'laptop',
      passphrase: PASS,
    });
    expect(me.displayName).toBe('Ada');
    expect(me.deviceName).toBe('laptop');
    expect(me.userId).toMatch(/^[0-9a-f]{64}$/);
    expect(me.fingerprint).toMatch(/^\d{30}$/);
    expect(me.inviteCode.startsWith('PARLEY:1:')).toBe(true);
    expect(me.inviteQr.size).toBeGreaterThanOrEqual(21);
    expect(Buffer.from(me.inviteQr.modules, 'base64url').length).toBe(me.inviteQr.size ** 2);
    // One code is shown until it is used or about to expire.
    expect((await app.identity.me()).inviteCode).toBe(me.inviteCode);
    expect(
      await appErrorCode(
        app.profile.create({ displayName: 'Ada', deviceName: 'x', passphrase: PASS }),
      ),
    ).toBe('conflict');

    const locked = collect(app, 'profile.locked');
    await app.profile.lock();
    expect(locked).toEqual([{ reason: 'user' }]);
    expect((await app.profile.status()).state).toBe('locked');
    expect(await appErrorCode(app.identity.me())).toBe('locked');
    expect(await appErrorCode(app.contacts.list())).toBe('locked');

    const before = await snapshot(join(dir, 'db'));
    expect(before.records).toBeGreaterThan(3);
    expect(await appErrorCode(app.profile.unlock({ passphrase: 'wrong horse' }))).toBe(
      'wrong_passphrase',
    );
    expect(await appErrorCode(app.profile.unlock({}))).toBe('bad_request');
    expect(await snapshot(join(dir, 'db'))).toEqual(before);
    expect((await app.profile.status()).state).toBe('locked');

    const again = await app.profile.unlock({ passphrase: PASS });
    expect(again.userId).toBe(me.userId);
    expect(again.fingerprint).toBe(me.fingerprint);
    await closeApp(app);

    const reopened = openApp(dir);
    expect((await reopened.profile.status()).state).toBe('locked');
    const third = await reopened.profile.unlock({ passphrase: PASS });
    expect(third).toMatchObject({ userId: me.userId, displayName: 'Ada', deviceName: 'laptop' });
    const renamed = await reopened.identity.setDisplayName({ displayName: 'Ada L.' });
    expect(renamed.displayName).toBe('Ada L.');
    await closeApp(reopened);
    const fourth = openApp(dir);
    expect((await fourth.profile.unlock({ passphrase: PASS })).displayName).toBe('Ada L.');
  });

  it('keychain protection refuses a passphrase and opens with the injected key source', async () => {
    const { rawKeySource } = await import('../../src-core/store/index.js');
    const dir = await tempProfileDir();
    const kek = new Uint8Array(32).fill(7);
    const app = openApp(dir, { keyProtection: 'keychain', keychain: rawKeySource(kek) });
    expect(
      await appErrorCode(
        app.profile.create({ displayName: 'K', deviceName: 'd', passphrase: 'not here' }),
      ),
    ).toBe('bad_request');
    const me = await app.profile.create({ displayName: 'K', deviceName: 'd' });
    await closeApp(app);
    const wrong = openApp(dir, {
      keyProtection: 'keychain',
      keychain: rawKeySource(new Uint8Array(32).fill(8)),
    });
    expect(await appErrorCode(wrong.profile.unlock({}))).toBe('unauthorized');
    await closeApp(wrong);
    const right = openApp(dir, { keyProtection: 'keychain', keychain: rawKeySource(kek) });
    expect((await right.profile.unlock({})).userId).toBe(me.userId);
  });
});
