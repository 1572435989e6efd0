// Connection status as events, for the UI and the delivery layer: who is online, which peers a
// topic's mesh holds, what discovery and reconnection are doing, and which peers broke a
// protocol. Peers appear as peer id strings; no libp2p type leaks upward.
import { NetError, describeError } from './errors.js';
import type { NetErrorCode } from './errors.js';

export interface NetEvents {
  /** A first connection to the peer opened. */
  'peer:online': { peerId: string };
  /** The last connection to the peer closed. */
  'peer:offline': { peerId: string };
  /** The number of peers with at least one open connection changed. */
  'peers:count': { online: number };
  /** A topic's mesh or its known subscribers changed. */
  'topic:status': { topic: string; mesh: number; subscribers: number };
  /** A peer was found on the LAN (mDNS) and is being dialled. */
  'peer:discovered': { peerId: string; source: 'mdns' };
  /** A dial to a contact failed; the next attempt is after `retryInMs`. */
  'contact:unreachable': { peerId: string; attempt: number; retryInMs: number };
  /** Someone redeemed one of our invites, or we redeemed someone's. */
  'invite:redeemed': { peerId: string; role: 'inviter' | 'invitee' };
  /** A peer sent something malformed on a request/response protocol. */
  'peer:misbehaved': { peerId: string; protocol: string; code: NetErrorCode };
}

export type NetEventName = keyof NetEvents;
export type NetEventListener<K extends NetEventName> = (detail: NetEvents[K]) => void;

/**
 * A small typed emitter. A listener that throws is reported on the console and does not stop
 * the others or the node: a UI bug must not take the network down.
 */
export class NetEventEmitter {
  readonly #listeners = new Map<NetEventName, Set<(detail: never) => void>>();

  on<K extends NetEventName>(name: K, listener: NetEventListener<K>): () => void {
    let set = this.#listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener as (detail: never) => void);
    return () => this.off(name, listener);
  }

  off<K extends NetEventName>(name: K, listener: NetEventListener<K>): void {
    this.#listeners.get(name)?.delete(listener as (detail: never) => void);
  }

  /** Resolves with the first event of `name` that satisfies `match`, or rejects on timeout. */
  once<K extends NetEventName>(
    name: K,
    match: (detail: NetEvents[K]) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<NetEvents[K]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new NetError('timeout', `no ${name} event within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.on(name, (detail) => {
        if (!match(detail)) return;
        clearTimeout(timer);
        off();
        resolve(detail);
      });
    });
  }

  emit<K extends NetEventName>(name: K, detail: NetEvents[K]): void {
    const set = this.#listeners.get(name);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as NetEventListener<K>)(detail);
      } catch (err) {
        console.error(`net: a '${name}' listener threw ${describeError(err)}`);
      }
    }
  }
}
