// Shared by the net tests: nodes on 127.0.0.1 with port 0, in-memory identities, a topology that
// is not a star, and bounded waits. Every node made here is stopped by stopAll().
import {
  MemoryPeerAddressBook,
  MemoryPeerIdentityStore,
  createParleyNode,
  loopbackNetConfig,
} from '../../src-core/net/index.js';
import type {
  NetConfigOverrides,
  ParleyNode,
  PeerAddressBook,
  PeerIdentityStore,
} from '../../src-core/net/index.js';

const live = new Set<ParleyNode>();

export async function startNode(
  options: {
    config?: NetConfigOverrides;
    identity?: PeerIdentityStore;
    addressBook?: PeerAddressBook;
  } = {},
): Promise<ParleyNode> {
  const node = await createParleyNode({
    identity: options.identity ?? new MemoryPeerIdentityStore(),
    addressBook: options.addressBook ?? new MemoryPeerAddressBook(),
    config: loopbackNetConfig(options.config),
  });
  live.add(node);
  await node.start();
  return node;
}

export async function startNodes(n: number, config?: NetConfigOverrides): Promise<ParleyNode[]> {
  return Promise.all(Array.from({ length: n }, () => startNode({ config })));
}

export async function stopAll(): Promise<void> {
  const nodes = [...live];
  live.clear();
  await Promise.all(nodes.map((n) => n.stop()));
}

export async function stopNode(node: ParleyNode): Promise<void> {
  live.delete(node);
  await node.stop();
}

/** Polls `cond` every 20 ms; fails with `what` after `timeoutMs`. */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Links node i to i+1, i+2 and i+5 (mod n): a ring with chords, degree about 6, diameter small.
 * Not a star: with one hub, gossipsub trims the hub's mesh and leaves get gossip only.
 */
export async function connectMesh(nodes: ParleyNode[]): Promise<void> {
  const n = nodes.length;
  const pairs = new Set<string>();
  for (let i = 0; i < n; i++) {
    for (const step of [1, 2, 5]) {
      const j = (i + step) % n;
      if (j === i) continue;
      const key = i < j ? `${i}-${j}` : `${j}-${i}`;
      pairs.add(key);
    }
  }
  await Promise.all(
    [...pairs].map(async (key) => {
      const [i, j] = key.split('-').map(Number) as [number, number];
      await nodes[i]!.dial(nodes[j]!.addresses()[0]!);
    }),
  );
}

export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function text(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}
