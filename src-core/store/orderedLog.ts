/**
 * An ordered log per owner (a group's message history): entries under increasing 64-bit
 * sequence numbers, read a page at a time forward or backward, deleted by range (retention).
 *
 * Record key: `0x02 ‖ HMAC(index key, "log\0" ‖ owner)[0..16] ‖ uint64 seq (big-endian)`, so
 * level keeps one owner's entries together and in order. The value is the entry, encrypted with
 * the record key as associated data: an entry cannot be moved to another position or owner.
 *
 * What leaks to someone who reads the files: how many logs there are, how many entries each has,
 * their order, sizes and gaps (deleted ranges), and which entries were written in the same batch
 * (LevelDB file layout). Not the owner's name or the entries' contents.
 *
 * Sequence numbers are assigned in memory at `append` and only ever grow: a transaction that
 * fails leaves a gap, never a reuse.
 */
import type { StoreCore } from './core.js';
import { concat } from '../crypto/bytes.js';
import { AREA_LOG, getRaw, hashedPrefix, prefixEnd, scanKeys, scanRaw } from './core.js';
import { StoreError } from './errors.js';
import { openRecord } from './recordCipher.js';
import type { Transaction } from './transaction.js';

export interface LogEntry {
  readonly seq: bigint;
  readonly value: Uint8Array;
}

export interface PageOptions {
  /** Start here (inclusive); default: the first entry (forward) or the last (backward). */
  readonly from?: bigint;
  readonly direction?: 'forward' | 'backward';
  /** At most this many entries; default 50. */
  readonly limit?: number;
}

const MAX_SEQ = (1n << 64n) - 1n;

function seqBytes(seq: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, seq, false);
  return out;
}

export class OrderedLog {
  private next: bigint;

  private constructor(
    private readonly core: StoreCore,
    private readonly prefix: Uint8Array,
    last: bigint | undefined,
  ) {
    this.next = last === undefined ? 1n : last + 1n;
  }

  /** Opens the log of `owner`, finding its last sequence number. */
  static async open(core: StoreCore, owner: string | Uint8Array): Promise<OrderedLog> {
    const ownerBytes = typeof owner === 'string' ? new TextEncoder().encode(owner) : owner;
    const prefix = hashedPrefix(core, AREA_LOG, 'log\0', ownerBytes);
    const keys = await scanKeys(
      core,
      { gte: prefix, lt: prefixEnd(prefix), reverse: true, limit: 1 },
      'log',
    );
    const last = keys[0];
    return new OrderedLog(core, prefix, last === undefined ? undefined : seqOf(prefix, last));
  }

  private key(seq: bigint): Uint8Array {
    if (seq < 0n || seq > MAX_SEQ)
      throw new StoreError('invalid_argument', 'log sequence out of range');
    return concat(this.prefix, seqBytes(seq));
  }

  /** The sequence number the next append gets. */
  get nextSeq(): bigint {
    return this.next;
  }

  /** Queues `value` as the next entry; returns its sequence number. */
  append(tx: Transaction, value: Uint8Array): bigint {
    const seq = this.next++;
    tx.put(this.key(seq), value);
    return seq;
  }

  /** Rewrites an existing position (an edit); the caller knows it exists. */
  replace(tx: Transaction, seq: bigint, value: Uint8Array): void {
    if (seq >= this.next) throw new StoreError('invalid_argument', 'replace beyond the log end');
    tx.put(this.key(seq), value);
  }

  async get(seq: bigint): Promise<Uint8Array | undefined> {
    const key = this.key(seq);
    const stored = await getRaw(this.core, key, 'log entry');
    return stored === undefined
      ? undefined
      : openRecord(this.core.valueKey(), key, stored, 'log entry');
  }

  async page(options: PageOptions = {}): Promise<LogEntry[]> {
    const limit = options.limit ?? 50;
    const backward = options.direction === 'backward';
    const range =
      options.from === undefined
        ? { gte: this.prefix, lt: prefixEnd(this.prefix) }
        : backward
          ? { gte: this.prefix, lte: this.key(options.from) }
          : { gte: this.key(options.from), lt: prefixEnd(this.prefix) };
    const out: LogEntry[] = [];
    for await (const [key, stored] of scanRaw(
      this.core,
      { ...range, reverse: backward, limit },
      'log',
    )) {
      out.push({
        seq: seqOf(this.prefix, key),
        value: openRecord(this.core.valueKey(), key, stored, 'log entry'),
      });
    }
    return out;
  }

  /** Queues the deletion of entries with from <= seq < to; returns how many. */
  async deleteRange(tx: Transaction, from: bigint, to: bigint): Promise<number> {
    if (to <= from) return 0;
    const keys = await scanKeys(this.core, { gte: this.key(from), lt: this.key(to) }, 'log');
    for (const k of keys) tx.del(k);
    return keys.length;
  }
}

function seqOf(prefix: Uint8Array, key: Uint8Array): bigint {
  if (key.length !== prefix.length + 8) {
    throw new StoreError('corrupt_record', 'log entry key of the wrong length');
  }
  return new DataView(key.buffer, key.byteOffset + prefix.length, 8).getBigUint64(0, false);
}
