import { afterEach, describe, expect, it } from 'vitest';
import type { GossipMessage, ParleyNode } from '../../src-core/net/index.js';
import {
  MemoryPeerIdentityStore,
  NetError,
  createParleyNode,
  loopbackNetConfig,
} from '../../src-core/net/index.js';
import { bytes, connectMesh, startNodes, stopAll, text, waitFor } from './helpers.js';

afterEach(stopAll);

/** Every node subscribes; resolves once each node's mesh for the topic is formed. */
async function joinAll(nodes: ParleyNode[], topic: string): Promise<Map<string, GossipMessage[]>> {
  const inbox = new Map<string, GossipMessage[]>();
  for (const node of nodes) {
    const got: GossipMessage[] = [];
    inbox.set(node.peerId, got);
    node.gossip.subscribe(topic, { onMessage: (m) => got.push(m) });
  }
  await waitFor(
    () =>
      nodes.every((n) => {
        const connected = n.connectedPeers().length;
        return (
          n.gossip.subscribers(topic).length === connected &&
          n.gossip.meshPeers(topic).length >= Math.min(connected, n.config.gossip.Dlo)
        );
      }),
    'every node to see its neighbours subscribed and a mesh formed',
  );
  return inbox;
}

async function everyoneGetsEverything(n: number): Promise<void> {
  const nodes = await startNodes(n);
  await connectMesh(nodes);
  const topic = `/parley/test/${n}`;
  const inbox = await joinAll(nodes, topic);
  // Each node publishes one message; each of the other n-1 must receive all of them once.
  const sent = new Map<string, string>();
  for (const [i, node] of nodes.entries()) {
    const body = `message ${i} from ${node.peerId}`;
    const { id } = await node.gossip.publish(topic, 7, bytes(body));
    sent.set(id, body);
  }
  await waitFor(
    () => [...inbox.values()].every((got) => got.length >= n - 1),
    `all ${n * (n - 1)} deliveries`,
  );
  await new Promise((r) => setTimeout(r, 200)); // duplicates, if any, would arrive by now
  for (const [i, node] of nodes.entries()) {
    const got = inbox.get(node.peerId)!;
    expect(got).toHaveLength(n - 1);
    const ids = new Set(got.map((m) => m.id));
    expect(ids.size).toBe(n - 1);
    for (const m of got) {
      expect(m.kind).toBe(7);
      expect(m.topic).toBe(topic);
      expect(sent.get(m.id)).toBe(text(m.payload));
      expect(text(m.payload)).not.toContain(`message ${i} `);
    }
  }
}

describe('gossip on 127.0.0.1', () => {
  it('2 nodes: every subscriber receives every message', () => everyoneGetsEverything(2));
  it('5 nodes: every subscriber receives every message', () => everyoneGetsEverything(5));
  it('20 nodes: every subscriber receives every message', () => everyoneGetsEverything(20), 90_000);

  it('publishing with nobody subscribed is not an error, and reports 0 recipients', async () => {
    const [a] = await startNodes(1);
    const res = await a!.gossip.publish('/parley/test/alone', 1, bytes('hello'));
    expect(res.recipients).toBe(0);
    await expect(a!.gossip.publish('/parley/test/alone', 1, bytes('hello'))).rejects.toMatchObject({
      code: 'duplicate_message',
    });
  });

  it('a node not started refuses to join topics, and starts only once', async () => {
    const node = await createParleyNode({
      identity: new MemoryPeerIdentityStore(),
      config: loopbackNetConfig(),
    });
    try {
      expect(() =>
        node.gossip.subscribe('/parley/test/early', { onMessage: () => undefined }),
      ).toThrow(expect.objectContaining({ code: 'not_started' }));
      await expect(node.dial('/ip4/127.0.0.1/tcp/1')).rejects.toMatchObject({
        code: 'not_started',
      });
      await node.start();
      node.gossip.subscribe('/parley/test/early', { onMessage: () => undefined });
      expect(node.gossip.topics()).toEqual(['/parley/test/early']);
      await expect(node.start()).rejects.toMatchObject({ code: 'already_started' });
    } finally {
      await node.stop();
    }
    await expect(node.start()).rejects.toMatchObject({ code: 'already_started' });
  });

  it('rejects oversized or empty payloads and bad kinds before publishing', async () => {
    const [a] = await startNodes(1, { gossip: { maxMessageBytes: 1024 } });
    const topic = '/parley/test/limits';
    await expect(a!.gossip.publish(topic, 1, new Uint8Array(1025))).rejects.toMatchObject({
      code: 'message_too_large',
    });
    await expect(a!.gossip.publish(topic, 1, new Uint8Array(0))).rejects.toBeInstanceOf(NetError);
    await expect(a!.gossip.publish(topic, 0, bytes('x'))).rejects.toMatchObject({
      code: 'invalid_argument',
    });
    await expect(a!.gossip.publish('', 1, bytes('x'))).rejects.toMatchObject({
      code: 'invalid_argument',
    });
  });
});
