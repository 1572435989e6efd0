// Gossip fan-out on loopback, all nodes in this process (2 cores): publish-to-delivery latency
// across 5 and 20 nodes (a ring with chords, each node linked to about 6 others), and messages
// per second of 1 KiB from one publisher until every subscriber has them all.
import { performance } from 'node:perf_hooks';
import {
  MemoryPeerIdentityStore,
  createParleyNode,
  loopbackNetConfig,
} from '../../src-core/net/index.js';
import type { ParleyNode } from '../../src-core/net/index.js';
import { formatUs, printTable } from '../harness.js';

const TOPIC = '/parley/bench/fanout';
const MSG_BYTES = 1024;

async function waitFor(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Net {
  nodes: ParleyNode[];
  /** Per node: called with the payload of each message it receives. */
  onReceive: ((payload: Uint8Array) => void)[];
}

async function buildNet(n: number): Promise<Net> {
  const nodes = await Promise.all(
    Array.from({ length: n }, async () => {
      const node = await createParleyNode({
        identity: new MemoryPeerIdentityStore(),
        config: loopbackNetConfig(),
      });
      await node.start();
      return node;
    }),
  );
  const links = new Set<string>();
  for (let i = 0; i < n; i++) {
    for (const step of [1, 2, 5]) {
      const j = (i + step) % n;
      if (j !== i) links.add(i < j ? `${i}-${j}` : `${j}-${i}`);
    }
  }
  await Promise.all(
    [...links].map((l) => {
      const [i, j] = l.split('-').map(Number) as [number, number];
      return nodes[i]!.dial(nodes[j]!.addresses()[0]!);
    }),
  );
  const net: Net = { nodes, onReceive: nodes.map(() => () => undefined) };
  nodes.forEach((node, i) =>
    node.gossip.subscribe(TOPIC, { onMessage: (m) => net.onReceive[i]!(m.payload) }),
  );
  await waitFor(
    () =>
      nodes.every(
        (node) =>
          node.gossip.subscribers(TOPIC).length === node.connectedPeers().length &&
          node.gossip.meshPeers(TOPIC).length >= Math.min(node.connectedPeers().length, 4),
      ),
    'the mesh to form',
  );
  return net;
}

function payload(seq: number): Uint8Array {
  const p = new Uint8Array(MSG_BYTES);
  new DataView(p.buffer).setUint32(0, seq);
  p[4] = 1; // never all-zero: ids are content-derived
  return p;
}

function seqOf(p: Uint8Array): number {
  return new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(0);
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** One message at a time from rotating publishers; each waits for all deliveries. */
async function latency(net: Net, messages: number, base: number): Promise<number[]> {
  const n = net.nodes.length;
  const sentAt = new Map<number, number>();
  const got = new Map<number, number>();
  const samples: number[] = [];
  net.onReceive = net.nodes.map(() => (p: Uint8Array) => {
    const seq = seqOf(p);
    samples.push((performance.now() - sentAt.get(seq)!) * 1000);
    got.set(seq, (got.get(seq) ?? 0) + 1);
  });
  for (let seq = base; seq < base + messages; seq++) {
    sentAt.set(seq, performance.now());
    await net.nodes[seq % n]!.gossip.publish(TOPIC, 1, payload(seq));
    await waitFor(() => got.get(seq) === n - 1, `message ${seq} to reach all`);
  }
  return samples.sort((a, b) => a - b);
}

/** One publisher, as fast as publish() returns; time until every subscriber has every message. */
async function throughput(net: Net, messages: number, base: number): Promise<number> {
  const counts = net.nodes.map(() => 0);
  net.onReceive = net.nodes.map((_, i) => () => {
    counts[i]!++;
  });
  const t0 = performance.now();
  for (let k = 0; k < messages; k++)
    await net.nodes[0]!.gossip.publish(TOPIC, 1, payload(base + k));
  await waitFor(
    () => counts.every((c, i) => i === 0 || c === messages),
    'all messages everywhere',
    120_000,
  );
  const seconds = (performance.now() - t0) / 1000;
  if (counts.slice(1).some((c) => c !== messages)) throw new Error('bench: lost messages');
  return messages / seconds;
}

export default async function (): Promise<void> {
  const latencyRows: string[][] = [['nodes', 'deliveries', 'median', 'p99', 'max']];
  const rateRows: string[][] = [['nodes', 'messages', '1 KiB msg/s to all subscribers']];
  for (const n of [2, 5, 20]) {
    const net = await buildNet(n);
    try {
      await latency(net, 20, 0); // warm-up
      const s = await latency(net, n === 20 ? 200 : 400, 100);
      latencyRows.push([
        String(n),
        String(s.length),
        formatUs(percentile(s, 0.5)),
        formatUs(percentile(s, 0.99)),
        formatUs(s[s.length - 1]!),
      ]);
      await throughput(net, 200, 1_000_000); // warm-up
      const count = 2000;
      const rate = await throughput(net, count, 2_000_000);
      rateRows.push([String(n), String(count), rate.toFixed(0)]);
    } finally {
      await Promise.all(net.nodes.map((node) => node.stop()));
    }
  }
  console.log('Publish-to-delivery latency, 1 KiB, one message in flight:\n');
  printTable(latencyRows);
  console.log('\nThroughput from one publisher:\n');
  printTable(rateRows);
}
