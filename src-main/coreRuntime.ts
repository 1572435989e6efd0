/**
 * The core process's logic, without Electron: it builds the ParleyApp from the `init` message,
 * serves the API on every port main hands it (one per window load, one for main's own tray and
 * notifications), and asks main to wrap and unwrap the database key with the OS keychain, since
 * safeStorage exists only in the main process. core.ts binds this to `process.parentPort`.
 */
import { ParleyApp } from '../src-core/app/parleyApp.js';
import { ParleyError } from '../src-core/errors.js';
import type { Dispatcher } from '../src-core/app/rpc/server.js';
import { serveChannel } from '../src-core/app/rpc/server.js';
import type { NetConfig } from '../src-core/net/index.js';
import { defaultNetConfig } from '../src-core/net/index.js';
import type { KeyWrapper } from '../src-core/store/index.js';
import { wrappedKeySource } from '../src-core/store/index.js';
import type { FromCoreMessage, KeychainResult } from './coreProtocol.js';
import { toCoreMessage } from './coreProtocol.js';
import { SAFE_STORAGE_WRAPPER_NAME } from './keychain.js';
import type { MainPortLike } from './portAdapter.js';
import { mainPortChannel } from './portAdapter.js';

export interface CoreRuntimeOptions {
  /** Default: `defaultNetConfig()`; tests pass a loopback configuration. */
  net?: NetConfig;
  /** Problems worth a log line: malformed control messages, contract violations. No secrets. */
  log?: (line: string) => void;
}

interface Pending {
  resolve: (bytes: Uint8Array) => void;
  reject: (error: Error) => void;
}

/** A KeyWrapper whose wrapping happens in main (safeStorage), asked over the parent port. */
class RemoteKeyWrapper implements KeyWrapper {
  readonly name = SAFE_STORAGE_WRAPPER_NAME;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  constructor(private readonly post: (m: FromCoreMessage) => void) {}

  wrap(key: Uint8Array): Promise<Uint8Array> {
    return this.#ask('wrap', key);
  }

  unwrap(wrapped: Uint8Array): Promise<Uint8Array> {
    return this.#ask('unwrap', wrapped);
  }

  #ask(op: 'wrap' | 'unwrap', bytes: Uint8Array): Promise<Uint8Array> {
    const id = this.#nextId++;
    return new Promise<Uint8Array>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.post({ type: 'keychain', id, op, bytes });
    });
  }

  settle(result: KeychainResult): void {
    const p = this.#pending.get(result.id);
    if (p === undefined) return;
    this.#pending.delete(result.id);
    if (result.ok) p.resolve(result.bytes);
    else p.reject(new Error(`keychain: ${result.message}`));
  }

  failAll(reason: string): void {
    for (const p of this.#pending.values()) p.reject(new Error(reason));
    this.#pending.clear();
  }
}

export class CoreRuntime {
  readonly #post: (m: FromCoreMessage) => void;
  readonly #options: CoreRuntimeOptions;
  readonly #keychain: RemoteKeyWrapper;
  readonly #dispatchers = new Set<Dispatcher>();
  #app: ParleyApp | null = null;
  #stopping = false;

  constructor(post: (m: FromCoreMessage) => void, options: CoreRuntimeOptions = {}) {
    this.#post = post;
    this.#options = options;
    this.#keychain = new RemoteKeyWrapper(post);
  }

  get app(): ParleyApp | null {
    return this.#app;
  }

  /** One control message from main, with the ports it carried. Never throws. */
  async handle(raw: unknown, ports: readonly MainPortLike[] = []): Promise<void> {
    const parsed = toCoreMessage.safeParse(raw);
    if (!parsed.success) {
      this.#log('ignored a malformed control message');
      for (const p of ports) p.close();
      return;
    }
    const message = parsed.data;
    switch (message.type) {
      case 'init':
        if (this.#app !== null) {
          this.#log('ignored a second init');
          return;
        }
        try {
          this.#app = new ParleyApp({
            profileDir: message.profileDir,
            keyProtection: message.keyProtection,
            keychain: wrappedKeySource(this.#keychain),
            net: this.#options.net ?? defaultNetConfig(),
          });
        } catch (error) {
          const reason = error instanceof ParleyError ? `${error.layer} ${error.code}` : 'internal';
          this.#post({ type: 'failed', reason: `the app did not start (${reason})` });
          return;
        }
        this.#post({ type: 'ready' });
        return;
      case 'connect':
        this.#connect(ports);
        return;
      case 'keychain-result':
        this.#keychain.settle(message);
        return;
      case 'shutdown':
        await this.#shutdown();
        return;
    }
  }

  #connect(ports: readonly MainPortLike[]): void {
    const [port, ...extra] = ports;
    for (const p of extra) p.close();
    if (port === undefined) {
      this.#log('connect without a port');
      return;
    }
    if (this.#app === null || this.#stopping) {
      port.close();
      return;
    }
    const channel = mainPortChannel(port, 'the client');
    const dispatcher = serveChannel(this.#app, channel, {
      onContractViolation: (where) => this.#log(`contract violation in ${where}`),
    });
    this.#dispatchers.add(dispatcher);
    channel.onClose(() => this.#dispatchers.delete(dispatcher));
  }

  async #shutdown(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    for (const d of this.#dispatchers) d.close();
    this.#dispatchers.clear();
    try {
      await this.#app?.close();
    } catch {
      this.#log('the app did not close cleanly');
    }
    this.#keychain.failAll('the core is stopping');
    this.#post({ type: 'stopped' });
  }

  #log(line: string): void {
    this.#options.log?.(line);
  }
}
