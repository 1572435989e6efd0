import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Libp2pPorts } from '../../src-core/delivery/libp2pPorts.js';
import {
  CiphertextLog,
  EntryKind,
  MemoryLogStore,
  hexOf,
  messageIdOf,
} from '../../src-core/delivery/ciphertextLog.js';
import {
  SyncClient,
  SyncServer,
  decodeSyncRequest,
  decodeSyncResponse,
  encodeSyncResponse,
} from '../../src-core/delivery/syncProtocol.js';
import type { SyncResponse } from '../../src-core/delivery/syncProtocol.js';
import { MemoryRequestNet, applyTo, buildHistory } from './storeForwardFixture.js';
import type { History } from './storeForwardFixture.js';
import { startNodes, stopAll } from '../net/helpers.js';

async function serverLog(h: History, entries = h.entries): Promise<CiphertextLog> {
  const log = await CiphertextLog.open(new MemoryLogStore());
  await log.appendBatch(h.groupId, entries);
  return log;
}

function serve(net: MemoryRequestNet, peer: string, log: CiphertextLog, members?: Set<string>) {
  return new SyncServer({
    log,
    requests: net.port(peer),
    authorize: (from) => members === undefined || members.has(from),
  });
}

type Page = Extract<SyncResponse, { type: 2 }>;

/** A peer that answers each fetch with what `honest` would, passed through `tamper`. */
function hostile(
  net: MemoryRequestNet,
  peer: string,
  honest: CiphertextLog,
  tamper: (p: Page) => Uint8Array,
) {
  const inner = new MemoryRequestNet();
  serve(inner, 'inner', honest);
  const ask = inner.port('asker');
  net.port(peer).handle('sync', async (body) => {
    const res = decodeSyncResponse(await ask.request('inner', 'sync', body));
    return res.type === 2 ? tamper(res) : encodeSyncResponse(res);
  });
}

describe('sync protocol', () => {
  // One history of 10,000 messages for both transports (making it is most of the cost).
  let big: History;
  beforeAll(() => {
    big = buildHistory(10, 1000);
  });
  afterAll(stopAll);

  it('an offline member catches up 10,000 real MLS messages over in-memory ports, decrypting all', async () => {
    const h = big;
    const net = new MemoryRequestNet();
    serve(net, 'alice', await serverLog(h));
    const bobLog = await CiphertextLog.open(new MemoryLogStore());
    const client = new SyncClient({ log: bobLog, requests: net.port('bob') });
    const read: string[] = [];
    const result = await client.catchUp(h.groupId, h.startEpoch, ['alice'], {
      deliver: applyTo(h.bob, read),
    });
    expect(result.complete).toBe(true);
    expect(result.added).toBe(10_010);
    expect(read).toEqual(h.texts);
    expect(h.bob.epoch).toBe(h.alice.epoch);
    expect(hexOf(h.bob.epochAuthenticator())).toBe(hexOf(h.alice.epochAuthenticator()));
    expect(result.peers[0]!.pages).toBeGreaterThan(5); // paged, not one answer
    // A second run finds nothing new.
    const again = await client.catchUp(h.groupId, h.startEpoch, ['alice']);
    expect(again).toMatchObject({ added: 0, duplicates: 10_010, complete: true });
  }, 60_000);

  it('the same 10,000 messages over libp2p (3 nodes on 127.0.0.1), past a peer that refuses', async () => {
    const h = big;
    const nodes = await startNodes(3);
    const [a, b, c] = nodes.map((n) => new Libp2pPorts(n)) as [
      Libp2pPorts,
      Libp2pPorts,
      Libp2pPorts,
    ];
    try {
      // c was offline; it comes online and dials the members it knows.
      await nodes[2]!.dial(nodes[0]!.addresses()[0]!);
      await nodes[2]!.dial(nodes[1]!.addresses()[0]!);
      const aliceLog = await serverLog(h);
      new SyncServer({ log: aliceLog, requests: a.requests, authorize: (from) => from === c.self });
      new SyncServer({ log: aliceLog, requests: b.requests, authorize: () => false });
      await Promise.all([a.ready(), b.ready()]);
      const log = await CiphertextLog.open(new MemoryLogStore());
      const client = new SyncClient({ log, requests: c.requests });
      const [head] = await client.heads(a.self, [h.groupId]);
      expect(head!.highestEpoch).toBe(h.alice.epoch);
      const seen: string[] = [];
      const result = await client.catchUp(h.groupId, h.startEpoch, [b.self, a.self], {
        targetEpoch: head!.highestEpoch,
        deliver: (items) => {
          for (const i of items) seen.push(hexOf(i.messageId));
        },
      });
      expect(result.peers[0]).toMatchObject({ peer: b.self, error: 'peer_refused' });
      expect(result.complete).toBe(true);
      // Every message, once, in alice's order (decryption is the in-memory test's part).
      expect(seen).toEqual(h.entries.map((e) => hexOf(messageIdOf(e.message))));
    } finally {
      await Promise.all([a, b, c].map((p) => p.close()));
    }
  }, 60_000);

  it('heads tell a member it is behind; only groups the peer lets us read are answered', async () => {
    const h = buildHistory(3, 2);
    const net = new MemoryRequestNet();
    const told: [string, bigint][] = [];
    new SyncServer({
      log: await serverLog(h),
      requests: net.port('alice'),
      authorize: (from) => from === 'bob',
      onPeerHeads: (peer, heads) =>
        told.push(...heads.map((x) => [peer, x.highestEpoch] as [string, bigint])),
    });
    const bobLog = await serverLog(h, h.entries.slice(0, 4));
    const client = new SyncClient({ log: bobLog, requests: net.port('bob') });
    const [theirs] = await client.heads('alice', [h.groupId, new Uint8Array([7])]);
    const ours = bobLog.head(h.groupId)!;
    expect(theirs!.orderedEpoch! > ours.orderedEpoch!).toBe(true);
    expect(theirs!.highestEpoch).toBe(h.alice.epoch);
    // alice learnt bob's head too (bob is at the epoch his log reaches).
    expect(told).toEqual([['bob', ours.highestEpoch]]);
    const carol = new SyncClient({ log: bobLog, requests: net.port('carol') });
    expect(await carol.heads('alice', [h.groupId])).toEqual([]);
    expect(told).toHaveLength(1); // carol may not read the group: her heads are not passed on
    const refused = await carol.catchUp(h.groupId, h.startEpoch, ['alice']);
    expect(refused.peers[0]!.error).toBe('peer_refused');
    expect(refused.complete).toBe(false);
  });

  it('drops what it already has and fills gaps from the next peer', async () => {
    const h = buildHistory(6, 20);
    const net = new MemoryRequestNet();
    // alice lost epochs after the third commit; dave kept everything; bob has a few.
    const cut = h.entries.findIndex((e, i) => e.kind === EntryKind.commit && i > 60);
    serve(net, 'alice', await serverLog(h, h.entries.slice(0, cut)));
    serve(net, 'dave', await serverLog(h));
    const bobLog = await serverLog(h, h.entries.slice(5, 15));
    const client = new SyncClient({ log: bobLog, requests: net.port('bob') });
    const read: string[] = [];
    const seen = new Set<string>();
    // Heads from dave say how far the group went; alice alone would look complete.
    const [daveHead] = await client.heads('dave', [h.groupId]);
    const result = await client.catchUp(h.groupId, h.startEpoch, ['offline', 'alice', 'dave'], {
      targetEpoch: daveHead!.highestEpoch,
      deliver: (items) => {
        for (const i of items) {
          expect(seen.has(hexOf(i.messageId))).toBe(false);
          seen.add(hexOf(i.messageId));
        }
      },
    });
    expect(result.peers.map((p) => p.peer)).toEqual(['offline', 'alice', 'dave']);
    expect(result.peers[0]!.error).toBe('peer_unreachable');
    expect(result.complete).toBe(true);
    expect(bobLog.size(h.groupId)).toBe(h.entries.length);
    expect(result.duplicates).toBeGreaterThanOrEqual(10);
    expect(seen.size).toBe(h.entries.length - 10);
    // The log now serves a member that joined at the start, in order, and it decrypts.
    const bob2 = new SyncClient({
      log: await CiphertextLog.open(new MemoryLogStore()),
      requests: net.port('erin'),
    });
    serve(net, 'bob', bobLog);
    await bob2.catchUp(h.groupId, h.startEpoch, ['bob'], { deliver: applyTo(h.bob, read) });
    // bob's arrival order is not alice's sending order: the same messages, all decrypted.
    expect([...read].sort()).toEqual([...h.texts].sort());
    expect(h.bob.epoch).toBe(h.alice.epoch);
  });

  const tampers: [string, string, (p: Page, h: History) => Uint8Array][] = [
    ['garbage', 'sync_malformed', () => new Uint8Array([1, 2, 0xff, 0xff, 0xff])],
    [
      'a newer version',
      'sync_unsupported_version',
      (p) => {
        const b = encodeSyncResponse(p);
        b[0] = 2;
        return b;
      },
    ],
    [
      'another group',
      'sync_wrong_group',
      (p) => encodeSyncResponse({ ...p, groupId: new Uint8Array([5]) }),
    ],
    [
      'a page over the size asked',
      'sync_page_too_large',
      (p) => encodeSyncResponse({ ...p, items: Array.from({ length: 40 }, () => p.items).flat() }),
    ],
    [
      'a message id that is not the hash',
      'sync_bad_message_id',
      (p) =>
        encodeSyncResponse({
          ...p,
          items: p.items.map((i, k) => (k === 3 ? { ...i, messageId: new Uint8Array(32) } : i)),
        }),
    ],
    [
      'an item whose header says another epoch',
      'sync_bad_message',
      (p) =>
        encodeSyncResponse({
          ...p,
          items: p.items.map((i, k) => (k === 2 ? { ...i, epoch: i.epoch + 1n } : i)),
        }),
    ],
    [
      'a commit posing as application data',
      'sync_bad_message',
      (p) =>
        encodeSyncResponse({
          ...p,
          items: p.items.map((i) =>
            i.kind === EntryKind.commit
              ? { ...i, kind: EntryKind.application, orderingRecord: undefined }
              : i,
          ),
        }),
    ],
    [
      'items out of epoch order',
      'sync_out_of_order',
      (p) => encodeSyncResponse({ ...p, items: [...p.items].reverse() }),
    ],
    [
      'a cursor that does not advance',
      'sync_malformed',
      (p) =>
        encodeSyncResponse({ ...p, items: [], next: { epoch: 0n, fromSeq: 0, commitDone: false } }),
    ],
    [
      'the same cursor again',
      'sync_malformed',
      (p) =>
        encodeSyncResponse({
          ...p,
          next: { epoch: p.items[0]!.epoch, fromSeq: 0, commitDone: false },
        }),
    ],
    [
      'bytes of another group',
      'sync_wrong_group',
      (p, h) => {
        const other = buildHistory(1, 3);
        const e = other.entries[0]!;
        const forged = { ...e, epoch: p.items[0]!.epoch, messageId: messageIdOf(e.message) };
        return encodeSyncResponse({ ...p, groupId: h.groupId, items: [forged] });
      },
    ],
  ];

  it.each(tampers)(
    'a hostile peer sending %s gets %s, changes nothing, and the next peer is asked',
    async (_what, code, tamper) => {
      const h = buildHistory(3, 10);
      const net = new MemoryRequestNet();
      const honest = await serverLog(h);
      hostile(net, 'mallory', honest, (p) => tamper(p, h));
      serve(net, 'alice', honest);
      const bobLog = await CiphertextLog.open(new MemoryLogStore());
      const client = new SyncClient({
        log: bobLog,
        requests: net.port('bob'),
        pageBytes: 64 * 1024,
      });
      let delivered = 0;
      const first = await client.catchUp(h.groupId, h.startEpoch, ['mallory'], {
        deliver: (items) => {
          delivered += items.length;
        },
      });
      expect(first.peers[0]!.error).toBe(code);
      expect(first.complete).toBe(false);
      expect(delivered).toBe(0);
      expect(bobLog.size(h.groupId)).toBe(0);
      const read: string[] = [];
      const second = await client.catchUp(h.groupId, h.startEpoch, ['mallory', 'alice'], {
        deliver: applyTo(h.bob, read),
      });
      expect(second.complete).toBe(true);
      expect(read).toEqual(h.texts);
    },
  );

  it('a commit that differs from our ordered one for its epoch comes back as a conflict', async () => {
    const h = buildHistory(2, 3);
    const net = new MemoryRequestNet();
    serve(net, 'alice', await serverLog(h));
    // bob committed in the same epoch on his side of a partition, with his own record.
    const own = h.bob.update();
    const log = await CiphertextLog.open(new MemoryLogStore());
    await log.append(h.groupId, {
      kind: EntryKind.commit,
      epoch: h.bob.epoch,
      message: own.commit,
      orderingRecord: new Uint8Array([1]),
    });
    const delivered: string[] = [];
    const result = await new SyncClient({ log, requests: net.port('bob') }).catchUp(
      h.groupId,
      h.startEpoch,
      ['alice'],
      {
        deliver: (items) => {
          delivered.push(...items.map((i) => hexOf(i.messageId)));
        },
      },
    );
    const alicesCommit = h.entries.find((e) => e.kind === EntryKind.commit)!;
    expect(result.conflicts.map((c) => hexOf(c.message))).toEqual([hexOf(alicesCommit.message)]);
    expect(delivered).not.toContain(hexOf(messageIdOf(alicesCommit.message)));
    expect(hexOf(log.commitOf(h.groupId, h.startEpoch)!.message)).toBe(hexOf(own.commit));
    expect(delivered).toHaveLength(h.entries.length - 1);
  });

  it("the session's own failure ends the catch-up with its error, not the peer's", async () => {
    const h = buildHistory(2, 5);
    const net = new MemoryRequestNet();
    serve(net, 'alice', await serverLog(h));
    serve(net, 'dave', await serverLog(h));
    const log = await CiphertextLog.open(new MemoryLogStore());
    const client = new SyncClient({ log, requests: net.port('bob'), pageBytes: 2048 });
    const boom = new Error('the session broke');
    await expect(
      client.catchUp(h.groupId, h.startEpoch, ['alice', 'dave'], {
        deliver: () => {
          throw boom;
        },
      }),
    ).rejects.toBe(boom);
    // What was kept stays kept; the session can drop what MLS refused.
    const kept = log.size(h.groupId);
    expect(kept).toBeGreaterThan(0);
    const first = log.messagesOf(h.groupId, h.startEpoch)[0]!;
    expect(await log.remove(h.groupId, [first.messageId, new Uint8Array(32)])).toBe(1);
    expect(log.size(h.groupId)).toBe(kept - 1);
  });

  it('refuses malformed requests and stays up', async () => {
    const h = buildHistory(1, 2);
    const net = new MemoryRequestNet();
    serve(net, 'alice', await serverLog(h));
    const port = net.port('bob');
    await expect(port.request('alice', 'sync', new Uint8Array([1, 9]))).rejects.toMatchObject({
      code: 'peer_refused',
    });
    await expect(port.request('alice', 'sync', new Uint8Array([2, 1, 0]))).rejects.toMatchObject({
      code: 'peer_refused',
    });
    expect(() => decodeSyncRequest(new Uint8Array([1, 2, 0]))).toThrow(/sync_malformed/);
    const client = new SyncClient({
      log: await CiphertextLog.open(new MemoryLogStore()),
      requests: port,
    });
    expect((await client.catchUp(h.groupId, h.startEpoch, ['alice'])).complete).toBe(true);
  });
});
