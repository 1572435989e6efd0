import { describe, expect, it } from 'vitest';
import {
  CiphertextLog,
  EntryKind,
  MemoryLogStore,
  hexOf,
  messageIdOf,
} from '../../src-core/delivery/ciphertextLog.js';
import type { LogEntry } from '../../src-core/delivery/ciphertextLog.js';
import { logBacklog } from '../../src-core/delivery/logBacklog.js';

const G = new Uint8Array([1, 2, 3]);
const OTHER = new Uint8Array([4]);
const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);
const entry = (kind: EntryKind, epoch: bigint, n: number, size = 3) => {
  const message = new Uint8Array(size);
  message.set([kind, Number(epoch), n]);
  return { kind, epoch, message };
};
const app = (epoch: bigint, n: number, size?: number) =>
  entry(EntryKind.application, epoch, n, size);
const proposal = (epoch: bigint, n: number) => entry(EntryKind.proposal, epoch, n);
const commit = (epoch: bigint, record?: Uint8Array) => ({
  ...entry(EntryKind.commit, epoch, 0),
  orderingRecord: record,
});

/** `epoch:kind:n` of each entry, in the order handed back. */
const labels = (es: readonly LogEntry[]): string[] =>
  es.map((e) => `${e.epoch}:${e.kind}:${e.message[2]}`);
const A = EntryKind.application;
const P = EntryKind.proposal;
const C = EntryKind.commit;

function expectOnce(es: readonly LogEntry[]): void {
  expect(new Set(es.map((e) => hexOf(e.messageId))).size).toBe(es.length);
}

/** Epochs 0..3 ordered (commit 3 without its record), messages up to epoch 4, another group. */
async function history(): Promise<CiphertextLog> {
  const log = await CiphertextLog.open(new MemoryLogStore());
  // Arrival order differs from epoch order: later epochs' entries came first.
  await log.appendBatch(G, [
    app(4n, 1),
    commit(2n, bytes(0xb2)),
    app(3n, 1),
    proposal(2n, 1),
    app(2n, 1),
    commit(0n, bytes(0xb0)),
    app(0n, 1),
    app(1n, 1),
    commit(1n, bytes(0xb1)),
    app(2n, 2),
    commit(3n),
    app(1n, 2),
  ]);
  await log.appendBatch(OTHER, [commit(2n, bytes(9)), app(2n, 7), app(3n, 7)]);
  return log;
}

describe('log backlog', () => {
  it('hands back, once, every entry from an epoch whose ordered commit the log holds', async () => {
    const log = await history();
    const out = logBacklog(log, G, 2n);
    // Epoch 2's proposal and messages in arrival order, its commit, then all later epochs (the
    // commit of epoch 3 too, though its record is missing: the session sorts that out).
    expect(labels(out)).toEqual([
      `2:${P}:1`,
      `2:${A}:1`,
      `2:${A}:2`,
      `2:${C}:0`,
      `3:${A}:1`,
      `3:${C}:0`,
      `4:${A}:1`,
    ]);
    expectOnce(out);
    expect(out.find((e) => e.kind === C && e.epoch === 2n)?.orderingRecord).toEqual(bytes(0xb2));
    // From epoch 1: epoch 1's entries come first, nothing before it.
    expect(labels(logBacklog(log, G, 1n)).slice(0, 3)).toEqual([
      `1:${A}:1`,
      `1:${A}:2`,
      `1:${C}:0`,
    ]);
    expect(logBacklog(log, G, 1n)).toHaveLength(out.length + 3);
  });

  it('nothing when the commit of the epoch is missing, lacks its record, or the group is unknown', async () => {
    const log = await history();
    expect(logBacklog(log, G, 3n)).toEqual([]); // commit without its ordering record
    expect(logBacklog(log, G, 4n)).toEqual([]); // no commit of epoch 4 yet
    expect(logBacklog(log, G, 9n)).toEqual([]);
    expect(logBacklog(log, bytes(7), 0n)).toEqual([]);
    // The record reaching the log (a sync filling it in) makes epoch 3's backlog due.
    await log.attachOrderingRecord(G, messageIdOf(commit(3n).message), bytes(0xb3));
    expect(labels(logBacklog(log, G, 3n))).toEqual([`3:${A}:1`, `3:${C}:0`, `4:${A}:1`]);
  });

  it('after a catch-up: the messages of the passed epochs and of the one reached, no commits', async () => {
    const log = await history();
    // Passed 0..2, reached 3 (whose commit has no record): messages of epochs 0..3 only.
    const out = logBacklog(log, G, 3n, 0n);
    expect(labels(out)).toEqual([
      `0:${A}:1`,
      `1:${A}:1`,
      `1:${A}:2`,
      `2:${A}:1`,
      `2:${A}:2`,
      `3:${A}:1`,
    ]);
    // Reached 2, whose commit is ordered: epoch 1's messages, then everything from epoch 2 on.
    const both = logBacklog(log, G, 2n, 1n);
    expect(labels(both)).toEqual([`1:${A}:1`, `1:${A}:2`, ...labels(logBacklog(log, G, 2n))]);
    expectOnce(both);
    // passedFrom not below the epoch: no catch-up, so only the ordered-commit rule applies.
    expect(logBacklog(log, G, 3n, 3n)).toEqual([]);
    expect(logBacklog(log, G, 3n, 5n)).toEqual([]);
    // The other group's entries never leak in.
    const other = new Set([app(2n, 7), app(3n, 7)].map((e) => hexOf(messageIdOf(e.message))));
    for (const e of [...out, ...both]) expect(other.has(hexOf(e.messageId))).toBe(false);
  });

  it('across page boundaries (entries over the page size): each entry exactly once, in order', async () => {
    const log = await CiphertextLog.open(new MemoryLogStore());
    const big = 400 * 1024; // three fill more than one 1 MiB page
    await log.appendBatch(G, [
      commit(0n, bytes(1)),
      commit(1n, bytes(2)),
      ...[1, 2, 3, 4, 5].map((n) => app(1n, n, big)),
      ...[1, 2, 3].map((n) => app(2n, n, big)),
      app(0n, 9, big),
    ]);
    const out = logBacklog(log, G, 1n);
    expect(labels(out)).toEqual([
      ...[1, 2, 3, 4, 5].map((n) => `1:${A}:${n}`),
      `1:${C}:0`,
      ...[1, 2, 3].map((n) => `2:${A}:${n}`),
    ]);
    expectOnce(out);
    const passed = logBacklog(log, G, 2n, 0n);
    expect(labels(passed)).toEqual([
      `0:${A}:9`,
      ...[1, 2, 3, 4, 5].map((n) => `1:${A}:${n}`),
      ...[1, 2, 3].map((n) => `2:${A}:${n}`),
    ]);
    expectOnce(passed);
  });
});
