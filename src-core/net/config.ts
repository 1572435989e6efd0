// Settings of the peer-to-peer node: which transports, where to listen, discovery, relay limits,
// gossip and request limits. Nothing here points at a host on the internet: every address comes
// from the LAN (mDNS), an invite, or the user's settings.
import { multiaddr } from '@multiformats/multiaddr';
import { NetError } from './errors.js';

export interface TransportsConfig {
  /** TCP: the default on a LAN. */
  readonly tcp: boolean;
  readonly websockets: boolean;
  /** WebRTC between peers behind NAT, signalled over a circuit-relay connection. */
  readonly webrtc: boolean;
  /** Circuit relay v2 client: dial and be dialled through a relay peer. */
  readonly circuitRelay: boolean;
}

/**
 * Serving as a relay for other Parley peers. Any peer with a public or LAN address may do it;
 * the limits keep one relay from carrying bulk traffic: relayed connections are meant for
 * signalling (WebRTC, hole punching) and small messages until a direct link exists.
 */
export interface RelayServerConfig {
  readonly enabled: boolean;
  readonly maxReservations: number;
  readonly reservationTtlMs: number;
  /** Each relayed connection is closed after this long. */
  readonly connectionDurationMs: number;
  /** ... or after this many bytes in each direction. */
  readonly connectionDataBytes: number;
}

export interface WebRtcConfig {
  /**
   * STUN/TURN servers, only from the user's settings. Empty by default: the node-datachannel
   * binding otherwise asks public STUN servers.
   */
  readonly iceServers: readonly string[];
  /** Gather ICE candidates on this local address only (tests bind 127.0.0.1). */
  readonly bindAddress?: string;
}

export interface MdnsConfig {
  readonly enabled: boolean;
  readonly intervalMs: number;
  /** Service name announced on the LAN; peers with another tag ignore each other. */
  readonly serviceTag: string;
}

export interface ConnectionsConfig {
  readonly maxConnections: number;
  /**
   * Remote networks (multiaddrs, with /ipcidr for ranges) exempt from the per-host inbound rate
   * limit and from maxConnections. Loopback is listed by default: only local processes use it.
   */
  readonly allow: readonly string[];
  /** New inbound connections accepted per second from one host (other than `allow`). */
  readonly inboundPerHostPerSecond: number;
  readonly dialTimeoutMs: number;
  /**
   * Close a connection whose keep-alive ping times out. Off where a CPU-bound burst (tests, a
   * bench with 20 nodes in one process) can delay pings without the link being dead.
   */
  readonly abortOnPingFailure: boolean;
  readonly pingIntervalMs: number;
}

/** Gossipsub settings; src-core/net/README.md explains each choice. */
export interface GossipConfig {
  /** Largest envelope payload published or accepted, in bytes. */
  readonly maxMessageBytes: number;
  /** Target mesh degree and its bounds (the gossipsub D, D_lo, D_hi, D_lazy). */
  readonly D: number;
  readonly Dlo: number;
  readonly Dhi: number;
  readonly Dlazy: number;
  readonly heartbeatIntervalMs: number;
  /** Send own messages to every subscribed peer with a good score, not just the mesh. */
  readonly floodPublish: boolean;
  /** How long a message id is remembered for de-duplication. */
  readonly seenTtlMs: number;
  /**
   * IP addresses exempt from the IP-colocation penalty. Loopback by default: many local peers
   * on one address are tests or one user's processes, not a Sybil attack.
   */
  readonly ipColocationWhitelist: readonly string[];
  /** Score penalty weight per invalid message (squared count, decaying); negative. */
  readonly invalidMessageWeight: number;
}

export interface RequestConfig {
  /** Time for a whole request: dial, send, and the response head. */
  readonly timeoutMs: number;
  /** Longest silence between two chunks of a streamed body. */
  readonly idleTimeoutMs: number;
  /** Largest head frame (request or response body that is not streamed). */
  readonly maxHeadBytes: number;
  /** Largest total of a streamed body. */
  readonly maxStreamBytes: number;
  /** Size of the chunks a streamed body is cut into. */
  readonly chunkBytes: number;
  /** Requests handled at the same time per protocol; more get BUSY. */
  readonly maxConcurrentPerProtocol: number;
  /** Bytes buffered from a stream before it is paused (back-pressure to the sender). */
  readonly readHighWaterBytes: number;
}

export interface ReconnectConfig {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly factor: number;
  /** Each delay is scaled by a random factor in [1 - jitter, 1 + jitter]. */
  readonly jitter: number;
}

export interface InviteConfig {
  readonly ttlMs: number;
  readonly maxPending: number;
  /** Put loopback addresses in invite codes (tests on one machine). */
  readonly includeLoopback: boolean;
  readonly maxAddrs: number;
}

export interface NetConfig {
  readonly listen: readonly string[];
  /** Extra addresses to announce, from the user's settings (a port forward, say). */
  readonly announce: readonly string[];
  readonly transports: TransportsConfig;
  readonly relayServer: RelayServerConfig;
  readonly webrtc: WebRtcConfig;
  readonly mdns: MdnsConfig;
  readonly connections: ConnectionsConfig;
  readonly gossip: GossipConfig;
  readonly requests: RequestConfig;
  readonly reconnect: ReconnectConfig;
  readonly invites: InviteConfig;
}

export type NetConfigOverrides = {
  readonly [K in keyof NetConfig]?: NetConfig[K] extends readonly string[]
    ? readonly string[]
    : Partial<NetConfig[K]>;
};

const KiB = 1024;
const MiB = 1024 * KiB;
const LOOPBACK_NETS = ['/ip4/127.0.0.0/ipcidr/8', '/ip6/::1/ipcidr/128'];

/** The desktop app's settings: every transport, mDNS on, relay service within limits. */
export function defaultNetConfig(overrides: NetConfigOverrides = {}): NetConfig {
  const base: NetConfig = {
    listen: ['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/tcp/0/ws', '/p2p-circuit', '/webrtc'],
    announce: [],
    transports: { tcp: true, websockets: true, webrtc: true, circuitRelay: true },
    relayServer: {
      enabled: true,
      maxReservations: 32,
      reservationTtlMs: 2 * 60 * 60 * 1000,
      connectionDurationMs: 2 * 60 * 1000,
      connectionDataBytes: 1 * MiB,
    },
    webrtc: { iceServers: [] },
    mdns: { enabled: true, intervalMs: 10_000, serviceTag: '_parley._udp.local' },
    connections: {
      maxConnections: 300,
      allow: LOOPBACK_NETS,
      inboundPerHostPerSecond: 5,
      dialTimeoutMs: 10_000,
      abortOnPingFailure: true,
      pingIntervalMs: 10_000,
    },
    gossip: {
      maxMessageBytes: 256 * KiB,
      D: 6,
      Dlo: 4,
      Dhi: 12,
      Dlazy: 6,
      heartbeatIntervalMs: 700,
      floodPublish: true,
      seenTtlMs: 10 * 60 * 1000,
      ipColocationWhitelist: ['127.0.0.1', '::1'],
      invalidMessageWeight: -20,
    },
    requests: {
      timeoutMs: 15_000,
      idleTimeoutMs: 15_000,
      maxHeadBytes: 1 * MiB,
      maxStreamBytes: 64 * MiB,
      chunkBytes: 64 * KiB,
      maxConcurrentPerProtocol: 16,
      readHighWaterBytes: 1 * MiB,
    },
    reconnect: { initialDelayMs: 1_000, maxDelayMs: 5 * 60 * 1000, factor: 2, jitter: 0.2 },
    invites: { ttlMs: 15 * 60 * 1000, maxPending: 64, includeLoopback: false, maxAddrs: 8 },
  };
  return validateNetConfig(merge(base, overrides));
}

/**
 * Nodes on 127.0.0.1 only, for tests and benchmarks: TCP, no mDNS, no WebRTC, no relay service,
 * and no ping aborts (many nodes in one process on 2 cores delay pings).
 */
export function loopbackNetConfig(overrides: NetConfigOverrides = {}): NetConfig {
  const base = defaultNetConfig();
  return validateNetConfig(
    merge(
      {
        ...base,
        listen: ['/ip4/127.0.0.1/tcp/0'],
        transports: { tcp: true, websockets: false, webrtc: false, circuitRelay: false },
        relayServer: { ...base.relayServer, enabled: false },
        mdns: { ...base.mdns, enabled: false },
        connections: { ...base.connections, abortOnPingFailure: false },
        invites: { ...base.invites, includeLoopback: true },
      },
      overrides,
    ),
  );
}

function merge(base: NetConfig, o: NetConfigOverrides): NetConfig {
  return {
    listen: o.listen ?? base.listen,
    announce: o.announce ?? base.announce,
    transports: { ...base.transports, ...o.transports },
    relayServer: { ...base.relayServer, ...o.relayServer },
    webrtc: { ...base.webrtc, ...o.webrtc },
    mdns: { ...base.mdns, ...o.mdns },
    connections: { ...base.connections, ...o.connections },
    gossip: { ...base.gossip, ...o.gossip },
    requests: { ...base.requests, ...o.requests },
    reconnect: { ...base.reconnect, ...o.reconnect },
    invites: { ...base.invites, ...o.invites },
  };
}

function fail(message: string): never {
  throw new NetError('invalid_config', message);
}

function positiveInt(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v <= 0) fail(`${name} must be a positive integer`);
}

function checkAddrs(name: string, addrs: readonly string[]): void {
  for (const a of addrs) {
    try {
      multiaddr(a);
    } catch (cause) {
      throw new NetError('invalid_config', `${name} has an invalid multiaddr: ${a}`, { cause });
    }
  }
}

/** Throws `invalid_config` naming the first setting out of range. */
export function validateNetConfig(c: NetConfig): NetConfig {
  checkAddrs('listen', c.listen);
  checkAddrs('announce', c.announce);
  checkAddrs('connections.allow', c.connections.allow);
  if (!c.transports.tcp && !c.transports.websockets && !c.transports.webrtc) {
    fail('at least one of tcp, websockets, webrtc must be enabled');
  }
  if (c.transports.webrtc && !c.transports.circuitRelay) {
    fail('webrtc needs circuitRelay: the WebRTC handshake is signalled over a relayed connection');
  }
  for (const url of c.webrtc.iceServers) {
    if (!/^(stun|stuns|turn|turns):/.test(url)) fail(`webrtc.iceServers: not a STUN/TURN url`);
  }
  const ints: [string, number][] = [
    ['relayServer.maxReservations', c.relayServer.maxReservations],
    ['relayServer.reservationTtlMs', c.relayServer.reservationTtlMs],
    ['relayServer.connectionDurationMs', c.relayServer.connectionDurationMs],
    ['relayServer.connectionDataBytes', c.relayServer.connectionDataBytes],
    ['mdns.intervalMs', c.mdns.intervalMs],
    ['connections.maxConnections', c.connections.maxConnections],
    ['connections.inboundPerHostPerSecond', c.connections.inboundPerHostPerSecond],
    ['connections.dialTimeoutMs', c.connections.dialTimeoutMs],
    ['connections.pingIntervalMs', c.connections.pingIntervalMs],
    ['gossip.maxMessageBytes', c.gossip.maxMessageBytes],
    ['gossip.D', c.gossip.D],
    ['gossip.Dlo', c.gossip.Dlo],
    ['gossip.Dhi', c.gossip.Dhi],
    ['gossip.Dlazy', c.gossip.Dlazy],
    ['gossip.heartbeatIntervalMs', c.gossip.heartbeatIntervalMs],
    ['gossip.seenTtlMs', c.gossip.seenTtlMs],
    ['requests.timeoutMs', c.requests.timeoutMs],
    ['requests.idleTimeoutMs', c.requests.idleTimeoutMs],
    ['requests.maxHeadBytes', c.requests.maxHeadBytes],
    ['requests.maxStreamBytes', c.requests.maxStreamBytes],
    ['requests.chunkBytes', c.requests.chunkBytes],
    ['requests.maxConcurrentPerProtocol', c.requests.maxConcurrentPerProtocol],
    ['requests.readHighWaterBytes', c.requests.readHighWaterBytes],
    ['reconnect.initialDelayMs', c.reconnect.initialDelayMs],
    ['reconnect.maxDelayMs', c.reconnect.maxDelayMs],
    ['invites.ttlMs', c.invites.ttlMs],
    ['invites.maxPending', c.invites.maxPending],
    ['invites.maxAddrs', c.invites.maxAddrs],
  ];
  for (const [name, v] of ints) positiveInt(name, v);
  const g = c.gossip;
  if (!(g.Dlo <= g.D && g.D <= g.Dhi)) fail('gossip: need Dlo <= D <= Dhi');
  if (!(g.invalidMessageWeight < 0)) fail('gossip.invalidMessageWeight must be negative');
  if (c.requests.chunkBytes > c.requests.maxHeadBytes) {
    fail('requests.chunkBytes must not exceed requests.maxHeadBytes');
  }
  if (c.reconnect.factor < 1) fail('reconnect.factor must be at least 1');
  if (!(c.reconnect.jitter >= 0 && c.reconnect.jitter < 1)) fail('reconnect.jitter in [0, 1)');
  if (c.reconnect.maxDelayMs < c.reconnect.initialDelayMs) {
    fail('reconnect.maxDelayMs must be at least initialDelayMs');
  }
  return c;
}
