import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { connectWebSocket } from '../../src-core/app/rpc/client.js';
import { AppError } from '../../src-core/app/errors.js';
import { buildRenderer, removeDir } from '../e2e/browserFixture.js';
import { cleanup, isEvent, ok, run, start, tempDir } from './cliHarness.js';

let dir: string;
let profile: string;

beforeAll(async () => {
  dir = await tempDir();
  profile = join(dir, 'alice');
});
const after: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const f of after) await f();
  await cleanup();
});

function get(
  url: string,
  host?: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((res, rej) => {
    const req = request(url, { headers: host ? { Host: host } : {} }, (r) => {
      let body = '';
      r.on('data', (d: Buffer) => (body += d.toString()));
      r.on('end', () => res({ status: r.statusCode ?? 0, headers: r.headers, body }));
    });
    req.on('error', rej);
    req.end();
  });
}

describe('parley command: profile, errors, serve', () => {
  it('init, id (--json and human), and a second init refused', async () => {
    const me = await ok<{
      userId: string;
      displayName: string;
      inviteCode: string;
      fingerprint: string;
    }>(profile, ['init', '--name', 'Alice', '--device', 'laptop']);
    expect(me.displayName).toBe('Alice');
    expect(me.userId).toMatch(/^[0-9a-f]{64}$/);
    const id = await ok<typeof me>(profile, ['id']);
    expect(id.userId).toBe(me.userId);
    expect(id.inviteCode).toMatch(/^PARLEY:/);

    const human = await run(profile, ['id']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(me.userId);
    expect(human.stdout).toContain('▄'); // the QR code drawn in the terminal
    expect(human.stdout).not.toContain('correct horse');

    const again = await run(profile, ['--json', 'init', '--name', 'Mallory']);
    expect(again.code).toBe(6);
    expect(again.lines).toEqual([{ error: { code: 'conflict', message: expect.any(String) } }]);
  });

  it('a wrong passphrase: exit 3 and one clear line, no stack trace, the passphrase not echoed', async () => {
    const r = await run(profile, ['id'], { PARLEY_PASSPHRASE: 'not the passphrase' });
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      'parley: profile.unlock: wrong passphrase (wrong_passphrase)',
    ]);
    const j = await run(profile, ['--json', 'id'], { PARLEY_PASSPHRASE: 'not the passphrase' });
    expect(j.code).toBe(3);
    expect(j.lines).toEqual([{ error: { code: 'wrong_passphrase', message: expect.any(String) } }]);
    expect(j.stdout + j.stderr).not.toContain('not the passphrase');
  });

  it('no passphrase and no terminal, no profile, bad usage: each its own exit code', async () => {
    const none = await run(profile, ['--json', 'id'], { PARLEY_PASSPHRASE: undefined });
    expect(none.code).toBe(3);
    expect(none.lines[0]).toMatchObject({ error: { code: 'passphrase_required' } });
    const absent = await run(join(dir, 'nobody'), ['--json', 'group', 'list']);
    expect(absent.code).toBe(7);
    expect(absent.lines[0]).toMatchObject({ error: { code: 'no_profile' } });
    const usage = await run(profile, ['--json', 'group', 'frobnicate']);
    expect(usage.code).toBe(2);
    expect(usage.lines[0]).toMatchObject({ error: { code: 'usage' } });
  });

  it('serve: refuses without a renderer build, then serves it with CSP and the RPC behind a one-time token', async () => {
    const missing = await run(profile, ['--json', 'serve', '--renderer', join(dir, 'none')]);
    expect(missing.code).toBe(2);
    expect(missing.lines[0]).toMatchObject({ error: { code: 'renderer_missing' } });
    expect(JSON.stringify(missing.lines[0])).toContain('npm run build:renderer');

    // Built here into a temp folder: a fresh clone has no dist/, and other tests build their own.
    const renderer = await buildRenderer();
    after.push(() => removeDir(renderer));
    expect(existsSync(join(renderer, 'index.html'))).toBe(true);
    const serve = start(profile, ['serve', '--renderer', renderer]);
    const ready = await serve.line(isEvent('ready'), 'ready');
    const { url } = ready.data as { url: string };
    const m = /^http:\/\/127\.0\.0\.1:(\d+)\/#token=([A-Za-z0-9_-]+)&ws=(\d+)$/.exec(url);
    expect(m).not.toBeNull();
    const [, httpPort, token, wsPort] = m as unknown as [string, string, string, string];

    const page = await get(`http://127.0.0.1:${httpPort}/`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<div id="app">');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`connect-src ws://127.0.0.1:${wsPort}`);
    expect(csp).toContain("frame-ancestors 'none'");
    expect((await get(`http://127.0.0.1:${httpPort}/../../etc/passwd`)).status).toBe(404);
    expect((await get(`http://127.0.0.1:${httpPort}/`, 'evil.example:80')).status).toBe(403);

    const wrong = new WebSocket(`ws://127.0.0.1:${wsPort}/`);
    await expect(connectWebSocket(wrong, { token: 'A'.repeat(43) })).rejects.toMatchObject({
      code: 'unauthorized',
    });
    const foreign = new WebSocket(`ws://127.0.0.1:${wsPort}/`, {
      headers: { Origin: 'http://evil.example' },
    });
    await expect(connectWebSocket(foreign, { token })).rejects.toBeInstanceOf(AppError);

    const good = new WebSocket(`ws://127.0.0.1:${wsPort}/`, {
      headers: { Origin: `http://127.0.0.1:${httpPort}` },
    });
    const { client } = await connectWebSocket(good, { token });
    expect((await client.profile.status()).state).toBe('unlocked');
    client.close();
    const reused = new WebSocket(`ws://127.0.0.1:${wsPort}/`);
    await expect(connectWebSocket(reused, { token })).rejects.toMatchObject({
      code: 'unauthorized',
    });

    // While serve runs, commands of the profile go through it (the database is its own).
    const control = await stat(join(profile, 'control.json'));
    expect(control.mode & 0o077).toBe(0);
    const me = await ok<{ displayName: string }>(profile, ['id']);
    expect(me.displayName).toBe('Alice');

    expect(await serve.stop()).toBe(0);
    expect(existsSync(join(profile, 'control.json'))).toBe(false);
  });
});
