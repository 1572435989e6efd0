/**
 * The app API over a MessagePort (the carrier Electron's utility process and preload will use),
 * with Node's real MessageChannel, against the boundary scaffolding of rpcScaffold.ts.
 */
import { MessageChannel } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src-core/app/errors.js';
import { portChannel, preloadChannel } from '../../src-core/app/rpc/channel.js';
import type { PortLike, PreloadBridge } from '../../src-core/app/rpc/channel.js';
import { createClient } from '../../src-core/app/rpc/client.js';
import { serveChannel } from '../../src-core/app/rpc/server.js';
import { scaffold } from './rpcScaffold.js';

const open: MessageChannel[] = [];
afterEach(() => {
  for (const c of open.splice(0)) {
    c.port1.close();
    c.port2.close();
  }
});

/** Node's MessagePort speaks `on('message')`, as Electron's MessagePortMain does: adapt it. */
function nodePort(port: MessagePort): PortLike {
  const adapted: PortLike = {
    postMessage: (m) => port.postMessage(m),
    onmessage: null,
  };
  port.on('message', (data: unknown) => adapted.onmessage?.({ data }));
  return adapted;
}

function pair(maxFrameBytes?: number, serve = true, maxInFlight?: number) {
  const s = scaffold();
  const mc = new MessageChannel();
  open.push(mc);
  const serverSide = portChannel(nodePort(mc.port1));
  if (serve) serveChannel(s.api, serverSide, { maxFrameBytes, maxInFlight });
  const clientSide = portChannel(nodePort(mc.port2));
  const protocolErrors: AppError[] = [];
  const client = createClient(clientSide, { onProtocolError: (e) => protocolErrors.push(e) });
  // A raw view of what the server answers, for frames the client would never send.
  const answers = (): Promise<unknown> =>
    new Promise((resolve) => {
      mc.port2.once('message', (data: string) => resolve(JSON.parse(data)));
    });
  return { s, mc, client, serverSide, clientSide, protocolErrors, answers };
}

describe('rpc over a MessagePort', () => {
  it('round-trips calls and events', async () => {
    const { s, client } = pair();
    const g = await client.groups.create({ name: 'Ops', members: [] });
    await expect(client.messages.send({ groupId: g.groupId, text: 'hi' })).resolves.toMatchObject({
      text: 'hi',
    });
    const event = new Promise((resolve) => client.onEvent(resolve));
    s.emit({ event: 'group.changed', data: { group: { ...g, unread: 2 } } });
    expect(await event).toEqual({ event: 'group.changed', data: { group: { ...g, unread: 2 } } });
    expect(s.calls.map((c) => c.method)).toEqual(['groups.create', 'messages.send']);
  });

  it('answers a non-text or oversized frame with a typed error and runs nothing', async () => {
    const { s, mc, answers } = pair(1024);
    let reply = answers();
    mc.port2.postMessage({ v: 1, id: 1, method: 'profile.status' } as unknown as string);
    expect(await reply).toMatchObject({ id: null, ok: false, error: { code: 'bad_request' } });
    reply = answers();
    mc.port2.postMessage(
      JSON.stringify({
        v: 1,
        id: 2,
        method: 'messages.send',
        params: { groupId: 'g', text: 'é'.repeat(600) },
      }),
    );
    expect(await reply).toMatchObject({ id: null, ok: false, error: { code: 'too_large' } });
    expect(s.calls).toEqual([]);
  });

  it('checks results in the client and drops frames that break the protocol', async () => {
    const { mc, client, protocolErrors } = pair(undefined, false);
    // A server that answers with the wrong shape (written straight onto the port).
    mc.port1.on('message', (data: string) => {
      const { id } = JSON.parse(data) as { id: number };
      mc.port1.postMessage(JSON.stringify({ v: 1, id: 999, ok: true }));
      mc.port1.postMessage('not json');
      mc.port1.postMessage(
        JSON.stringify({ v: 1, event: 'profile.locked', data: { reason: 'x' } }),
      );
      mc.port1.postMessage(JSON.stringify({ v: 1, id, ok: true, result: { state: 'weird' } }));
    });
    const e = await client.profile.status().catch((err: unknown) => err);
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe('internal');
    expect(protocolErrors.map((p) => p.code)).toEqual([
      'bad_request',
      'bad_request',
      'bad_request',
    ]);
  });

  it('fails pending and later calls with unavailable once the channel closes', async () => {
    const { s, client, serverSide, clientSide } = pair();
    let release: () => void = () => undefined;
    s.override('identity.me', () => new Promise((resolve) => (release = () => resolve(undefined))));
    const pending = client.identity.me().catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 0));
    clientSide.close();
    serverSide.close();
    release();
    expect(((await pending) as AppError).code).toBe('unavailable');
    expect(((await client.profile.status().catch((err: unknown) => err)) as AppError).code).toBe(
      'unavailable',
    );
  });

  it('answers busy past the in-flight bound, without running the call', async () => {
    const { s, client } = pair(undefined, true, 2);
    const release: (() => void)[] = [];
    s.override('groups.list', () => new Promise((resolve) => release.push(() => resolve([]))));
    const first = client.groups.list();
    const second = client.groups.list();
    const third = await client.groups.list().catch((err: unknown) => err);
    expect((third as AppError).code).toBe('busy');
    expect(s.calls.map((c) => c.method)).toEqual(['groups.list', 'groups.list']);
    release.forEach((r) => r());
    await expect(Promise.all([first, second])).resolves.toEqual([[], []]);
    // With the two finished, a call runs again.
    s.override('groups.list', async () => []);
    await expect(client.groups.list()).resolves.toEqual([]);
  });

  it('runs over the preload relay that Electron exposes as window.parley', async () => {
    const s = scaffold();
    const mc = new MessageChannel();
    open.push(mc);
    serveChannel(s.api, portChannel(nodePort(mc.port1)));
    // What the preload does: relay strings between the page and the utility process's port.
    const bridge: PreloadBridge = {
      send: (frame) => mc.port2.postMessage(frame),
      onFrame: (listener) => mc.port2.on('message', listener),
      onClose: (listener) => mc.port2.on('close', listener),
    };
    const client = createClient(preloadChannel(bridge));
    await expect(client.identity.me()).resolves.toMatchObject({ displayName: 'Ada' });
    mc.port1.close();
    expect((await client.closed).code).toBe('unavailable');
  });
});
