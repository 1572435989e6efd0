// Keeping gossipsub's view of a peer tied to a live connection. Gossipsub sends our topic
// subscriptions once, when it opens its outbound stream to a peer, and it opens that stream only
// if it has none; it forgets a peer on `peer:disconnect` and whenever an inbound stream fails.
// Around a reconnect that goes wrong in three ways, each leaving two connected peers that never
// list each other as subscribers again (no new stream is ever opened):
//  - the old connection is still open (half-open after sleep or a network change, or not yet
//    noticed closed) when the peer comes back: the new connection gets no outbound stream, and
//    our subscriptions and messages keep going into the dead one;
//  - the old connection's disconnect is handled (asynchronously, by the registrar) after the new
//    connection was set up, and wipes the new state;
//  - the replaced inbound stream of the old connection ends with an error, and gossipsub drops
//    the peer although another connection is open.
// This watches identify results, closed connections and the heartbeat, and hands gossipsub the
// newest connection again (its own onPeerConnected: add the peer, open a stream, send the
// subscriptions) whenever its state for a connected peer is missing or on a dead connection.
import type { GossipSub } from '@libp2p/gossipsub';
import type { Connection, IdentifyResult, Libp2p, PeerId, Stream } from '@libp2p/interface';
import { NetError } from './errors.js';

interface OutboundEntry {
  readonly rawStream: Stream;
  close(): Promise<void>;
}

/** The gossipsub internals used here; checked at start so an upgrade that drops them fails. */
interface GossipSubPeers {
  readonly protocols: readonly string[];
  readonly peers: Map<string, PeerId>;
  readonly streamsOutbound: Map<string, OutboundEntry>;
  onPeerConnected(peerId: PeerId, connection: Connection): void;
  createOutboundStream(peerId: PeerId, connection: Connection): Promise<void>;
  isStarted(): boolean;
}

function peersOf(pubsub: GossipSub): GossipSubPeers {
  const x = pubsub as unknown as Partial<GossipSubPeers>;
  if (
    !Array.isArray(x.protocols) ||
    !(x.peers instanceof Map) ||
    !(x.streamsOutbound instanceof Map) ||
    typeof x.onPeerConnected !== 'function' ||
    typeof x.createOutboundStream !== 'function' ||
    typeof x.isStarted !== 'function'
  ) {
    throw new NetError('invalid_config', 'this gossipsub version lacks the peer/stream tables');
  }
  return x as GossipSubPeers;
}

const usable = (c: Connection): boolean => c.status === 'open' && c.limits === undefined;

/** Whether `stream` runs on `conn` (by identity, or by id if a middleware wrapped it). */
const carries = (conn: Connection, stream: Stream): boolean =>
  conn.streams.some(
    (s) =>
      s === stream ||
      (s.id === stream.id && s.direction === stream.direction && s.protocol === stream.protocol),
  );

export class GossipLinks {
  readonly #libp2p: Libp2p;
  readonly #pubsub: GossipSub;
  readonly #gs: GossipSubPeers;
  /** Per gossip-speaking peer, the connection most recently identified: where streams belong. */
  readonly #preferred = new Map<string, Connection>();
  /** Peers whose outbound stream is being moved to another connection. */
  readonly #moving = new Set<string>();

  constructor(libp2p: Libp2p, pubsub: GossipSub) {
    this.#libp2p = libp2p;
    this.#pubsub = pubsub;
    this.#gs = peersOf(pubsub);
  }

  readonly #onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    const { peerId, protocols, connection } = evt.detail;
    if (!usable(connection) || !protocols.some((p) => this.#gs.protocols.includes(p))) return;
    this.#preferred.set(peerId.toString(), connection);
    this.#repair(peerId);
  };

  readonly #onClose = (evt: CustomEvent<Connection>): void => this.#repair(evt.detail.remotePeer);

  readonly #onDisconnect = (evt: CustomEvent<PeerId>): void => {
    this.#preferred.delete(evt.detail.toString());
  };

  readonly #onHeartbeat = (): void => {
    for (const conn of this.#preferred.values()) this.#repair(conn.remotePeer);
  };

  start(): void {
    this.#libp2p.addEventListener('peer:identify', this.#onIdentify);
    this.#libp2p.addEventListener('connection:close', this.#onClose);
    this.#libp2p.addEventListener('peer:disconnect', this.#onDisconnect);
    this.#pubsub.addEventListener('gossipsub:heartbeat', this.#onHeartbeat);
  }

  stop(): void {
    this.#libp2p.removeEventListener('peer:identify', this.#onIdentify);
    this.#libp2p.removeEventListener('connection:close', this.#onClose);
    this.#libp2p.removeEventListener('peer:disconnect', this.#onDisconnect);
    this.#pubsub.removeEventListener('gossipsub:heartbeat', this.#onHeartbeat);
    this.#preferred.clear();
  }

  /** The connection gossip should use with `peerId`, if it speaks gossip and is connected. */
  #target(peerId: PeerId): Connection | undefined {
    const id = peerId.toString();
    const preferred = this.#preferred.get(id);
    if (preferred === undefined) return undefined;
    if (usable(preferred)) return preferred;
    // The preferred one closed: fall back to the newest other open connection, if any.
    const newest = this.#libp2p
      .getConnections(peerId)
      .filter(usable)
      .sort((x, y) => y.timeline.open - x.timeline.open)[0];
    if (newest === undefined) this.#preferred.delete(id);
    else this.#preferred.set(id, newest);
    return newest;
  }

  #repair(peerId: PeerId): void {
    if (!this.#gs.isStarted()) return;
    const target = this.#target(peerId);
    if (target === undefined) return;
    const id = peerId.toString();
    const out = this.#gs.streamsOutbound.get(id);
    if (this.#gs.peers.has(id) && out !== undefined && carries(target, out.rawStream)) {
      return;
    }
    // Adds the peer back if gossipsub dropped it, and opens a stream if there is none.
    if (!this.#gs.peers.has(id)) this.#gs.onPeerConnected(peerId, target);
    if (out !== undefined && !carries(target, out.rawStream)) this.#moveStream(peerId, target, out);
    else if (out === undefined) this.#gs.onPeerConnected(peerId, target);
  }

  /**
   * Opens gossipsub's outbound stream to `peerId` on `target` and retires `old` once the new one
   * is in place, so messages published meanwhile still go out (on the old one). gossipsub opens a
   * stream only when it has none: the entry is removed for the synchronous check at the start of
   * createOutboundStream and put back before the stream negotiation yields.
   */
  #moveStream(peerId: PeerId, target: Connection, old: OutboundEntry): void {
    const id = peerId.toString();
    if (this.#moving.has(id)) return;
    this.#moving.add(id);
    this.#gs.streamsOutbound.delete(id);
    const opened = this.#gs.createOutboundStream(peerId, target);
    if (!this.#gs.streamsOutbound.has(id)) this.#gs.streamsOutbound.set(id, old);
    void opened
      .catch(() => undefined)
      .finally(() => {
        this.#moving.delete(id);
        if (this.#gs.streamsOutbound.get(id) !== old) void old.close().catch(() => undefined);
      });
  }
}
