// The app's full stack (every transport and service of defaultNetConfig), kept on loopback with
// mDNS off, starts, connects over WebSockets and serves requests and gossip there.
import { afterEach, describe, expect, it } from 'vitest';
import { defaultNetConfig, protocolId } from '../../src-core/net/index.js';
import type { GossipMessage } from '../../src-core/net/index.js';
import { bytes, startNode, stopAll, text, waitFor } from './helpers.js';

afterEach(stopAll);

const fullStackOnLoopback = {
  listen: ['/ip4/127.0.0.1/tcp/0/ws', '/p2p-circuit', '/webrtc'],
  transports: defaultNetConfig().transports,
  relayServer: { enabled: true },
  webrtc: { iceServers: [], bindAddress: '127.0.0.1' },
};

describe('the full transport stack', () => {
  it('starts with every service and talks over WebSockets', async () => {
    const a = await startNode({ config: fullStackOnLoopback });
    const b = await startNode({ config: fullStackOnLoopback });
    const wsAddr = b.addresses().find((x) => x.includes('/ws/'));
    expect(wsAddr).toBeDefined();
    expect(b.addresses().some((x) => x.includes('/tcp/') && !x.includes('/ws'))).toBe(false);
    await a.dial(wsAddr!);
    expect(a.connections(b.peerId).map((c) => c.transport)).toContain('websockets');

    await b.requests.handle(protocolId('echo', 1), (req) => ({ body: req.body }));
    const res = await a.requests.request(b.peerId, protocolId('echo', 1), { body: bytes('ws') });
    expect(text(res.body)).toBe('ws');

    const got: GossipMessage[] = [];
    a.gossip.subscribe('/parley/test/ws', { onMessage: () => undefined });
    b.gossip.subscribe('/parley/test/ws', { onMessage: (m) => got.push(m) });
    await waitFor(() => a.gossip.meshPeers('/parley/test/ws').includes(b.peerId), 'a mesh');
    await a.gossip.publish('/parley/test/ws', 3, bytes('over ws'));
    await waitFor(() => got.length === 1, 'the message');
    expect(text(got[0]!.payload)).toBe('over ws');
  });
});
