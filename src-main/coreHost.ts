/**
 * Main's side of the core process: forks core.js as an Electron utility process, initialises it,
 * answers its keychain requests with safeStorage (only main has it), and makes one
 * MessageChannelMain per client: one end goes to the core, the other to whoever asked (a window's
 * preload, or main's own tray/notification client).
 */
import type { MessagePortMain, UtilityProcess } from 'electron';
import { MessageChannelMain, utilityProcess } from 'electron';
import type { KeyProtection } from '../src-core/app/api.js';
import type { KeyWrapper } from '../src-core/store/index.js';
import type { ToCoreMessage } from './coreProtocol.js';
import { fromCoreMessage } from './coreProtocol.js';
import { answerKeychainRequest } from './keychain.js';

export interface CoreHostOptions {
  /** Path of the built core.js. */
  entry: string;
  profileDir: string;
  keyProtection: KeyProtection;
  /** Null when the keychain is unavailable (keychain requests are refused). */
  keychain: KeyWrapper | null;
  /** The core exited without being asked to (a crash): windows lose their API. */
  onExit: (code: number) => void;
  log: (line: string) => void;
}

export class CoreHost {
  readonly #options: CoreHostOptions;
  #child: UtilityProcess | null = null;
  #stopping: Promise<void> | null = null;

  constructor(options: CoreHostOptions) {
    this.#options = options;
  }

  /** Forks the core and resolves once it has the app ready. */
  start(): Promise<void> {
    const child = utilityProcess.fork(this.#options.entry, [], {
      serviceName: 'Parley core',
      stdio: 'inherit',
    });
    this.#child = child;
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      child.on('message', (raw: unknown) => {
        const parsed = fromCoreMessage.safeParse(raw);
        if (!parsed.success) {
          this.#options.log('ignored a malformed message from the core');
          return;
        }
        const message = parsed.data;
        if (message.type === 'ready') {
          ready = true;
          resolve();
        } else if (message.type === 'failed') {
          reject(new Error(message.reason));
        } else if (message.type === 'keychain') {
          void answerKeychainRequest(this.#options.keychain, message).then((result) => {
            this.#send(result);
            message.bytes.fill(0);
            if (result.ok) result.bytes.fill(0);
          });
        }
      });
      child.on('exit', (code) => {
        this.#child = null;
        if (!ready) reject(new Error(`the core process exited while starting (${code})`));
        else if (this.#stopping === null) this.#options.onExit(code);
      });
      this.#send({
        type: 'init',
        profileDir: this.#options.profileDir,
        keyProtection: this.#options.keyProtection,
      });
    });
  }

  /** A new port served by the core, for one client. Throws when the core is not running. */
  connect(): MessagePortMain {
    const child = this.#child;
    if (child === null) throw new Error('the core process is not running');
    const { port1, port2 } = new MessageChannelMain();
    child.postMessage({ type: 'connect' } satisfies ToCoreMessage, [port1]);
    return port2;
  }

  /** Locks the profile and stops the node (the core exits once done). */
  stop(): Promise<void> {
    if (this.#stopping !== null) return this.#stopping;
    const child = this.#child;
    if (child === null) return Promise.resolve();
    this.#stopping = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      // A core that hangs on shutdown must not keep the app from quitting.
      setTimeout(() => {
        child.kill();
        resolve();
      }, 10_000).unref();
      this.#send({ type: 'shutdown' });
    });
    return this.#stopping;
  }

  #send(message: ToCoreMessage): void {
    this.#child?.postMessage(message);
  }
}
