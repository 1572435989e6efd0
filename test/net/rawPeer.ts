// A bare libp2p node for tests that need a peer breaking the rules: writing garbage on a stream,
// hanging, or publishing raw gossipsub data that bypasses our envelope. It speaks the same
// transports, encryption and muxer as a Parley node, so the misbehaviour arrives for real.
import { gossipsub } from '@libp2p/gossipsub';
import type { GossipSub } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import type { Libp2p } from '@libp2p/interface';
import { noise } from '@libp2p/noise';
import { tcp } from '@libp2p/tcp';
import { yamux } from '@libp2p/yamux';
import { createLibp2p } from 'libp2p';
import { gossipsubOptions } from '../../src-core/net/gossip.js';
import { loopbackNetConfig } from '../../src-core/net/index.js';

export type RawPeer = Libp2p<{ pubsub: GossipSub; identify: unknown }>;

const raws = new Set<RawPeer>();

export async function startRawPeer(): Promise<RawPeer> {
  const cfg = loopbackNetConfig();
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { allow: [...cfg.connections.allow] },
    connectionMonitor: { abortConnectionOnPingFailure: false },
    services: {
      identify: identify(),
      // Same message ids and signature policy as Parley, so our nodes accept its RPCs as gossip.
      pubsub: gossipsub({ ...gossipsubOptions(cfg.gossip), scoreParams: {}, scoreThresholds: {} }),
    },
  });
  raws.add(node);
  return node;
}

export async function stopRawPeers(): Promise<void> {
  const all = [...raws];
  raws.clear();
  await Promise.all(all.map((n) => n.stop()));
}
