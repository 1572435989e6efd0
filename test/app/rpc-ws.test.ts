/**
 * The app API over the loopback WebSocket (browser mode): a real `ws` server on 127.0.0.1 port 0
 * and real clients, against the boundary scaffolding of rpcScaffold.ts (not the app).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { AppError } from '../../src-core/app/errors.js';
import { connectWebSocket } from '../../src-core/app/rpc/client.js';
import type { RpcWebSocketServer } from '../../src-core/app/rpc/wsServer.js';
import { startWebSocketServer } from '../../src-core/app/rpc/wsServer.js';
import type { ParleyEvent } from '../../src-core/app/api.js';
import { sampleMe, scaffold } from './rpcScaffold.js';
import type { Scaffold } from './rpcScaffold.js';

const PAGE_ORIGIN = 'http://127.0.0.1:5173';
let server: RpcWebSocketServer | null = null;
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await server?.close();
  server = null;
});

async function start(s: Scaffold, maxFrameBytes?: number): Promise<RpcWebSocketServer> {
  server = await startWebSocketServer({
    api: s.api,
    allowedOrigins: [PAGE_ORIGIN],
    ...(maxFrameBytes === undefined ? {} : { maxFrameBytes }),
  });
  return server;
}

function socket(url: string, headers?: Record<string, string>): WebSocket {
  const ws = new WebSocket(url, headers ? { headers } : {});
  sockets.push(ws);
  return ws;
}

/** A raw socket that records what the server says, for frames no client would send. */
function raw(url: string, headers?: Record<string, string>) {
  const ws = socket(url, headers);
  const queue: unknown[] = [];
  const waiters: ((f: unknown) => void)[] = [];
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as unknown;
    const w = waiters.shift();
    if (w) w(frame);
    else queue.push(frame);
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  return {
    ws,
    opened,
    closed,
    next: () =>
      new Promise<unknown>((resolve) => {
        const f = queue.shift();
        if (f !== undefined) resolve(f);
        else waiters.push(resolve);
      }),
    send: (frame: unknown) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
  };
}

async function rawWithSession(url: string, token: string) {
  const r = raw(url);
  await r.opened;
  r.send({ v: 1, id: 0, method: 'session.hello', params: { token } });
  const hello = (await r.next()) as { ok: boolean };
  expect(hello.ok).toBe(true);
  return r;
}

function errorCode(e: unknown): string {
  expect(e).toBeInstanceOf(AppError);
  return (e as AppError).code;
}

describe('rpc over WebSocket', () => {
  it('round-trips calls with results checked on both sides', async () => {
    const s = scaffold();
    const srv = await start(s);
    const { client, session } = await connectWebSocket(socket(srv.url), {
      token: srv.issueToken(),
    });
    expect(session).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await client.profile.status()).toEqual({
      state: 'unlocked',
      keyProtection: 'passphrase',
    });
    expect(await client.identity.me()).toEqual(sampleMe);
    const g = await client.groups.create({ name: '  Team  ', members: [] });
    expect(g.name).toBe('Team'); // the schema trims names before the implementation sees them
    const m = await client.messages.send({ groupId: g.groupId, text: 'hello' });
    expect(m).toMatchObject({ groupId: g.groupId, text: 'hello', mine: true });
    expect(await client.groups.list()).toEqual([g]);
    await expect(client.profile.lock()).resolves.toBeUndefined();
    expect(s.calls.map((c) => c.method)).toEqual([
      'profile.status',
      'identity.me',
      'groups.create',
      'messages.send',
      'groups.list',
      'profile.lock',
    ]);
  });

  it('passes the implementation’s AppError through and hides other errors', async () => {
    const s = scaffold();
    const violations: string[] = [];
    server = await startWebSocketServer({
      api: s.api,
      onContractViolation: (where) => violations.push(where),
    });
    const { client } = await connectWebSocket(socket(server.url), { token: server.issueToken() });
    await expect(client.messages.send({ groupId: 'nope', text: 'x' })).rejects.toMatchObject({
      code: 'not_found',
    });
    s.override('identity.me', async () => {
      throw new Error('passphrase hunter2 did not open the store');
    });
    const hidden = await client.identity.me().catch((e: unknown) => e);
    expect(errorCode(hidden)).toBe('internal');
    expect((hidden as AppError).message).not.toContain('hunter2');
    s.override('profile.status', async () => ({ state: 'open', keyProtection: 'passphrase' }));
    expect(errorCode(await client.profile.status().catch((e: unknown) => e))).toBe('internal');
    expect(violations).toEqual(['identity.me', 'profile.status']);
  });

  it('delivers events, and drops events that break the contract', async () => {
    const s = scaffold();
    const violations: string[] = [];
    server = await startWebSocketServer({
      api: s.api,
      onContractViolation: (where) => violations.push(where),
    });
    const { client } = await connectWebSocket(socket(server.url), { token: server.issueToken() });
    const seen: ParleyEvent[] = [];
    const got = new Promise<void>((resolve) =>
      client.onEvent((e) => {
        seen.push(e);
        if (e.event === 'profile.locked') resolve();
      }),
    );
    s.emitRaw({ event: 'sync.progress', data: { groupId: null, done: -1, total: 3 } });
    s.emitRaw({ event: 'no.such.event', data: {} });
    s.emit({ event: 'sync.progress', data: { groupId: 'g1', done: 1, total: 3 } });
    s.emit({ event: 'profile.locked', data: { reason: 'idle' } });
    await got;
    expect(seen).toEqual([
      { event: 'sync.progress', data: { groupId: 'g1', done: 1, total: 3 } },
      { event: 'profile.locked', data: { reason: 'idle' } },
    ]);
    expect(violations).toEqual(['event sync.progress', 'event no.such.event']);
  });

  it('rejects a bad call in the client before anything is sent', async () => {
    const s = scaffold();
    const srv = await start(s);
    const { client } = await connectWebSocket(socket(srv.url), { token: srv.issueToken() });
    const bad = client.messages.send({ groupId: 'g1', text: 42 as unknown as string });
    expect(errorCode(await bad.catch((e: unknown) => e))).toBe('bad_request');
    expect(s.calls).toEqual([]);
  });

  it('answers malformed frames, unknown methods and wrong params with typed errors', async () => {
    const s = scaffold();
    const srv = await start(s);
    const r = await rawWithSession(srv.url, srv.issueToken());
    const cases: [unknown, unknown, string][] = [
      ['{not json', null, 'bad_request'],
      ['[1,2,3]', null, 'bad_request'],
      ['null', null, 'bad_request'],
      [{ v: 2, id: 1, method: 'profile.status' }, 1, 'bad_request'],
      [{ v: 1, method: 'profile.status' }, null, 'bad_request'],
      [{ v: 1, id: 2, method: 'profile.status', extra: true }, 2, 'bad_request'],
      [{ v: 1, id: 3, method: 'profile.nuke' }, 3, 'unknown_method'],
      [{ v: 1, id: 4, method: '__proto__' }, 4, 'unknown_method'],
      [{ v: 1, id: 5, method: 'profile.constructor' }, 5, 'unknown_method'],
      [{ v: 1, id: 6, method: 'hasOwnProperty' }, 6, 'unknown_method'],
      [{ v: 1, id: 7, method: 'profile.status', params: { x: 1 } }, 7, 'bad_request'],
      [
        { v: 1, id: 8, method: 'messages.send', params: { groupId: 'g', text: 1 } },
        8,
        'bad_request',
      ],
      [{ v: 1, id: 9, method: 'messages.send', params: { groupId: 'g' } }, 9, 'bad_request'],
      [
        { v: 1, id: 10, method: 'groups.add', params: { groupId: 'g', userIds: [] } },
        10,
        'bad_request',
      ],
      [
        { v: 1, id: 11, method: 'messages.history', params: { groupId: 'g', limit: 1e9 } },
        11,
        'bad_request',
      ],
      [
        { v: 1, id: 'x', method: 'session.hello', params: { token: 'a'.repeat(43) } },
        'x',
        'unknown_method',
      ],
    ];
    for (const [frame, id, code] of cases) {
      r.send(frame);
      expect(await r.next()).toMatchObject({ v: 1, id, ok: false, error: { code } });
    }
    r.ws.send(Buffer.from('{"v":1,"id":12,"method":"profile.status"}'), { binary: true });
    expect(await r.next()).toMatchObject({ id: null, ok: false, error: { code: 'bad_request' } });
    expect(s.calls).toEqual([]);
    // The connection survives bad frames: a good one still works.
    r.send({ v: 1, id: 13, method: 'profile.status' });
    expect(await r.next()).toMatchObject({ id: 13, ok: true });
    expect(s.calls).toHaveLength(1);
  });

  it('does not leak a refused value into the error message', async () => {
    const s = scaffold();
    const srv = await start(s);
    const r = await rawWithSession(srv.url, srv.issueToken());
    const secret = 'correct horse battery staple '.repeat(50);
    r.send({ v: 1, id: 1, method: 'profile.unlock', params: { passphrase: secret } });
    const reply = (await r.next()) as { error: { code: string; message: string } };
    expect(reply.error.code).toBe('bad_request');
    expect(reply.error.message).not.toContain('horse');
    expect(s.calls).toEqual([]);
  });

  it('closes on an oversized frame (1009) and fails the pending call with too_large', async () => {
    const s = scaffold();
    const srv = await start(s, 4096);
    const { client } = await connectWebSocket(socket(srv.url), { token: srv.issueToken() });
    const big = client.messages.send({ groupId: 'g1', text: 'x'.repeat(8000) });
    expect(errorCode(await big.catch((e: unknown) => e))).toBe('too_large');
    expect(errorCode(await client.closed)).toBe('too_large');
    expect(s.calls).toEqual([]);
  });

  it('refuses a connection without a token, and closes it', async () => {
    const s = scaffold();
    const srv = await start(s);
    const r = raw(srv.url);
    await r.opened;
    r.send({ v: 1, id: 1, method: 'profile.status' });
    expect(await r.next()).toMatchObject({ id: 1, ok: false, error: { code: 'unauthorized' } });
    expect(await r.closed).toBe(1008);
    const r2 = raw(srv.url);
    await r2.opened;
    r2.send({ v: 1, id: 1, method: 'session.hello', params: {} });
    expect(await r2.next()).toMatchObject({ error: { code: 'unauthorized' } });
    expect(await r2.closed).toBe(1008);
    expect(s.calls).toEqual([]);
  });

  it('closes a connection that never says hello', async () => {
    const s = scaffold();
    server = await startWebSocketServer({ api: s.api, helloTimeoutMs: 1 });
    const r = raw(server.url);
    await r.opened;
    expect(await r.closed).toBe(1008);
    expect(s.calls).toEqual([]);
  });

  it('refuses a wrong token and a used token; a session resumes', async () => {
    const s = scaffold();
    const srv = await start(s);
    const token = srv.issueToken();
    const wrong = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    const e1 = await connectWebSocket(socket(srv.url), { token: wrong }).catch((e: unknown) => e);
    expect(errorCode(e1)).toBe('unauthorized');
    const first = await connectWebSocket(socket(srv.url), { token });
    const e2 = await connectWebSocket(socket(srv.url), { token }).catch((e: unknown) => e);
    expect(errorCode(e2)).toBe('unauthorized');
    const e3 = await connectWebSocket(socket(srv.url), { session: token }).catch((e: unknown) => e);
    expect(errorCode(e3)).toBe('unauthorized');
    expect(s.calls).toEqual([]);
    first.client.close();
    const again = await connectWebSocket(socket(srv.url), { session: first.session });
    expect(await again.client.profile.status()).toMatchObject({ state: 'unlocked' });
    expect(s.calls).toHaveLength(1);
    await srv.close();
    server = null;
    expect(errorCode(await again.client.closed)).toBe('unavailable');
    const after = await again.client.identity.me().catch((e: unknown) => e);
    expect(errorCode(after)).toBe('unavailable');
  });

  it('refuses the handshake from a foreign origin or a non-loopback Host', async () => {
    const s = scaffold();
    const srv = await start(s);
    await expect(raw(srv.url, { Origin: 'http://evil.example' }).opened).rejects.toThrow(
      'HTTP 403',
    );
    await expect(raw(srv.url, { Origin: 'http://127.0.0.1:1' }).opened).rejects.toThrow('HTTP 403');
    await expect(raw(srv.url, { Host: `evil.example:${srv.port}` }).opened).rejects.toThrow(
      'HTTP 403',
    );
    const ok = raw(srv.url, { Origin: PAGE_ORIGIN });
    await ok.opened;
    expect(s.calls).toEqual([]);
  });

  it('listens on loopback only', async () => {
    const s = scaffold();
    for (const host of ['0.0.0.0', '192.168.1.10', '::', 'localhost']) {
      const e = await startWebSocketServer({ api: s.api, host }).catch((err: unknown) => err);
      expect(errorCode(e)).toBe('bad_request');
    }
  });
});
