// The node factory: one libp2p node with Parley's transports, services and settings, wrapped so
// the layers above see peer ids as strings, topics, requests, invites and status events, and
// never a libp2p type.
import { autoNAT } from '@libp2p/autonat';
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2';
import { dcutr } from '@libp2p/dcutr';
import { gossipsub } from '@libp2p/gossipsub';
import type { GossipSub } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import type { Connection, Libp2p, PeerId } from '@libp2p/interface';
import { mdns } from '@libp2p/mdns';
import { noise } from '@libp2p/noise';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { webRTC } from '@libp2p/webrtc';
import { webSockets } from '@libp2p/websockets';
import { yamux } from '@libp2p/yamux';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import type { Libp2pOptions } from 'libp2p';
import type { PeerAddressBook } from './addressBook.js';
import { MemoryPeerAddressBook } from './addressBook.js';
import type { NetConfig } from './config.js';
import { defaultNetConfig } from './config.js';
import { Discovery } from './discovery.js';
import { NetError } from './errors.js';
import { NetEventEmitter } from './events.js';
import { Gossip, gossipsubOptions } from './gossip.js';
import { GossipLinks } from './gossipLinks.js';
import type { PeerIdentityStore } from './identity.js';
import { loadOrCreatePeerKey } from './identity.js';
import { Invites } from './invites.js';
import { listenWithPreviousPorts, rememberOwnAddresses } from './listenPorts.js';
import { RequestResponse } from './reqresp.js';

/**
 * Yamux grows a stream's receive window up to this. Kept below the stream's 4 MiB read buffer,
 * so a reader that pauses (back-pressure) cannot be overrun into a reset by a fast sender.
 */
const MAX_STREAM_WINDOW = 2 * 1024 * 1024;

export interface ParleyNodeOptions {
  readonly identity: PeerIdentityStore;
  readonly config?: NetConfig;
  readonly addressBook?: PeerAddressBook;
}

export type TransportKind = 'tcp' | 'websockets' | 'webrtc' | 'relayed' | 'other';

export interface ConnectionInfo {
  readonly peerId: string;
  readonly remoteAddr: string;
  readonly transport: TransportKind;
  readonly direction: 'inbound' | 'outbound';
  /** Relayed connections are limited in time and bytes; gossip does not run over them. */
  readonly limited: boolean;
}

function transportOf(addr: string): TransportKind {
  if (addr.includes('/webrtc')) return 'webrtc';
  if (addr.includes('/p2p-circuit')) return 'relayed';
  if (addr.includes('/ws')) return 'websockets';
  if (addr.includes('/tcp/')) return 'tcp';
  return 'other';
}

function libp2pOptions(cfg: NetConfig): Libp2pOptions<Record<string, unknown>> {
  const t = cfg.transports;
  const transports: NonNullable<Libp2pOptions['transports']> = [];
  if (t.tcp) transports.push(tcp());
  if (t.websockets) transports.push(webSockets());
  if (t.circuitRelay) transports.push(circuitRelayTransport());
  if (t.webrtc) {
    const rtcConfiguration = {
      iceServers: cfg.webrtc.iceServers.map((urls) => ({ urls })),
      // node-datachannel reads bindAddress from the same object.
      ...(cfg.webrtc.bindAddress !== undefined ? { bindAddress: cfg.webrtc.bindAddress } : {}),
    };
    transports.push(webRTC({ rtcConfiguration }));
  }
  const services: Record<string, (components: never) => unknown> = {
    identify: identify(),
    ping: ping(),
    autonat: autoNAT(),
    pubsub: gossipsub(gossipsubOptions(cfg.gossip)),
  };
  if (t.circuitRelay) services.dcutr = dcutr();
  if (cfg.relayServer.enabled) {
    const r = cfg.relayServer;
    services.relay = circuitRelayServer({
      reservations: {
        maxReservations: r.maxReservations,
        reservationTtl: r.reservationTtlMs,
        applyDefaultLimit: true,
        defaultDurationLimit: r.connectionDurationMs,
        defaultDataLimit: BigInt(r.connectionDataBytes),
      },
    });
  }
  return {
    addresses: { listen: [...cfg.listen], appendAnnounce: [...cfg.announce] },
    transports,
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: MAX_STREAM_WINDOW } })],
    peerDiscovery: cfg.mdns.enabled
      ? [mdns({ interval: cfg.mdns.intervalMs, serviceTag: cfg.mdns.serviceTag })]
      : [],
    connectionManager: {
      maxConnections: cfg.connections.maxConnections,
      allow: [...cfg.connections.allow],
      inboundConnectionThreshold: cfg.connections.inboundPerHostPerSecond,
      dialTimeout: cfg.connections.dialTimeoutMs,
    },
    connectionMonitor: {
      pingInterval: cfg.connections.pingIntervalMs,
      abortConnectionOnPingFailure: cfg.connections.abortOnPingFailure,
    },
    services: services as Libp2pOptions<Record<string, unknown>>['services'],
    start: false,
  };
}

export class ParleyNode {
  readonly peerId: string;
  readonly config: NetConfig;
  readonly events = new NetEventEmitter();
  readonly gossip: Gossip;
  readonly requests: RequestResponse;
  readonly invites: Invites;
  readonly addressBook: PeerAddressBook;
  readonly #libp2p: Libp2p;
  readonly #discovery: Discovery;
  readonly #gossipLinks: GossipLinks;
  /** Connections whose identify exchange finished (see dial). */
  readonly #identified = new WeakSet<Connection>();
  #state: 'created' | 'started' | 'stopped' = 'created';

  /** Use createParleyNode. */
  constructor(libp2p: Libp2p, config: NetConfig, addressBook: PeerAddressBook) {
    this.#libp2p = libp2p;
    this.peerId = libp2p.peerId.toString();
    this.config = config;
    this.addressBook = addressBook;
    const pubsub = libp2p.services.pubsub as GossipSub;
    this.gossip = new Gossip(pubsub, config.gossip, this.events);
    this.#gossipLinks = new GossipLinks(libp2p, pubsub);
    this.requests = new RequestResponse(libp2p, config.requests, this.events);
    this.#discovery = new Discovery(
      libp2p,
      addressBook,
      config.reconnect,
      config.connections,
      this.events,
    );
    this.invites = new Invites(
      {
        peerId: this.peerId,
        addresses: () => this.addresses(),
        learnAddresses: (peerId, addrs) => this.#discovery.learnAddresses(peerId, addrs),
        addContact: (peerId, addrs) => this.#discovery.addContact(peerId, addrs),
      },
      this.requests,
      config.invites,
      this.events,
    );
    libp2p.addEventListener('peer:identify', (evt) => this.#identified.add(evt.detail.connection));
    libp2p.addEventListener('peer:connect', (evt) => this.#peerChange('peer:online', evt.detail));
    libp2p.addEventListener('peer:disconnect', (evt) =>
      this.#peerChange('peer:offline', evt.detail),
    );
  }

  #peerChange(name: 'peer:online' | 'peer:offline', peer: PeerId): void {
    this.events.emit(name, { peerId: peer.toString() });
    this.events.emit('peers:count', { online: this.#libp2p.getPeers().length });
  }

  get started(): boolean {
    return this.#state === 'started';
  }

  async start(): Promise<void> {
    if (this.#state !== 'created') {
      throw new NetError('already_started', `node is ${this.#state}; make a new one to restart`);
    }
    this.#state = 'started';
    try {
      await this.#libp2p.start();
      this.#gossipLinks.start();
      await rememberOwnAddresses(this.addressBook, this.peerId, this.addresses());
      await this.invites.start();
      await this.#discovery.start();
    } catch (cause) {
      await this.stop();
      throw new NetError('invalid_config', 'the node failed to start', { cause });
    }
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#discovery.stop();
    this.#gossipLinks.stop();
    this.invites.stop();
    await this.#libp2p.stop();
  }

  #requireStarted(): void {
    if (this.#state !== 'started') throw new NetError('not_started', `node is ${this.#state}`);
  }

  /** Our addresses as others can dial them, each ending in /p2p/<our id>. */
  addresses(): string[] {
    return this.#libp2p.getMultiaddrs().map((a) => a.toString());
  }

  /**
   * Dials a multiaddr ending in /p2p/<id>, or a peer id whose addresses are known. An open
   * connection to the peer is reused unless `newConnection` is set.
   */
  async dial(
    target: string,
    options: { signal?: AbortSignal; newConnection?: boolean } = {},
  ): Promise<string> {
    this.#requireStarted();
    let dest: PeerId | ReturnType<typeof multiaddr>;
    try {
      dest = target.startsWith('/') ? multiaddr(target) : peerIdFromString(target);
    } catch (cause) {
      throw new NetError('invalid_argument', 'not a multiaddr or a peer id', { cause });
    }
    const signal = AbortSignal.any([
      AbortSignal.timeout(this.config.connections.dialTimeoutMs),
      ...(options.signal ? [options.signal] : []),
    ]);
    let conn: Connection;
    try {
      conn = await this.#libp2p.dial(dest, { signal, force: options.newConnection === true });
    } catch (cause) {
      throw new NetError('dial_failed', `cannot dial ${target}`, { cause });
    }
    await this.#identifiedOrGone(conn, signal);
    return conn.remotePeer.toString();
  }

  /**
   * Waits until identify has run on `conn` (or it closed, or `signal` fired). The dialler's side
   * of a connection opens before the listener's: the listener still has the last Noise message
   * and the muxer negotiation to process. A dial that returned at once let the caller tell the
   * other node to use the connection while it did not list it yet, and that node, asking us by
   * peer id with no connection and no address learnt, failed ("no valid addresses"). The
   * listener answering identify on the connection proves it holds the connection.
   */
  async #identifiedOrGone(conn: Connection, signal: AbortSignal): Promise<void> {
    if (this.#identified.has(conn) || conn.status !== 'open' || signal.aborted) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearInterval(poll);
        this.#libp2p.removeEventListener('peer:identify', onIdentify);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const onIdentify = (): void => {
        if (this.#identified.has(conn)) done();
      };
      // Identify failing (a peer without it) or the connection closing fire no identify event.
      const poll = setInterval(() => {
        if (conn.status !== 'open') done();
      }, 50);
      this.#libp2p.addEventListener('peer:identify', onIdentify);
      signal.addEventListener('abort', done);
    });
  }

  async hangUp(peerId: string): Promise<void> {
    await this.#libp2p.hangUp(peerIdFromString(peerId));
  }

  /** Makes `peerId` a contact: remembered, and redialled with backoff while not connected. */
  addContact(peerId: string, addrs: readonly string[]): Promise<void> {
    return this.#discovery.addContact(peerId, addrs);
  }

  removeContact(peerId: string): Promise<void> {
    return this.#discovery.removeContact(peerId);
  }

  /** Peer ids with at least one open connection. */
  connectedPeers(): string[] {
    return this.#libp2p.getPeers().map((p) => p.toString());
  }

  isConnected(peerId: string): boolean {
    return this.#libp2p.getConnections(peerIdFromString(peerId)).length > 0;
  }

  connections(peerId?: string): ConnectionInfo[] {
    const conns = this.#libp2p.getConnections(
      peerId === undefined ? undefined : peerIdFromString(peerId),
    );
    return conns
      .filter((c) => c.status === 'open')
      .map((c) => {
        const remoteAddr = c.remoteAddr.toString();
        return {
          peerId: c.remotePeer.toString(),
          remoteAddr,
          transport: transportOf(remoteAddr),
          direction: c.direction,
          limited: c.limits !== undefined,
        };
      });
  }
}

/** Creates a node (not started) with its persistent peer key loaded or created. */
export async function createParleyNode(options: ParleyNodeOptions): Promise<ParleyNode> {
  const config = options.config ?? defaultNetConfig();
  const privateKey = await loadOrCreatePeerKey(options.identity);
  const addressBook = options.addressBook ?? new MemoryPeerAddressBook();
  // Port 0 means "last run's port if free": see listenPorts.ts for why.
  const selfId = peerIdFromPrivateKey(privateKey).toString();
  const listen = await listenWithPreviousPorts(config.listen, addressBook, selfId);
  let libp2p: Libp2p;
  try {
    const opts = libp2pOptions(config);
    libp2p = await createLibp2p({
      ...opts,
      addresses: { ...opts.addresses, listen },
      privateKey,
    });
  } catch (cause) {
    throw new NetError('invalid_config', 'libp2p rejected the configuration', { cause });
  }
  return new ParleyNode(libp2p, config, addressBook);
}
