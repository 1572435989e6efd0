import { describe, expect, it } from 'vitest';
import {
  CiphertextLog,
  EntryKind,
  MemoryLogStore,
  decodeLogEntry,
  encodeLogEntry,
  hexOf,
  messageIdOf,
  recordHashOf,
} from '../../src-core/delivery/ciphertextLog.js';
import type { LogCursor, LogEntry, LogStore } from '../../src-core/delivery/ciphertextLog.js';
import { buildHistory } from './storeForwardFixture.js';

const G = new Uint8Array([1, 2, 3]);
const H = new Uint8Array([9]);
const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);
const app = (epoch: bigint, n: number) => ({
  kind: EntryKind.application,
  epoch,
  message: bytes(1, n & 0xff, n >> 8),
});
const commit = (epoch: bigint, n = 0, record?: Uint8Array) => ({
  kind: EntryKind.commit,
  epoch,
  message: bytes(3, Number(epoch), n),
  orderingRecord: record,
});

function allPages(log: CiphertextLog, group: Uint8Array, cursor: LogCursor, max: number) {
  const out: LogEntry[] = [];
  let pages = 0;
  for (let c: LogCursor | undefined = cursor; c !== undefined; pages++) {
    const page = log.readPage(group, c, max);
    out.push(...page.entries);
    c = page.next;
  }
  return { out, pages };
}

describe('ciphertext log', () => {
  it('keeps entries by id, drops duplicates, and numbers arrivals', async () => {
    const store = new MemoryLogStore();
    const log = await CiphertextLog.open(store, { now: () => 1000 });
    expect(await log.append(G, app(0n, 1))).toBe('added');
    expect(await log.append(G, app(0n, 1))).toBe('duplicate');
    expect(await log.appendBatch(G, [app(0n, 2), app(0n, 2), app(1n, 3)])).toEqual([
      'added',
      'duplicate',
      'added',
    ]);
    expect(log.size(G)).toBe(3);
    expect(log.has(G, messageIdOf(bytes(1, 2, 0)))).toBe(true);
    expect(log.has(H, messageIdOf(bytes(1, 2, 0)))).toBe(false);
    expect(log.messagesOf(G, 0n).map((e) => e.seq)).toEqual([0, 1]);
    expect(store.size).toBe(3);
  });

  it('one commit per epoch: a later one is a conflict unless it brings the missing record', async () => {
    const log = await CiphertextLog.open(new MemoryLogStore());
    expect(await log.append(G, commit(4n, 1))).toBe('added');
    expect(await log.append(G, commit(4n, 2))).toBe('conflict');
    expect(await log.append(G, commit(4n, 3, bytes(7)))).toBe('replaced');
    expect(hexOf(log.commitOf(G, 4n)!.message)).toBe(hexOf(bytes(3, 4, 3)));
    expect(await log.append(G, commit(4n, 1, bytes(8)))).toBe('conflict');
    // The same commit again with its record fills the record in.
    expect(await log.append(G, commit(5n, 1))).toBe('added');
    expect(await log.append(G, commit(5n, 1, bytes(6)))).toBe('duplicate');
    expect(log.commitOf(G, 5n)!.orderingRecord).toEqual(bytes(6));
    await expect(log.append(G, { ...app(1n, 1), orderingRecord: bytes(1) })).rejects.toMatchObject({
      code: 'invalid_argument',
    });
  });

  it('reports missing commits and ordering records, and heads', async () => {
    const log = await CiphertextLog.open(new MemoryLogStore());
    await log.appendBatch(G, [
      commit(2n, 0, bytes(1)),
      commit(3n),
      app(5n, 0),
      commit(6n, 0, bytes(2)),
    ]);
    expect(log.gaps(G, 2n)).toEqual({
      missingCommits: [4n, 5n],
      missingRecords: [3n],
      truncated: false,
    });
    expect(log.gaps(G, 0n, 4n).missingCommits).toEqual([0n, 1n]);
    const capped = log.gaps(G, 0n, 1n << 62n, 10);
    expect(capped.truncated).toBe(true);
    expect(capped.missingCommits).toHaveLength(10);
    const head = log.head(G)!;
    expect(head.orderedEpoch).toBe(6n);
    expect(head.highestEpoch).toBe(7n); // the commit of epoch 6 starts epoch 7
    expect(hexOf(head.recordHash)).toBe(hexOf(recordHashOf(bytes(2))));
    expect(log.head(H)).toBeUndefined();
    await log.attachOrderingRecord(G, messageIdOf(bytes(3, 3, 0)), bytes(5));
    expect(log.gaps(G, 2n).missingRecords).toEqual([]);
  });

  it('pages per epoch: messages in arrival order, then the commit; every entry exactly once', async () => {
    const log = await CiphertextLog.open(new MemoryLogStore());
    // Arrivals out of epoch order: a commit of epoch 1 before epoch 1's messages.
    await log.appendBatch(G, [
      commit(1n, 0, bytes(1)),
      app(0n, 1),
      app(1n, 2),
      commit(0n, 0, bytes(2)),
    ]);
    for (let i = 3; i < 60; i++) await log.append(G, app(BigInt(i % 3), i));
    const kinds = (es: LogEntry[]) => es.map((e) => `${e.epoch}:${e.kind}`);
    for (const max of [1, 60, 200, 1 << 20]) {
      const { out, pages } = allPages(log, G, { epoch: 0n, fromSeq: 0, commitDone: false }, max);
      expect(out).toHaveLength(log.size(G));
      expect(new Set(out.map((e) => hexOf(e.messageId))).size).toBe(out.length);
      // Epoch order, the commit last in its epoch, arrival order within.
      const order = kinds(out);
      expect(order.indexOf('0:3')).toBe(order.filter((k) => k.startsWith('0:')).length - 1);
      for (let i = 1; i < out.length; i++) {
        expect(out[i]!.epoch >= out[i - 1]!.epoch).toBe(true);
        if (out[i]!.epoch === out[i - 1]!.epoch && out[i]!.kind !== EntryKind.commit) {
          expect(out[i]!.seq > out[i - 1]!.seq).toBe(true);
        }
      }
      if (max === 1) expect(pages).toBe(out.length);
    }
    // Resuming in epoch 1 after the commit of epoch 1 gives only epoch 2.
    const rest = allPages(log, G, { epoch: 1n, fromSeq: 1000, commitDone: true }, 1 << 20).out;
    expect(rest.every((e) => e.epoch === 2n)).toBe(true);
  });

  it('retention by count drops the oldest arrivals, by age the old ones', async () => {
    let now = 0;
    const store = new MemoryLogStore();
    const log = await CiphertextLog.open(store, {
      now: () => now,
      retention: { maxEntriesPerGroup: 5, maxAgeMs: 1000 },
    });
    for (let i = 0; i < 8; i++) {
      now = i * 100;
      await log.append(G, app(BigInt(i), i));
    }
    expect(await log.prune()).toBe(3);
    expect(log.floorEpoch(G)).toBe(3n);
    expect(store.size).toBe(5);
    now = 1550; // entries appended at 300..500 are now older than 1000 ms
    expect(await log.prune()).toBe(3);
    expect(log.messagesOf(G, 5n)).toHaveLength(0);
    expect(log.floorEpoch(G)).toBe(6n);
    expect(log.size(G)).toBe(2);
  });

  it('reopens from its store, skipping entries that do not decode or whose key is not their hash', async () => {
    const store = new MemoryLogStore();
    const log = await CiphertextLog.open(store);
    await log.appendBatch(G, [app(0n, 1), commit(0n, 0, bytes(4)), app(1n, 2)]);
    await log.append(H, app(0n, 9));
    await store.write([
      { op: 'put', group: G, id: messageIdOf(bytes(1)), value: bytes(1, 2, 3) },
      {
        op: 'put',
        group: G,
        id: new Uint8Array(32),
        value: encodeLogEntry({ ...log.messagesOf(G, 0n)[0]! }),
      },
    ]);
    const again = await CiphertextLog.open(store);
    expect(again.skippedOnLoad).toBe(2);
    expect(again.size(G)).toBe(3);
    expect(again.size(H)).toBe(1);
    expect(again.commitOf(G, 0n)!.orderingRecord).toEqual(bytes(4));
    // New arrivals continue the numbering.
    await again.append(G, app(1n, 3));
    expect(again.messagesOf(G, 1n).map((e) => e.seq)).toEqual([2, 3]);
  });

  it('encodes entries with a version byte and rejects unknown versions', () => {
    const e: LogEntry = {
      kind: EntryKind.commit,
      epoch: 7n,
      message: bytes(1, 2),
      orderingRecord: bytes(3),
      messageId: messageIdOf(bytes(1, 2)),
      seq: 12,
      receivedAt: 1_700_000_000_000,
    };
    const enc = encodeLogEntry(e);
    expect(enc[0]).toBe(1);
    expect(decodeLogEntry(enc)).toEqual(e);
    const v2 = enc.slice();
    v2[0] = 2;
    expect(() => decodeLogEntry(v2)).toThrow();
  });

  it('truncates a losing branch and forgets a group', async () => {
    const store = new MemoryLogStore();
    const log = await CiphertextLog.open(store);
    await log.appendBatch(G, [
      app(0n, 1),
      commit(0n, 0, bytes(1)),
      app(1n, 2),
      commit(1n),
      app(2n, 3),
    ]);
    expect(await log.truncateFrom(G, 1n)).toBe(3);
    expect(log.head(G)!.highestEpoch).toBe(1n);
    await log.dropGroup(G);
    expect(log.groups()).toEqual([]);
    expect(store.size).toBe(0);
  });

  it('a store write that fails surfaces as an error', async () => {
    const failing: LogStore = {
      async *load() {},
      write: () => Promise.reject(new Error('disk full')),
    };
    const log = await CiphertextLog.open(failing);
    await expect(log.append(G, app(0n, 1))).rejects.toThrow('disk full');
  });

  it('holds real MLS messages: a page of a real history decodes back to the same bytes', async () => {
    const h = buildHistory(2, 5);
    const log = await CiphertextLog.open(new MemoryLogStore());
    await log.appendBatch(h.groupId, h.entries);
    const { out } = allPages(
      log,
      h.groupId,
      { epoch: h.startEpoch, fromSeq: 0, commitDone: false },
      4096,
    );
    expect(out.map((e) => hexOf(e.message))).toEqual(h.entries.map((e) => hexOf(e.message)));
    expect(log.gaps(h.groupId, h.startEpoch)).toMatchObject({
      missingCommits: [],
      missingRecords: [],
    });
  });
});
