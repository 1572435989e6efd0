// Finding peers and finding them again. libp2p 3 does not dial what it discovers, so peers that
// mDNS reports on the LAN are dialled here. Every peer we identify is remembered in the address
// book with its listen addresses; contacts (from invites or the app) are redialled with
// exponential backoff whenever they are not connected, starting from their last addresses.
import type { Connection, IdentifyResult, Libp2p, PeerInfo } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import type { PeerAddressBook } from './addressBook.js';
import { MAX_ADDRS_PER_PEER, forgetPeer, rememberPeer } from './addressBook.js';
import type { ConnectionsConfig, ReconnectConfig } from './config.js';
import { describeError } from './errors.js';
import type { NetEventEmitter } from './events.js';

/** Dials of LAN-discovered peers at once; more wait for the next announcement. */
const MAX_DISCOVERY_DIALS = 8;

interface Backoff {
  attempt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  dialing: boolean;
}

/** `addr` without a trailing /p2p/<peerId> (relay addresses keep their relay's /p2p). */
export function stripPeer(addr: string, peerId: string): string {
  const ma = multiaddr(addr);
  const comps = ma.getComponents();
  const last = comps[comps.length - 1];
  if (last?.name === 'p2p' && last.value === peerId)
    return multiaddr(comps.slice(0, -1)).toString();
  return ma.toString();
}

/** The delay before reconnect attempt `attempt` (1-based), with jitter from `random`. */
export function backoffDelay(cfg: ReconnectConfig, attempt: number, random = Math.random): number {
  const base = Math.min(
    cfg.maxDelayMs,
    cfg.initialDelayMs * cfg.factor ** Math.max(0, attempt - 1),
  );
  const scale = 1 - cfg.jitter + 2 * cfg.jitter * random();
  return Math.round(Math.min(cfg.maxDelayMs, base * scale));
}

export class Discovery {
  readonly #libp2p: Libp2p;
  readonly #book: PeerAddressBook;
  readonly #reconnect: ReconnectConfig;
  readonly #connections: ConnectionsConfig;
  readonly #events: NetEventEmitter;
  readonly #backoff = new Map<string, Backoff>();
  readonly #discoveryDials = new Set<string>();
  readonly #self: string;
  #running = false;

  constructor(
    libp2p: Libp2p,
    book: PeerAddressBook,
    reconnect: ReconnectConfig,
    connections: ConnectionsConfig,
    events: NetEventEmitter,
  ) {
    this.#libp2p = libp2p;
    this.#book = book;
    this.#reconnect = reconnect;
    this.#connections = connections;
    this.#events = events;
    this.#self = libp2p.peerId.toString();
  }

  readonly #onDiscovery = (evt: CustomEvent<PeerInfo>): void =>
    void this.#dialDiscovered(evt.detail);
  readonly #onIdentify = (evt: CustomEvent<IdentifyResult>): void =>
    void this.#remember(evt.detail);
  readonly #onOpen = (evt: CustomEvent<Connection>): void =>
    this.#connected(evt.detail.remotePeer.toString());
  readonly #onClose = (evt: CustomEvent<Connection>): void =>
    void this.#disconnected(evt.detail.remotePeer.toString());

  async start(): Promise<void> {
    this.#running = true;
    this.#libp2p.addEventListener('peer:discovery', this.#onDiscovery);
    this.#libp2p.addEventListener('peer:identify', this.#onIdentify);
    this.#libp2p.addEventListener('connection:open', this.#onOpen);
    this.#libp2p.addEventListener('connection:close', this.#onClose);
    for (const record of await this.#book.list()) {
      if (record.contact) this.#schedule(record.peerId, 0);
    }
  }

  stop(): void {
    this.#running = false;
    this.#libp2p.removeEventListener('peer:discovery', this.#onDiscovery);
    this.#libp2p.removeEventListener('peer:identify', this.#onIdentify);
    this.#libp2p.removeEventListener('connection:open', this.#onOpen);
    this.#libp2p.removeEventListener('connection:close', this.#onClose);
    for (const b of this.#backoff.values()) clearTimeout(b.timer);
    this.#backoff.clear();
  }

  /** Makes `peerId` a contact at `addrs` and starts keeping a connection to it. */
  async addContact(peerId: string, addrs: readonly string[]): Promise<void> {
    peerIdFromString(peerId);
    const bare = addrs.map((a) => stripPeer(a, peerId));
    await rememberPeer(this.#book, peerId, bare, { contact: true });
    if (this.#running && !this.#isConnected(peerId)) this.#schedule(peerId, 0);
  }

  /** Stops reconnecting to `peerId` and forgets it. */
  async removeContact(peerId: string): Promise<void> {
    const b = this.#backoff.get(peerId);
    clearTimeout(b?.timer);
    this.#backoff.delete(peerId);
    await forgetPeer(this.#book, peerId);
  }

  /** Hands addresses to libp2p's dialer (they are not persisted unless the peer is seen). */
  async learnAddresses(peerId: string, addrs: readonly string[]): Promise<void> {
    const multiaddrs = addrs
      .slice(0, MAX_ADDRS_PER_PEER)
      .map((a) => multiaddr(stripPeer(a, peerId)));
    await this.#libp2p.peerStore.merge(peerIdFromString(peerId), { multiaddrs });
  }

  /**
   * Connected in the sense that matters: an open connection without relay limits. A contact
   * reached only through a relay is still redialled, which upgrades it (WebRTC, hole punching)
   * once that works; gossip and requests do not run over relayed connections.
   */
  #isConnected(peerId: string): boolean {
    return this.#libp2p
      .getConnections(peerIdFromString(peerId))
      .some((c) => c.status === 'open' && c.limits === undefined);
  }

  async #dialDiscovered(info: PeerInfo): Promise<void> {
    const peerId = info.id.toString();
    if (!this.#running || peerId === this.#self || this.#discoveryDials.has(peerId)) return;
    if (this.#discoveryDials.size >= MAX_DISCOVERY_DIALS) return;
    if (this.#libp2p.getConnections(info.id).length > 0) return;
    this.#discoveryDials.add(peerId);
    this.#events.emit('peer:discovered', { peerId, source: 'mdns' });
    try {
      await this.#libp2p.peerStore.merge(info.id, { multiaddrs: info.multiaddrs });
      await this.#libp2p.dial(info.id, {
        signal: AbortSignal.timeout(this.#connections.dialTimeoutMs),
      });
    } catch {
      // The next mDNS announcement tries again; nothing to report for a passing LAN peer.
    } finally {
      this.#discoveryDials.delete(peerId);
    }
  }

  async #remember(result: IdentifyResult): Promise<void> {
    const peerId = result.peerId.toString();
    const addrs = result.listenAddrs
      .map((a) => stripPeer(a.toString(), peerId))
      .slice(0, MAX_ADDRS_PER_PEER);
    try {
      await rememberPeer(this.#book, peerId, addrs, { seenAtMs: Date.now() });
    } catch (err) {
      console.error(`net: cannot update the address book: ${describeError(err)}`);
    }
  }

  #connected(peerId: string): void {
    const b = this.#backoff.get(peerId);
    if (b === undefined || !this.#isConnected(peerId)) return;
    clearTimeout(b.timer);
    b.timer = undefined;
    b.attempt = 0;
  }

  async #disconnected(peerId: string): Promise<void> {
    if (!this.#running || this.#isConnected(peerId)) return;
    const record = await this.#book.get(peerId).catch(() => undefined);
    if (record?.contact === true) this.#schedule(peerId, backoffDelay(this.#reconnect, 1));
  }

  #schedule(peerId: string, delayMs: number): void {
    if (!this.#running) return;
    let b = this.#backoff.get(peerId);
    if (b === undefined) {
      b = { attempt: 0, timer: undefined, dialing: false };
      this.#backoff.set(peerId, b);
    }
    if (b.timer !== undefined || b.dialing) return;
    const state = b;
    state.timer = setTimeout(() => {
      state.timer = undefined;
      void this.#attempt(peerId, state);
    }, delayMs);
    // Reconnect timers must not keep a process alive on their own.
    state.timer.unref?.();
  }

  async #attempt(peerId: string, b: Backoff): Promise<void> {
    if (!this.#running || this.#backoff.get(peerId) !== b) return;
    if (this.#isConnected(peerId)) {
      b.attempt = 0;
      return;
    }
    const record = await this.#book.get(peerId).catch(() => undefined);
    if (record === undefined || !record.contact) {
      this.#backoff.delete(peerId);
      return;
    }
    b.dialing = true;
    try {
      await this.learnAddresses(peerId, record.addrs);
      await this.#libp2p.dial(peerIdFromString(peerId), {
        signal: AbortSignal.timeout(this.#connections.dialTimeoutMs),
      });
      b.attempt = 0;
    } catch {
      b.attempt++;
      const retryInMs = backoffDelay(this.#reconnect, b.attempt + 1);
      this.#events.emit('contact:unreachable', { peerId, attempt: b.attempt, retryInMs });
      b.dialing = false;
      this.#schedule(peerId, retryInMs);
      return;
    } finally {
      b.dialing = false;
    }
  }
}
