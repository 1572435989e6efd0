// Regressions for a node that stops and comes back with the same peer key: it must be found
// again on a new port, and gossip between it and its contacts must resume on its own.
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryPeerAddressBook, MemoryPeerIdentityStore } from '../../src-core/net/index.js';
import type { ParleyNode } from '../../src-core/net/index.js';
import { previousPort } from '../../src-core/net/listenPorts.js';
import { startProxy } from './halfOpen.js';
import { bytes, startNode, stopAll, stopNode, text, waitFor } from './helpers.js';

afterEach(stopAll);

const portOf = (node: ParleyNode): string => /\/tcp\/(\d+)/.exec(node.addresses()[0]!)![1]!;
const TOPIC = 'restart-topic';

interface Member {
  readonly identity: MemoryPeerIdentityStore;
  readonly book: MemoryPeerAddressBook;
  node: ParleyNode;
  readonly got: string[];
}

async function member(): Promise<Member> {
  const identity = new MemoryPeerIdentityStore();
  const book = new MemoryPeerAddressBook();
  const m: Member = {
    identity,
    book,
    node: await startNode({ identity, addressBook: book }),
    got: [],
  };
  join(m);
  return m;
}

function join(m: Member): void {
  m.node.gossip.subscribe(TOPIC, { onMessage: (msg) => m.got.push(text(msg.payload)) });
}

/**
 * Stops `m` and starts it again with the same key and address book. With `blockOldPort`, another
 * server holds the old port meanwhile, so the node must come back on a fresh one.
 */
async function restart(m: Member, options: { blockOldPort?: boolean } = {}): Promise<void> {
  const oldPort = portOf(m.node);
  await stopNode(m.node);
  let blocker: Server | undefined;
  if (options.blockOldPort === true) {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: Number(oldPort), exclusive: true }, resolve);
    });
    blocker = server;
  }
  try {
    m.node = await startNode({ identity: m.identity, addressBook: m.book });
  } finally {
    await new Promise((resolve) => blocker?.close(resolve) ?? resolve(undefined));
  }
  if (options.blockOldPort === true) expect(portOf(m.node)).not.toBe(oldPort);
  else expect(portOf(m.node)).toBe(oldPort);
  join(m);
}

async function befriend(a: Member, b: Member): Promise<void> {
  await a.node.addContact(b.node.peerId, b.node.addresses());
  await b.node.addContact(a.node.peerId, a.node.addresses());
  await waitFor(() => a.node.isConnected(b.node.peerId), 'contacts connected');
}

/**
 * Both see each other subscribed, and then messages flow both ways. A message published while a
 * stream is being replaced can be lost (gossipsub does not resend); so each side publishes again,
 * with a new payload, until one arrives: what is checked is that gossip works again, not that no
 * message is ever lost.
 */
async function gossipWorks(a: Member, b: Member, tag: string): Promise<void> {
  await waitFor(
    () =>
      a.node.gossip.subscribers(TOPIC).includes(b.node.peerId) &&
      b.node.gossip.subscribers(TOPIC).includes(a.node.peerId),
    `${tag}: each lists the other as subscriber`,
  );
  for (const [from, to, side] of [
    [a, b, 'a'],
    [b, a, 'b'],
  ] as const) {
    let n = 0;
    let last = 0;
    await waitFor(async () => {
      if (to.got.some((g) => g.startsWith(`${tag} ${side}`))) return true;
      if (Date.now() - last >= 1000) {
        last = Date.now();
        await from.node.gossip.publish(TOPIC, 1, bytes(`${tag} ${side} ${n++}`));
      }
      return false;
    }, `${tag}: a message from ${side} arrives`);
  }
}

describe('restart', () => {
  it('a contact restarted on a new port redials its contacts, which learn its new address', async () => {
    const a = await member();
    const b = await member();
    await befriend(a, b);
    await restart(b, { blockOldPort: true });
    await waitFor(() => a.node.isConnected(b.node.peerId), 'the restarted contact reconnected');
    const fresh = b.node.addresses()[0]!.replace(`/p2p/${b.node.peerId}`, '');
    await waitFor(
      async () => (await a.book.get(b.node.peerId))?.addrs[0] === fresh,
      'the new address first in the book',
    );
    // Reached by peer id alone after hanging up: the dialer must use the new address.
    await a.node.hangUp(b.node.peerId);
    await b.node.requests.handle('/parley/echo/1', (req) => ({ body: req.body }));
    const res = await a.node.requests.request(b.node.peerId, '/parley/echo/1', {
      body: bytes('x'),
    });
    expect(text(res.body)).toBe('x');
  });

  it('three contacts restarting one after another come back on their old ports and all reconnect', async () => {
    const ms = [await member(), await member(), await member()];
    await befriend(ms[0]!, ms[1]!);
    await befriend(ms[1]!, ms[2]!);
    await befriend(ms[0]!, ms[2]!);
    for (const m of ms) await restart(m);
    for (const [i, j] of [
      [0, 1],
      [1, 2],
      [0, 2],
    ] as const) {
      await waitFor(
        () => ms[i]!.node.isConnected(ms[j]!.node.peerId),
        `${i} and ${j} reconnected`,
        20_000,
      );
    }
  }, 30_000);

  it('gossip resumes after a contact restarts, in both directions, every time', async () => {
    const a = await member();
    const b = await member();
    await befriend(a, b);
    await gossipWorks(a, b, 'before');
    for (let round = 0; round < 6; round++) {
      await restart(round % 2 === 0 ? b : a);
      await gossipWorks(a, b, `round ${round}`);
    }
  }, 60_000);
});

describe('gossip after a reconnect', () => {
  it('resumes when the old connection is still open (half-open) as the peer comes back', async () => {
    const a = await member();
    const b = await member();
    const proxy = await startProxy(Number(portOf(b.node)));
    try {
      // A reaches B only through the proxy; B knows A directly.
      await a.node.dial(`${proxy.addr}/p2p/${b.node.peerId}`);
      await b.node.addContact(a.node.peerId, a.node.addresses());
      await gossipWorks(a, b, 'before');
      // The link dies silently: A still holds the old connection when B comes back.
      proxy.freeze();
      await restart(b);
      await waitFor(() => a.node.connections(b.node.peerId).length === 2, 'B redialled A');
      await gossipWorks(a, b, 'after');
    } finally {
      await stopAll();
      await proxy.close();
    }
  });
});

describe('gossip when one of two connections closes', () => {
  it('moves to the remaining connection when the one carrying gossip closes', async () => {
    const a = await member();
    const b = await member();
    const proxy = await startProxy(Number(portOf(b.node)));
    try {
      // Gossip streams open on the first connection (through the proxy); B then dials A
      // directly, as a reconnect racing the other side's redial does.
      await a.node.dial(`${proxy.addr}/p2p/${b.node.peerId}`);
      await gossipWorks(a, b, 'first');
      await b.node.dial(a.node.addresses()[0]!, { newConnection: true });
      await waitFor(() => a.node.connections(b.node.peerId).length === 2, 'two connections');
      // The first connection ends; the second stays, so no peer:disconnect follows.
      await proxy.close();
      await waitFor(() => a.node.connections(b.node.peerId).length === 1, 'one left');
      await gossipWorks(a, b, 'second');
    } finally {
      await stopAll();
      await proxy.close();
    }
  });
});

describe('gossip after simultaneous dials', () => {
  it('both dialling each other at once after a hang-up still leaves gossip working', async () => {
    const a = await member();
    const b = await member();
    await a.node.dial(b.node.addresses()[0]!);
    await gossipWorks(a, b, 'before');
    for (let round = 0; round < 10; round++) {
      await a.node.hangUp(b.node.peerId);
      await waitFor(() => !b.node.isConnected(a.node.peerId), 'hung up');
      await Promise.all([a.node.dial(b.node.addresses()[0]!), b.node.dial(a.node.addresses()[0]!)]);
      await gossipWorks(a, b, `simultaneous ${round}`);
    }
  }, 60_000);
});

describe('previousPort', () => {
  const prev = ['/ip4/192.168.1.5/tcp/4001', '/ip4/127.0.0.1/tcp/4002/ws', '/ip6/::1/tcp/4003'];
  it('matches a port-0 listen address to the last bound one of the same shape', () => {
    expect(previousPort('/ip4/0.0.0.0/tcp/0', prev)).toBe(4001);
    expect(previousPort('/ip4/0.0.0.0/tcp/0/ws', prev)).toBe(4002);
    expect(previousPort('/ip4/127.0.0.1/tcp/0/ws', prev)).toBe(4002);
    expect(previousPort('/ip6/::/tcp/0', prev)).toBe(4003);
  });
  it('leaves fixed ports, other hosts and non-TCP addresses alone', () => {
    expect(previousPort('/ip4/0.0.0.0/tcp/5000', prev)).toBeUndefined();
    expect(previousPort('/ip4/127.0.0.1/tcp/0', prev)).toBeUndefined();
    expect(previousPort('/p2p-circuit', prev)).toBeUndefined();
    expect(previousPort('/webrtc', prev)).toBeUndefined();
    expect(previousPort('/ip4/0.0.0.0/tcp/0', [])).toBeUndefined();
  });
});
