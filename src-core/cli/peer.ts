/**
 * How a command reaches the profile: through the running daemon (or `serve`) of the profile when
 * there is one, otherwise by opening the profile in this process (an in-process peer that lives
 * for the one command). Both give the same `ParleyApi`.
 */
import type { ParleyApi } from '../app/api.js';
import { ParleyApp } from '../app/parleyApp.js';
import { connectDaemon } from './control.js';
import { CliError } from './errors.js';
import type { GlobalOptions } from './options.js';
import { netConfigOf, profileDirOf, readPassphrase } from './options.js';

export interface Peer {
  readonly api: ParleyApi;
  /** `daemon`: a running daemon/serve does the work; `local`: this process runs the peer. */
  readonly mode: 'daemon' | 'local';
  /** Settles when the daemon connection is gone (never for an in-process peer). */
  readonly gone: Promise<unknown>;
  close(): Promise<void>;
}

export function newApp(g: GlobalOptions): ParleyApp {
  return new ParleyApp({
    profileDir: profileDirOf(g),
    keyProtection: 'passphrase',
    net: netConfigOf(g),
  });
}

/** Opens the profile in this process: absent → `no_profile`, wrong passphrase → `wrong_passphrase`. */
export async function unlockLocal(app: ParleyApp): Promise<void> {
  const status = await app.profile.status();
  if (status.state === 'absent') {
    throw new CliError('no_profile', 'no profile in this folder: run `parley init` first');
  }
  if (status.state === 'locked')
    await app.profile.unlock({ passphrase: await readPassphrase(false) });
}

export async function openPeer(g: GlobalOptions): Promise<Peer> {
  const client = await connectDaemon(profileDirOf(g));
  if (client !== null) {
    const status = await client.profile.status();
    if (status.state === 'absent') {
      client.close();
      throw new CliError('no_profile', 'the running peer has no profile yet: create it first');
    }
    if (status.state === 'locked') {
      await client.profile.unlock({ passphrase: await readPassphrase(false) });
    }
    return {
      api: client,
      mode: 'daemon',
      gone: client.closed,
      close: () => {
        client.close();
        return Promise.resolve();
      },
    };
  }
  const app = newApp(g);
  try {
    await unlockLocal(app);
  } catch (error) {
    await app.close();
    throw error;
  }
  return { api: app, mode: 'local', gone: new Promise(() => undefined), close: () => app.close() };
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * For an in-process peer about to change a group: waits (up to `waitMs`) until at least one
 * contact is online, so the change has someone to go to. A daemon is online already.
 */
export async function awaitContacts(peer: Peer, waitMs: number): Promise<boolean> {
  if (peer.mode === 'daemon') return true;
  const until = Date.now() + waitMs;
  for (;;) {
    const contacts = await peer.api.contacts.list();
    if (contacts.length === 0 || contacts.some((c) => c.online)) return contacts.length > 0;
    if (Date.now() >= until) return false;
    await sleep(250);
  }
}

/**
 * An in-process peer stays up `lingerMs` after its change, so the members it reached can fetch
 * what they still need from it (chunks, catch-up) before it goes offline.
 */
export async function linger(peer: Peer, lingerMs: number): Promise<void> {
  if (peer.mode === 'local' && lingerMs > 0) await sleep(lingerMs);
}
