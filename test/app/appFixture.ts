/**
 * Real ParleyApp instances for tests: a temp profile folder each, loopback TCP on port 0, mDNS
 * off, a passphrase store with the lowest scrypt cost the store accepts (2^10), and cleanup.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ParleyEvent, ParleyEventMap, ParleyEventName } from '../../src-core/app/api.js';
import type { AppContextOptions } from '../../src-core/app/appContext.js';
import { AppError } from '../../src-core/app/errors.js';
import { ParleyApp } from '../../src-core/app/parleyApp.js';
import { loopbackNetConfig } from '../../src-core/net/index.js';

const apps = new Set<ParleyApp>();
const dirs: string[] = [];

export const PASS = 'correct horse battery staple';

export async function tempProfileDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-app-'));
  dirs.push(dir);
  return dir;
}

export function openApp(profileDir: string, extra: Partial<AppContextOptions> = {}): ParleyApp {
  const app = new ParleyApp({
    profileDir,
    keyProtection: 'passphrase',
    scryptLogN: 10,
    net: loopbackNetConfig(),
    ...extra,
  });
  apps.add(app);
  return app;
}

export async function newUser(
  name: string,
  extra: Partial<AppContextOptions> = {},
): Promise<{ app: ParleyApp; dir: string }> {
  const dir = await tempProfileDir();
  const app = openApp(dir, extra);
  await app.profile.create({ displayName: name, deviceName: `${name}'s laptop`, passphrase: PASS });
  return { app, dir };
}

export async function closeApp(app: ParleyApp): Promise<void> {
  apps.delete(app);
  await app.close();
}

export async function cleanup(): Promise<void> {
  await Promise.all([...apps].map((a) => a.close()));
  apps.clear();
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

/** The AppError code a promise rejects with (fails if it resolves or throws something else). */
export async function appErrorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
  throw new Error('expected an AppError, the call succeeded');
}

/** Collects every event of `name` the app emits from now on. */
export function collect<K extends ParleyEventName>(app: ParleyApp, name: K): ParleyEventMap[K][] {
  const out: ParleyEventMap[K][] = [];
  app.onEvent((e: ParleyEvent) => {
    if (e.event === name) out.push(e.data as ParleyEventMap[K]);
  });
  return out;
}

import { waitFor } from '../net/helpers.js';

export { waitFor };

/** `b` adds `a` by its invite code and waits until `a` shows online in `b`'s contacts. */
export async function befriend(a: ParleyApp, b: ParleyApp): Promise<void> {
  const code = (await a.identity.me()).inviteCode;
  const c = await b.contacts.addByInviteCode({ code });
  await waitFor(
    async () => (await b.contacts.list()).some((x) => x.userId === c.userId && x.online),
    'online',
  );
}

/** The texts of a group's history, oldest first. */
export async function texts(app: ParleyApp, groupId: string): Promise<string[]> {
  return (await app.messages.history({ groupId })).messages.map((m) => m.text);
}
