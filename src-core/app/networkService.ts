/**
 * `network.*`: the node's status, connected peers (named when they proved to be a contact's
 * device), and LAN discovery. The LAN setting is stored; the LAN directory announcements follow
 * it at once, mDNS (a libp2p service fixed when the node is built) from the next unlock.
 */
import type { NetworkStatus, Peer, SyncProgress } from './api.js';
import type { AppContext, Session, SessionParticipant } from './appContext.js';
import { mapped } from './errorMapping.js';
import type { NetworkService } from './services.js';

export class NetworkServiceImpl implements NetworkService, SessionParticipant {
  #off: (() => void) | undefined;
  /** The sync of groups in progress; the groups side sets it (none until then). */
  syncProgress: () => SyncProgress[] = () => [];

  constructor(private readonly ctx: AppContext) {
    ctx.join(this);
  }

  async open(s: Session): Promise<void> {
    this.#off = s.node.events.on('peers:count', () => {
      this.ctx.events.emit('network.status', { status: this.#status(s) });
    });
  }

  async close(): Promise<void> {
    this.#off?.();
    this.#off = undefined;
  }

  #status(s: Session): NetworkStatus {
    const listenAddrs = s.node.addresses();
    return {
      online: s.node.started && listenAddrs.length > 0,
      peerId: s.node.peerId,
      listenAddrs,
      connectedPeers: s.node.connectedPeers().length,
      lanDiscovery: s.settings.lanDiscovery,
      relayed: listenAddrs.some((a) => a.includes('/p2p-circuit')),
      sync: this.syncProgress(),
    };
  }

  status(): Promise<NetworkStatus> {
    return mapped('network.status', async () => this.#status(this.ctx.session()));
  }

  peers(): Promise<Peer[]> {
    return mapped('network.peers', async () => {
      const s = this.ctx.session();
      return s.node.connections().map((c) => {
        const userId = s.contacts.contactOfPeer(c.peerId) ?? null;
        return {
          peerId: c.peerId,
          userId,
          displayName: userId === null ? null : (s.trust.contact(userId)?.displayName ?? null),
          addr: c.remoteAddr,
          transport: c.transport === 'relayed' ? 'relay' : c.transport,
          direction: c.direction,
        };
      });
    });
  }

  setLanDiscovery(p: { enabled: boolean }): Promise<NetworkStatus> {
    return mapped('network.setLanDiscovery', async () => {
      const s = this.ctx.session();
      if (s.settings.lanDiscovery !== p.enabled) {
        s.settings.lanDiscovery = p.enabled;
        try {
          await s.store.write((tx) => s.putSettings(tx));
        } catch (err) {
          s.settings.lanDiscovery = !p.enabled;
          throw err;
        }
        if (p.enabled) s.identityGossip.startLan();
        else s.identityGossip.stopLan();
      }
      const status = this.#status(s);
      this.ctx.events.emit('network.status', { status });
      return status;
    });
  }
}
