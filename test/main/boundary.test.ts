/**
 * The Electron boundary without Electron: Node's MessageChannel has the shape of the ports main
 * hands out (a DOM-like `onmessage` on the page's side, `on('message')` on the core's), so the
 * page's RPC client, the preload relay, the core runtime and a real ParleyApp run here as they
 * do in the app, with only the process boundary missing.
 */
import { MessageChannel } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src-core/app/errors.js';
import type { PortLike } from '../../src-core/app/rpc/channel.js';
import { preloadChannel } from '../../src-core/app/rpc/channel.js';
import type { ParleyClient } from '../../src-core/app/rpc/client.js';
import { createClient } from '../../src-core/app/rpc/client.js';
import { loopbackNetConfig } from '../../src-core/net/index.js';
import type { FromCoreMessage } from '../../src-main/coreProtocol.js';
import { CoreRuntime } from '../../src-main/coreRuntime.js';
import { answerKeychainRequest, safeStorageKeyWrapper } from '../../src-main/keychain.js';
import type { MainPortLike } from '../../src-main/portAdapter.js';
import { mainPortChannel } from '../../src-main/portAdapter.js';
import type { PreloadRelay } from '../../src-main/preloadRelay.js';
import { MAX_QUEUED_FRAMES, createPreloadRelay } from '../../src-main/preloadRelay.js';
import { FakeSafeStorage } from './fakeSafeStorage.js';

/** The core's end, as Electron's MessagePortMain presents it. */
function mainPort(port: MessagePort): MainPortLike {
  return {
    postMessage: (m) => port.postMessage(m),
    start: () => port.start(),
    close: () => port.close(),
    on(event: 'message' | 'close', listener: ((e: { data: unknown }) => void) | (() => void)) {
      if (event === 'message') port.on('message', (data: unknown) => listener({ data }));
      else port.on('close', listener as () => void);
      return this;
    },
  };
}

/** The page's end, as the preload sees a DOM MessagePort. */
function domPort(port: MessagePort): PortLike {
  let handler: PortLike['onmessage'] = null;
  port.on('message', (data: unknown) => handler?.({ data }));
  return {
    postMessage: (m) => port.postMessage(m),
    get onmessage() {
      return handler;
    },
    set onmessage(h) {
      handler = h;
    },
  };
}

interface Core {
  runtime: CoreRuntime;
  posted: FromCoreMessage[];
}

const dirs: string[] = [];
const runtimes: CoreRuntime[] = [];
const ports: MessagePort[] = [];

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.handle({ type: 'shutdown' })));
  for (const p of ports.splice(0)) p.close();
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A core runtime whose keychain requests are answered as main does, with `storage`. */
async function startCore(
  profileDir: string,
  keyProtection: 'keychain' | 'passphrase',
  storage = new FakeSafeStorage(),
): Promise<Core> {
  const keychain = await safeStorageKeyWrapper(storage, 'linux');
  const posted: FromCoreMessage[] = [];
  const runtime: CoreRuntime = new CoreRuntime(
    (message) => {
      posted.push(message);
      if (message.type === 'keychain') {
        void answerKeychainRequest(keychain.available ? keychain.wrapper : null, message).then(
          (result) => runtime.handle(result),
        );
      }
    },
    { net: loopbackNetConfig() },
  );
  runtimes.push(runtime);
  await runtime.handle({ type: 'init', profileDir, keyProtection });
  return { runtime, posted };
}

/** Main's `connect`: one port to the core, the other to a fresh preload relay. */
async function connectPage(core: Core): Promise<{ relay: PreloadRelay; client: ParleyClient }> {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  await core.runtime.handle({ type: 'connect' }, [mainPort(port1)]);
  const relay = createPreloadRelay();
  relay.attach(domPort(port2));
  return { relay, client: createClient(preloadChannel(relay.bridge)) };
}

async function profileDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-main-'));
  dirs.push(dir);
  return dir;
}

/** Sends a raw frame as a page could, and returns the core's answer. */
function rawCall(relay: PreloadRelay, frame: string): Promise<unknown> {
  return new Promise((resolve) => {
    relay.bridge.onFrame((text) => resolve(JSON.parse(text)));
    relay.bridge.send(frame);
  });
}

describe('renderer -> preload relay -> MessagePort -> core', () => {
  it('serves the real app API through the relay', async () => {
    const core = await startCore(await profileDir(), 'keychain');
    expect(core.posted).toEqual([{ type: 'ready' }]);
    const { client } = await connectPage(core);
    expect(await client.profile.status()).toEqual({ state: 'absent', keyProtection: 'keychain' });
  });

  it('rejects malformed frames from the page with typed errors and runs nothing', async () => {
    const core = await startCore(await profileDir(), 'passphrase');
    const { relay, client } = await connectPage(core);
    const cases: [string, unknown][] = [
      ['{not json', { v: 1, id: null, ok: false, error: { code: 'bad_request' } }],
      [JSON.stringify({ v: 2, id: 5, method: 'profile.status' }), { id: 5, code: 'bad_request' }],
      [JSON.stringify({ v: 1, id: 6, method: 'profile.wipe' }), { id: 6, code: 'unknown_method' }],
      [
        // A create with an extra field and no name: refused before the app sees it.
        JSON.stringify({
          v: 1,
          id: 7,
          method: 'profile.create',
          params: { deviceName: 'x', passphrase: 'p', admin: true },
        }),
        { id: 7, code: 'bad_request' },
      ],
      [
        JSON.stringify({ v: 1, id: 8, method: 'messages.send', params: { groupId: 5, text: 1 } }),
        { id: 8, code: 'bad_request' },
      ],
    ];
    for (const [frame, want] of cases) {
      const answer = (await rawCall(relay, frame)) as {
        id: unknown;
        ok: boolean;
        error: { code: string; message: string };
      };
      const expected = want as { id?: unknown; code?: string };
      expect(answer.ok).toBe(false);
      expect(answer.id).toEqual(expected.id ?? null);
      expect(answer.error.code).toBe(expected.code ?? 'bad_request');
    }
    // Nothing ran: there is still no profile.
    expect(await client.profile.status()).toEqual({ state: 'absent', keyProtection: 'passphrase' });
  });

  it("the page's client refuses a malformed call with a typed AppError and sends nothing", async () => {
    const core = await startCore(await profileDir(), 'passphrase');
    const { relay } = await connectPage(core);
    const sent: string[] = [];
    const counting = { ...relay.bridge, send: (f: string) => (sent.push(f), relay.bridge.send(f)) };
    const client = createClient(preloadChannel(counting));
    const error = await client
      .call('profile.create', { displayName: '', deviceName: 'd', passphrase: 'p' })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('bad_request');
    expect(sent).toEqual([]);
    // A well-formed call on a locked profile crosses and comes back as the core's typed error.
    const locked = await client.identity.me().then(
      () => null,
      (e: unknown) => e,
    );
    expect(locked).toBeInstanceOf(AppError);
    expect((locked as AppError).code).toBe('locked');
    expect(sent).toHaveLength(1);
  });

  it('creates, locks and unlocks a keychain profile; another keychain cannot unlock it', async () => {
    const dir = await profileDir();
    const storage = new FakeSafeStorage();
    const core = await startCore(dir, 'keychain', storage);
    const { client } = await connectPage(core);
    const me = await client.profile.create({ displayName: 'Ada', deviceName: "Ada's laptop" });
    expect(me.displayName).toBe('Ada');
    expect(storage.encryptCalls).toBe(1);
    await client.profile.lock();
    expect((await client.profile.status()).state).toBe('locked');
    // A passphrase on a keychain profile is refused.
    await expect(client.profile.unlock({ passphrase: 'x' })).rejects.toMatchObject({
      code: 'bad_request',
    });
    expect((await client.profile.unlock({})).userId).toBe(me.userId);
    await core.runtime.handle({ type: 'shutdown' });
    expect(core.posted.at(-1)).toEqual({ type: 'stopped' });

    const elsewhere = await startCore(dir, 'keychain', new FakeSafeStorage());
    const other = await connectPage(elsewhere);
    const error = await other.client.profile.unlock({}).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('unauthorized');
    expect((await other.client.profile.status()).state).toBe('locked');
  });

  it('ignores malformed control messages and closes the ports they carried', async () => {
    const core = await startCore(await profileDir(), 'passphrase');
    const { port1, port2 } = new MessageChannel();
    ports.push(port1, port2);
    const closed = new Promise<void>((resolve) => port2.once('close', () => resolve()));
    await core.runtime.handle({ type: 'connect', extra: 1 }, [mainPort(port1)]);
    await closed;
    await core.runtime.handle({ type: 'keychain-result', id: 1, ok: true, bytes: 'AAAA' });
    await core.runtime.handle({
      type: 'init',
      profileDir: '/elsewhere',
      keyProtection: 'passphrase',
    });
    expect(core.posted).toEqual([{ type: 'ready' }]);
  });

  it('when the relay closes (core gone), pending calls fail and the client learns it', async () => {
    const core = await startCore(await profileDir(), 'passphrase');
    const { relay, client } = await connectPage(core);
    await client.profile.status();
    const pending = client.groups.list();
    relay.close();
    await expect(pending).rejects.toMatchObject({ code: 'unavailable' });
    expect((await client.closed).code).toBe('unavailable');
  });
});

describe('MessagePortMain adapter (the core side of a port)', () => {
  it('the channel closes when the other end goes, and closing it closes the port', async () => {
    const a = new MessageChannel();
    ports.push(a.port1, a.port2);
    const channel = mainPortChannel(mainPort(a.port1), 'the window');
    const reason = new Promise<AppError>((resolve) => channel.onClose(resolve));
    a.port2.close();
    expect(await reason).toMatchObject({ code: 'unavailable', detail: 'the window is gone' });

    const b = new MessageChannel();
    ports.push(b.port1, b.port2);
    const other = mainPortChannel(mainPort(b.port1), 'the window');
    const gone = new Promise<void>((resolve) => b.port2.once('close', () => resolve()));
    other.close();
    await gone;
  });
});

describe('preload relay', () => {
  it('queues frames sent before the port arrives, then flushes them in order', () => {
    const relay = createPreloadRelay();
    relay.bridge.send('a');
    relay.bridge.send('b');
    const got: string[] = [];
    relay.attach({ postMessage: (m) => got.push(m), onmessage: null });
    relay.bridge.send('c');
    expect(got).toEqual(['a', 'b', 'c']);
  });

  it('passes only strings, both ways, and closes when the queue overflows', () => {
    const relay = createPreloadRelay();
    const fromCore: string[] = [];
    relay.bridge.onFrame((f) => fromCore.push(f));
    let closes = 0;
    relay.bridge.onClose(() => closes++);
    const port: PortLike = { postMessage: () => undefined, onmessage: null };
    (relay.bridge.send as (f: unknown) => void)({ not: 'a string' });
    relay.attach(port);
    port.onmessage?.({ data: { event: 'object' } });
    port.onmessage?.({ data: 'text' });
    expect(fromCore).toEqual(['text']);

    const flooded = createPreloadRelay();
    flooded.bridge.onClose(() => closes++);
    for (let i = 0; i <= MAX_QUEUED_FRAMES; i++) flooded.bridge.send('x');
    expect(closes).toBe(1);
  });
});
