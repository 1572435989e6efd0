/**
 * A ciphertext log's entries: what an entry is (kind, epoch, MLSMessage bytes, ordering record),
 * its message id (SHA-256 of the bytes), its versioned stored encoding, and `LogStore`, the
 * batch-oriented storage interface the storage layer implements (a level database there,
 * `MemoryLogStore` here).
 */
import { createHash } from 'node:crypto';
import type { Codec } from '../codec/index.js';
import {
  constant,
  decode,
  encode,
  enumOf,
  opaque,
  optional,
  struct,
  uint64,
  uint8,
} from '../codec/index.js';

/** What an entry is, numbered as MLS's ContentType (RFC 9420 §6) so the header can be compared. */
export const EntryKind = { application: 1, proposal: 2, commit: 3 } as const;
export type EntryKind = (typeof EntryKind)[keyof typeof EntryKind];
export const entryKindCodec: Codec<EntryKind> = enumOf<EntryKind>(
  uint8,
  [EntryKind.application, EntryKind.proposal, EntryKind.commit],
  'log entry kind',
);

/** Version of the stored entry encoding; older versions get a decoder here when they change. */
export const LOG_ENTRY_VERSION = 1;

/** Message id: SHA-256 of the MLSMessage bytes (32 bytes). Equal bytes are one message. */
export function messageIdOf(message: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(message).digest());
}

/** SHA-256 of an ordering record, as heads carry it. */
export function recordHashOf(record: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(record).digest());
}

export function hexOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export interface NewLogEntry {
  readonly kind: EntryKind;
  /** The epoch the message was sent in (its MLS header's epoch; a commit ends it). */
  readonly epoch: bigint;
  readonly message: Uint8Array;
  /** Commits only: the sequencer's ordering record for this commit, when known. */
  readonly orderingRecord?: Uint8Array | undefined;
}

export interface LogEntry extends NewLogEntry {
  readonly messageId: Uint8Array;
  /** Arrival number in this member's log of the group (ours only: peers number differently). */
  readonly seq: number;
  /** Milliseconds since the Unix epoch when it was appended. */
  readonly receivedAt: number;
}

/**
 * ```
 * struct {
 *     uint8 version = 1;
 *     uint8 kind;                 // ContentType
 *     uint64 epoch;
 *     uint64 seq;
 *     uint64 received_at;         // ms since the Unix epoch
 *     opaque message<V>;          // MLSMessage
 *     optional<opaque> ordering_record<V>;
 * } StoredLogEntry;
 * ```
 */
interface StoredLogEntry {
  readonly version: number;
  readonly kind: EntryKind;
  readonly epoch: bigint;
  readonly seq: bigint;
  readonly receivedAt: bigint;
  readonly message: Uint8Array;
  readonly orderingRecord: Uint8Array | undefined;
}

const storedLogEntryCodec: Codec<StoredLogEntry> = struct<StoredLogEntry>({
  version: constant(uint8, LOG_ENTRY_VERSION, 'log entry version'),
  kind: entryKindCodec,
  epoch: uint64,
  seq: uint64,
  receivedAt: uint64,
  message: opaque,
  orderingRecord: optional(opaque),
});

export function encodeLogEntry(e: LogEntry): Uint8Array {
  return encode(storedLogEntryCodec, {
    version: LOG_ENTRY_VERSION,
    kind: e.kind,
    epoch: e.epoch,
    seq: BigInt(e.seq),
    receivedAt: BigInt(e.receivedAt),
    message: e.message,
    orderingRecord: e.orderingRecord,
  });
}

/** Throws CodecError on bytes that are not a stored entry. */
export function decodeLogEntry(bytes: Uint8Array): LogEntry {
  const s = decode(storedLogEntryCodec, bytes);
  return {
    kind: s.kind,
    epoch: s.epoch,
    message: s.message,
    orderingRecord: s.orderingRecord,
    messageId: messageIdOf(s.message),
    seq: Number(s.seq),
    receivedAt: Number(s.receivedAt),
  };
}

// ---- Storage ---------------------------------------------------------------------------------

export interface LogStoreRecord {
  readonly group: Uint8Array;
  readonly id: Uint8Array;
  readonly value: Uint8Array;
}

export type LogStoreOp =
  | {
      readonly op: 'put';
      readonly group: Uint8Array;
      readonly id: Uint8Array;
      readonly value: Uint8Array;
    }
  | { readonly op: 'del'; readonly group: Uint8Array; readonly id: Uint8Array };

/**
 * Where a log keeps its entries: keys are (group id, message id), values the versioned encoding.
 * `write` applies a batch atomically (all or none); `load` yields every record once, any order.
 */
export interface LogStore {
  load(): AsyncIterable<LogStoreRecord>;
  write(ops: readonly LogStoreOp[]): Promise<void>;
}

export class MemoryLogStore implements LogStore {
  readonly #records = new Map<string, LogStoreRecord>();

  async *load(): AsyncGenerator<LogStoreRecord> {
    for (const r of [...this.#records.values()]) yield r;
  }

  write(ops: readonly LogStoreOp[]): Promise<void> {
    for (const o of ops) {
      const key = `${hexOf(o.group)}/${hexOf(o.id)}`;
      if (o.op === 'put') {
        this.#records.set(key, {
          group: o.group.slice(),
          id: o.id.slice(),
          value: o.value.slice(),
        });
      } else this.#records.delete(key);
    }
    return Promise.resolve();
  }

  /** Stored records (for tests of the encoding and of what pruning deletes). */
  get size(): number {
    return this.#records.size;
  }
}
