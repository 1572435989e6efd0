/**
 * The ciphertext log a member keeps per group, for store and forward: commits with their ordering
 * records (one per epoch), proposals and application messages (by epoch), each under its message
 * id (SHA-256 of the MLSMessage bytes) and its arrival number. Duplicates are dropped by id;
 * entries leave by age and by count; gaps (epochs without a commit, commits without an ordering
 * record) are reported so the sync protocol can fill them from another peer.
 *
 * The log holds ciphertext only: it never decrypts, and it trusts no one to say what a message
 * is. Whoever appends names the kind and epoch (the session after processing, or the sync
 * requester after checking the MLS header); ordering records are opaque here and checked by the
 * session when a commit is merged.
 *
 * Persistence sits behind `LogStore` (batches of puts and deletes, loaded once at open), so the
 * storage layer can put it on a level database; `MemoryLogStore` keeps the encoded bytes in memory.
 */
import { DeliveryError } from './errors.js';
import {
  EntryKind,
  encodeLogEntry,
  decodeLogEntry,
  hexOf,
  messageIdOf,
  recordHashOf,
} from './logEntry.js';
import type { LogEntry, LogStore, LogStoreOp, NewLogEntry } from './logEntry.js';

export {
  EntryKind,
  LOG_ENTRY_VERSION,
  MemoryLogStore,
  decodeLogEntry,
  encodeLogEntry,
  entryKindCodec,
  hexOf,
  messageIdOf,
  recordHashOf,
} from './logEntry.js';
export type { LogEntry, LogStore, LogStoreOp, LogStoreRecord, NewLogEntry } from './logEntry.js';

// ---- The log -----------------------------------------------------------------------------------

export interface RetentionPolicy {
  /** Entries older than this are dropped by `prune` (default 30 days). */
  readonly maxAgeMs: number;
  /** At most this many entries per group; the oldest arrivals go first (default 100,000). */
  readonly maxEntriesPerGroup: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = {
  maxAgeMs: 30 * 24 * 3600 * 1000,
  maxEntriesPerGroup: 100_000,
};

export interface CiphertextLogOptions {
  readonly retention?: Partial<RetentionPolicy>;
  /** Wall-clock milliseconds since the Unix epoch (retention survives restarts). */
  readonly now?: () => number;
}

export interface AppendOptions {
  /**
   * The entries' `messageId`s were just checked against their bytes and the bytes are the
   * caller's fresh copies (a sync page it decoded): the log neither hashes nor copies them again.
   */
  readonly verifiedAndOwned?: boolean;
}

export type AppendOutcome = 'added' | 'duplicate' | 'conflict' | 'replaced';

/**
 * Where a reader stands in a member's log of a group: in `epoch`, proposals and application
 * messages from arrival number `fromSeq` on, then the epoch's commit unless `commitDone`.
 */
export interface LogCursor {
  readonly epoch: bigint;
  readonly fromSeq: number;
  readonly commitDone: boolean;
}

export interface LogPage {
  readonly entries: readonly LogEntry[];
  /** Where the next page starts; undefined when the log has nothing further. */
  readonly next: LogCursor | undefined;
}

export interface GroupHead {
  readonly groupId: Uint8Array;
  /** The highest epoch whose commit we hold with an ordering record (that commit ends it). */
  readonly orderedEpoch: bigint | undefined;
  /** SHA-256 of that commit's ordering record (32 zero bytes when there is none). */
  readonly recordHash: Uint8Array;
  /**
   * The epoch our log reaches: the highest epoch of any entry, or one past it when that epoch's
   * commit is held (the commit starts the next one).
   */
  readonly highestEpoch: bigint;
}

export interface LogGaps {
  /** Epochs in the range with no commit. */
  readonly missingCommits: readonly bigint[];
  /** Epochs whose commit we hold without its ordering record. */
  readonly missingRecords: readonly bigint[];
  /** The lists stopped at the limit (a long absence or an absurd claimed head). */
  readonly truncated: boolean;
}

/** Rough wire size of an entry in a sync page (item framing beside the bytes). */
export function entryWireSize(e: NewLogEntry): number {
  return 48 + e.message.byteLength + (e.orderingRecord?.byteLength ?? 0);
}

class GroupLog {
  readonly byId = new Map<string, LogEntry>();
  readonly commits = new Map<bigint, LogEntry>();
  /** Proposals and application messages per epoch, in arrival order. */
  readonly messages = new Map<bigint, LogEntry[]>();
  #sortedEpochs: bigint[] | undefined;
  nextSeq = 0;

  constructor(readonly groupId: Uint8Array) {}

  epochs(): bigint[] {
    if (this.#sortedEpochs === undefined) {
      const all = new Set<bigint>([...this.commits.keys(), ...this.messages.keys()]);
      this.#sortedEpochs = [...all].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    }
    return this.#sortedEpochs;
  }

  index(e: LogEntry): void {
    const key = hexOf(e.messageId);
    this.byId.set(key, e);
    if (e.kind === EntryKind.commit) {
      if (!this.commits.has(e.epoch) && !this.messages.has(e.epoch)) this.#sortedEpochs = undefined;
      this.commits.set(e.epoch, e);
    } else {
      let list = this.messages.get(e.epoch);
      if (list === undefined) {
        if (!this.commits.has(e.epoch)) this.#sortedEpochs = undefined;
        list = [];
        this.messages.set(e.epoch, list);
      }
      // Arrivals come in seq order; only a load from the store may need the slow path.
      if (list.length === 0 || list[list.length - 1]!.seq < e.seq) list.push(e);
      else {
        list.push(e);
        list.sort((a, b) => a.seq - b.seq);
      }
    }
    if (e.seq >= this.nextSeq) this.nextSeq = e.seq + 1;
  }

  unindex(e: LogEntry): void {
    this.byId.delete(hexOf(e.messageId));
    if (e.kind === EntryKind.commit) {
      if (this.commits.get(e.epoch) === e) this.commits.delete(e.epoch);
    } else {
      const list = this.messages.get(e.epoch);
      if (list !== undefined) {
        const i = list.indexOf(e);
        if (i >= 0) list.splice(i, 1);
        if (list.length === 0) this.messages.delete(e.epoch);
      }
    }
    if (!this.commits.has(e.epoch) && !this.messages.has(e.epoch)) this.#sortedEpochs = undefined;
  }
}

/** The epoch a log reaches (see GroupHead.highestEpoch). */
function reach(g: GroupLog): bigint {
  const last = g.epochs().at(-1);
  if (last === undefined) return 0n;
  return g.commits.has(last) ? last + 1n : last;
}

function firstAtOrAfter(list: readonly LogEntry[], seq: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function checkEntry(e: NewLogEntry): void {
  if (e.message.byteLength === 0) throw new DeliveryError('invalid_argument', 'empty message');
  if (e.epoch < 0n || e.epoch > 0xffffffffffffffffn) {
    throw new DeliveryError('invalid_argument', 'epoch out of range');
  }
  if (e.orderingRecord !== undefined && e.kind !== EntryKind.commit) {
    throw new DeliveryError('invalid_argument', 'only commits carry ordering records');
  }
}

export class CiphertextLog {
  readonly #store: LogStore;
  readonly #retention: RetentionPolicy;
  readonly #now: () => number;
  readonly #groups = new Map<string, GroupLog>();
  /** Stored entries that did not decode at open (left in the store, not served). */
  skippedOnLoad = 0;

  private constructor(store: LogStore, options: CiphertextLogOptions) {
    this.#store = store;
    this.#retention = { ...DEFAULT_RETENTION, ...options.retention };
    if (!(this.#retention.maxAgeMs > 0) || !(this.#retention.maxEntriesPerGroup >= 1)) {
      throw new DeliveryError('invalid_argument', 'retention must keep something');
    }
    this.#now = options.now ?? Date.now;
  }

  /** Opens a log over `store`, loading what it holds. */
  static async open(store: LogStore, options: CiphertextLogOptions = {}): Promise<CiphertextLog> {
    const log = new CiphertextLog(store, options);
    for await (const r of store.load()) {
      let e: LogEntry;
      try {
        e = decodeLogEntry(r.value);
      } catch {
        log.skippedOnLoad++;
        continue;
      }
      // The key must be the hash of the bytes: a store edited behind our back is not served.
      if (hexOf(e.messageId) !== hexOf(r.id)) {
        log.skippedOnLoad++;
        continue;
      }
      log.#group(r.group, true)!.index(e);
    }
    return log;
  }

  #group(groupId: Uint8Array, create: true): GroupLog;
  #group(groupId: Uint8Array, create?: false): GroupLog | undefined;
  #group(groupId: Uint8Array, create = false): GroupLog | undefined {
    const key = hexOf(groupId);
    let g = this.#groups.get(key);
    if (g === undefined && create) {
      g = new GroupLog(groupId.slice());
      this.#groups.set(key, g);
    }
    return g;
  }

  groups(): Uint8Array[] {
    return [...this.#groups.values()].map((g) => g.groupId);
  }

  async append(groupId: Uint8Array, entry: NewLogEntry): Promise<AppendOutcome> {
    const [outcome] = await this.appendBatch(groupId, [entry]);
    return outcome!;
  }

  /**
   * Appends entries in order, as one store batch. A message already held is a 'duplicate' (an
   * ordering record it lacked is added). A second commit for an epoch is a 'conflict' unless it
   * brings an ordering record the held one lacks ('replaced'). Checks every entry before
   * changing anything.
   */
  async appendBatch(
    groupId: Uint8Array,
    entries: readonly (NewLogEntry & { readonly messageId?: Uint8Array })[],
    options: AppendOptions = {},
  ): Promise<AppendOutcome[]> {
    for (const e of entries) checkEntry(e);
    const g = this.#group(groupId, true);
    const now = this.#now();
    const ops: LogStoreOp[] = [];
    const outcomes: AppendOutcome[] = [];
    for (const n of entries) {
      const owned = options.verifiedAndOwned === true && n.messageId !== undefined;
      const messageId = owned ? n.messageId! : messageIdOf(n.message);
      const held = g.byId.get(hexOf(messageId));
      if (held !== undefined) {
        if (
          held.kind === EntryKind.commit &&
          held.orderingRecord === undefined &&
          n.orderingRecord !== undefined
        ) {
          const withRecord: LogEntry = { ...held, orderingRecord: n.orderingRecord.slice() };
          g.unindex(held);
          g.index(withRecord);
          ops.push({
            op: 'put',
            group: g.groupId,
            id: messageId,
            value: encodeLogEntry(withRecord),
          });
        }
        outcomes.push('duplicate');
        continue;
      }
      let outcome: AppendOutcome = 'added';
      if (n.kind === EntryKind.commit) {
        const other = g.commits.get(n.epoch);
        if (other !== undefined) {
          if (other.orderingRecord !== undefined || n.orderingRecord === undefined) {
            outcomes.push('conflict');
            continue;
          }
          g.unindex(other);
          ops.push({ op: 'del', group: g.groupId, id: other.messageId });
          outcome = 'replaced';
        }
      }
      const e: LogEntry = {
        kind: n.kind,
        epoch: n.epoch,
        message: owned ? n.message : n.message.slice(),
        orderingRecord: owned ? n.orderingRecord : n.orderingRecord?.slice(),
        messageId,
        seq: g.nextSeq,
        receivedAt: now,
      };
      g.index(e);
      ops.push({ op: 'put', group: g.groupId, id: messageId, value: encodeLogEntry(e) });
      outcomes.push(outcome);
    }
    if (ops.length > 0) await this.#store.write(ops);
    return outcomes;
  }

  /** Adds the ordering record of the commit `commitId` (the record arrived after the commit). */
  async attachOrderingRecord(
    groupId: Uint8Array,
    commitId: Uint8Array,
    record: Uint8Array,
  ): Promise<boolean> {
    const g = this.#group(groupId);
    const held = g?.byId.get(hexOf(commitId));
    if (g === undefined || held === undefined || held.kind !== EntryKind.commit) return false;
    const withRecord: LogEntry = { ...held, orderingRecord: record.slice() };
    g.unindex(held);
    g.index(withRecord);
    await this.#store.write([
      { op: 'put', group: g.groupId, id: held.messageId, value: encodeLogEntry(withRecord) },
    ]);
    return true;
  }

  has(groupId: Uint8Array, messageId: Uint8Array): boolean {
    return this.#group(groupId)?.byId.has(hexOf(messageId)) ?? false;
  }

  get(groupId: Uint8Array, messageId: Uint8Array): LogEntry | undefined {
    return this.#group(groupId)?.byId.get(hexOf(messageId));
  }

  commitOf(groupId: Uint8Array, epoch: bigint): LogEntry | undefined {
    return this.#group(groupId)?.commits.get(epoch);
  }

  /** Proposals and application messages of `epoch`, in our arrival order. */
  messagesOf(groupId: Uint8Array, epoch: bigint): readonly LogEntry[] {
    return this.#group(groupId)?.messages.get(epoch) ?? [];
  }

  size(groupId: Uint8Array): number {
    return this.#group(groupId)?.byId.size ?? 0;
  }

  /** The lowest epoch we still hold anything of (retention moves it up). */
  floorEpoch(groupId: Uint8Array): bigint | undefined {
    return this.#group(groupId)?.epochs()[0];
  }

  head(groupId: Uint8Array): GroupHead | undefined {
    const g = this.#group(groupId);
    const epochs = g?.epochs();
    if (g === undefined || epochs === undefined || epochs.length === 0) return undefined;
    let ordered: LogEntry | undefined;
    for (let i = epochs.length - 1; i >= 0 && ordered === undefined; i--) {
      const c = g.commits.get(epochs[i]!);
      if (c?.orderingRecord !== undefined) ordered = c;
    }
    return {
      groupId: g.groupId,
      orderedEpoch: ordered?.epoch,
      recordHash:
        ordered?.orderingRecord === undefined
          ? new Uint8Array(32)
          : recordHashOf(ordered.orderingRecord),
      highestEpoch: reach(g),
    };
  }

  /**
   * The next page from `cursor`: per epoch, proposals and application messages in arrival order,
   * then the commit that ends the epoch (the order a member processes them in). At most
   * `maxBytes` (by `entryWireSize`) and `maxEntries`, but never empty while entries remain: an
   * entry larger than `maxBytes` travels alone.
   */
  readPage(groupId: Uint8Array, cursor: LogCursor, maxBytes: number, maxEntries = 10_000): LogPage {
    const g = this.#group(groupId);
    if (g === undefined) return { entries: [], next: undefined };
    const out: LogEntry[] = [];
    let bytes = 0;
    const fits = (e: LogEntry): boolean =>
      out.length === 0 || (bytes + entryWireSize(e) <= maxBytes && out.length < maxEntries);
    for (const epoch of g.epochs()) {
      if (epoch < cursor.epoch) continue;
      const resume = epoch === cursor.epoch;
      const list = g.messages.get(epoch) ?? [];
      for (let i = resume ? firstAtOrAfter(list, cursor.fromSeq) : 0; i < list.length; i++) {
        const e = list[i]!;
        if (!fits(e)) return { entries: out, next: { epoch, fromSeq: e.seq, commitDone: false } };
        out.push(e);
        bytes += entryWireSize(e);
      }
      const commit = g.commits.get(epoch);
      if (commit !== undefined && !(resume && cursor.commitDone)) {
        const after = list.length === 0 ? 0 : list[list.length - 1]!.seq + 1;
        if (!fits(commit))
          return { entries: out, next: { epoch, fromSeq: after, commitDone: false } };
        out.push(commit);
        bytes += entryWireSize(commit);
      }
    }
    return { entries: out, next: undefined };
  }

  /**
   * Epochs in [fromEpoch, toEpoch) lacking a commit, and commits lacking an ordering record.
   * `toEpoch` defaults to the epoch our log reaches (whose commit is not expected yet). At most `limit`
   * of each are listed.
   */
  gaps(groupId: Uint8Array, fromEpoch: bigint, toEpoch?: bigint, limit = 1000): LogGaps {
    const g = this.#group(groupId);
    const end = toEpoch ?? (g === undefined ? fromEpoch : reach(g));
    const missingCommits: bigint[] = [];
    const missingRecords: bigint[] = [];
    let truncated = false;
    for (let e = fromEpoch; e < end; e++) {
      if (missingCommits.length >= limit || missingRecords.length >= limit) {
        truncated = true;
        break;
      }
      const c = g?.commits.get(e);
      if (c === undefined) missingCommits.push(e);
      else if (c.orderingRecord === undefined) missingRecords.push(e);
    }
    return { missingCommits, missingRecords, truncated };
  }

  /** Drops what retention no longer keeps, in every group; returns how many entries went. */
  async prune(): Promise<number> {
    const cutoff = this.#now() - this.#retention.maxAgeMs;
    const ops: LogStoreOp[] = [];
    for (const g of this.#groups.values()) {
      const all = [...g.byId.values()].sort((a, b) => a.seq - b.seq);
      const excess = all.length - this.#retention.maxEntriesPerGroup;
      for (let i = 0; i < all.length; i++) {
        const e = all[i]!;
        if (i >= excess && e.receivedAt >= cutoff) continue;
        g.unindex(e);
        ops.push({ op: 'del', group: g.groupId, id: e.messageId });
      }
    }
    if (ops.length > 0) await this.#store.write(ops);
    return ops.length;
  }

  /** Drops the named messages (ones MLS rejected, say); returns how many were held. */
  async remove(groupId: Uint8Array, messageIds: readonly Uint8Array[]): Promise<number> {
    const g = this.#group(groupId);
    if (g === undefined) return 0;
    const doomed = messageIds
      .map((id) => g.byId.get(hexOf(id)))
      .filter((e): e is LogEntry => e !== undefined);
    for (const e of doomed) g.unindex(e);
    if (doomed.length > 0) {
      await this.#store.write(
        doomed.map((e) => ({ op: 'del' as const, group: g.groupId, id: e.messageId })),
      );
    }
    return doomed.length;
  }

  /**
   * Drops every entry of `epoch` and later (a fork's losing branch, before the winning commits
   * are appended); returns how many.
   */
  async truncateFrom(groupId: Uint8Array, epoch: bigint): Promise<number> {
    const g = this.#group(groupId);
    if (g === undefined) return 0;
    const doomed = [...g.byId.values()].filter((e) => e.epoch >= epoch);
    for (const e of doomed) g.unindex(e);
    if (doomed.length > 0) {
      await this.#store.write(
        doomed.map((e) => ({ op: 'del' as const, group: g.groupId, id: e.messageId })),
      );
    }
    return doomed.length;
  }

  /** Forgets a group (we left it). */
  async dropGroup(groupId: Uint8Array): Promise<void> {
    const g = this.#group(groupId);
    if (g === undefined) return;
    this.#groups.delete(hexOf(groupId));
    await this.#store.write(
      [...g.byId.values()].map((e) => ({ op: 'del' as const, group: g.groupId, id: e.messageId })),
    );
  }
}
