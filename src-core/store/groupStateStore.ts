/**
 * MLS group states, stored as the records `src-core/mls/storage` makes (one per tree node, one
 * per secret-tree leaf, ...), each an entry of the group's collection. A commit therefore
 * writes what `diffGroupState` says changed, O(log n) records for a path commit, inside the
 * caller's transaction, next to the messages it carries and the deletions it implies.
 *
 * The stored names ("tree/0000002a", "epoch/<id>/leaf/...") live only inside encrypted values;
 * record keys are keyed hashes (namespace.ts). To apply `delPrefixes` without the names on disk,
 * a loaded group keeps the set of its stored names in memory, grouped by the prefixes the state
 * codec deletes (`proposal/`, `epoch/<id>/`, `snapshot/<id>/`).
 *
 * A registry collection lists the stored group ids, so opening a profile finds its groups.
 */
import type { DecodeOptions, EpochId, GroupStateChanges } from '../mls/storage/index.js';
import {
  decodeGroupState,
  decodeSnapshot,
  diffGroupState,
  encodeGroupState,
  encodeSnapshot,
  epochIdOf,
  epochIdString,
  listSnapshots,
} from '../mls/storage/index.js';
import type { GroupState } from '../mls/group/index.js';
import { MlsError } from '../mls/errors.js';
import type { StoreCore } from './core.js';
import { StoreError } from './errors.js';
import { Namespace } from './namespace.js';
import type { Transaction } from './transaction.js';

const GROUP_KIND = 'mls-group';
const REGISTRY_KIND = 'mls-groups';

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** The stored names of one group, bucketed by the prefixes deleted as a whole. */
class NameIndex {
  private readonly buckets = new Map<string, Set<string>>();

  static bucketOf(name: string): string {
    if (name.startsWith('epoch/') || name.startsWith('snapshot/')) {
      const second = name.indexOf('/', name.indexOf('/') + 1);
      return second < 0 ? name : name.slice(0, second + 1);
    }
    if (name.startsWith('proposal/')) return 'proposal/';
    if (name.startsWith('tree/')) return 'tree/';
    return name;
  }

  add(name: string): void {
    const b = NameIndex.bucketOf(name);
    let set = this.buckets.get(b);
    if (set === undefined) this.buckets.set(b, (set = new Set()));
    set.add(name);
  }

  has(name: string): boolean {
    return this.buckets.get(NameIndex.bucketOf(name))?.has(name) ?? false;
  }

  delete(name: string): void {
    const b = NameIndex.bucketOf(name);
    const set = this.buckets.get(b);
    if (set === undefined) return;
    set.delete(name);
    if (set.size === 0) this.buckets.delete(b);
  }

  /**
   * Every stored name starting with `prefix`. A name starts with its bucket, so a bucket can
   * only hold matches if it and the prefix are prefixes of one another: whole buckets are taken
   * without looking at their names, and there are few buckets (tree, state, proposals, one per
   * kept epoch and snapshot), so this never walks a large tree's names.
   */
  withPrefix(prefix: string): string[] {
    const out: string[] = [];
    for (const [bucket, set] of this.buckets) {
      if (bucket.startsWith(prefix)) out.push(...set);
      else if (prefix.startsWith(bucket))
        for (const n of set) if (n.startsWith(prefix)) out.push(n);
    }
    return out;
  }

  names(): string[] {
    const out: string[] = [];
    for (const set of this.buckets.values()) out.push(...set);
    return out;
  }
}

function asStoreError(e: unknown, what: string): never {
  if (e instanceof StoreError) throw e;
  if (e instanceof MlsError)
    throw new StoreError('corrupt_record', `${what}: ${e.code}`, { cause: e });
  throw e;
}

export interface SaveOptions {
  /**
   * The kept snapshots (fork points) that must be stored relative to `next`. Snapshot records
   * are relative to the current state, so when the epoch changes every stored snapshot must be
   * given here (it is rewritten) or it is deleted; when given, this list replaces the stored set.
   */
  readonly snapshots?: readonly GroupState[];
}

/** One group's stored state, as last written. */
export class StoredGroup {
  private stale = false;

  constructor(
    readonly groupId: Uint8Array,
    private readonly records: Namespace,
    private readonly index: NameIndex,
    private last: GroupState,
  ) {}

  /** The state as last saved (or loaded). */
  get state(): GroupState {
    return this.last;
  }

  /** Number of records this group has on disk (as far as this handle knows). */
  get recordCount(): number {
    return this.index.names().length;
  }

  /**
   * Queues what changed from the last saved state to `next` (a merged commit, messages
   * sent or received, proposals). The in-memory view moves to `next` now; if `tx` then fails or
   * is aborted this handle is stale (the state's change journals were consumed) and the group
   * must be loaded again.
   */
  save(tx: Transaction, next: GroupState, options: SaveOptions = {}): GroupStateChanges {
    this.checkFresh();
    const epochChanged =
      epochIdString(epochIdOf(next.suite, next.groupContext)) !==
      epochIdString(epochIdOf(this.last.suite, this.last.groupContext));
    const changes = diffGroupState(this.last, next);
    for (const name of changes.del) this.remove(tx, name);
    for (const p of changes.delPrefixes)
      for (const name of this.index.withPrefix(p)) this.remove(tx, name);
    this.putAll(tx, changes.put);
    if (options.snapshots !== undefined || epochChanged) {
      for (const name of this.index.withPrefix('snapshot/')) this.remove(tx, name);
      for (const snapshot of options.snapshots ?? [])
        this.putAll(tx, encodeSnapshot(snapshot, next));
    }
    this.last = next;
    tx.onAbort(() => {
      this.stale = true;
    });
    return changes;
  }

  /** The epochs of the stored snapshots. */
  snapshotIds(): EpochId[] {
    return listSnapshots(
      new Map(this.index.withPrefix('snapshot/').map((n) => [n, new Uint8Array(0)])),
    );
  }

  /** Rebuilds a stored snapshot on top of the current state. */
  async loadSnapshot(id: EpochId, options: DecodeOptions = {}): Promise<GroupState> {
    this.checkFresh();
    const records = await readAll(this.records);
    try {
      return decodeSnapshot(records, id, this.last, options);
    } catch (e) {
      return asStoreError(e, 'group snapshot');
    } finally {
      for (const v of records.values()) v.fill(0);
    }
  }

  private remove(tx: Transaction, name: string): void {
    if (!this.index.has(name)) return;
    this.records.delete(tx, name);
    this.index.delete(name);
  }

  private putAll(tx: Transaction, put: ReadonlyMap<string, Uint8Array>): void {
    for (const [name, value] of put) {
      this.records.put(tx, name, value);
      this.index.add(name);
      // The record holds secrets in the clear; the transaction keeps only the ciphertext.
      value.fill(0);
    }
  }

  private checkFresh(): void {
    if (this.stale) {
      throw new StoreError('stale', 'a batch with this group failed; load the group again');
    }
  }
}

async function readAll(records: Namespace): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const [name, value] of records.entries()) out.set(name, value);
  return out;
}

export class GroupStateStore {
  private readonly registry: Namespace;

  constructor(private readonly core: StoreCore) {
    this.registry = new Namespace(core, REGISTRY_KIND, '');
  }

  private recordsOf(groupId: Uint8Array): Namespace {
    return new Namespace(this.core, GROUP_KIND, groupId);
  }

  /** The ids of the stored groups (in no particular order). */
  async list(): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for await (const [, id] of this.registry.entries()) out.push(id);
    return out;
  }

  /** Queues every record of a new (or replaced) group state. */
  async create(tx: Transaction, groupId: Uint8Array, state: GroupState): Promise<StoredGroup> {
    const records = this.recordsOf(groupId);
    await records.clear(tx);
    this.registry.put(tx, hexOf(groupId), groupId);
    const index = new NameIndex();
    const stored = new StoredGroup(groupId, records, index, state);
    const all = encodeGroupState(state);
    for (const [name, value] of all) {
      records.put(tx, name, value);
      index.add(name);
      value.fill(0);
    }
    return stored;
  }

  /**
   * Reads and decodes a group. Bad records (failed MAC, or records the MLS decoder rejects)
   * give StoreError('corrupt_record'); a group not stored gives 'not_found'.
   */
  async load(groupId: Uint8Array, options: DecodeOptions = {}): Promise<StoredGroup> {
    const records = this.recordsOf(groupId);
    const all = await readAll(records);
    try {
      if (all.size === 0) throw new StoreError('not_found', 'no stored group with this id');
      const state = decodeGroupState(all, options);
      const index = new NameIndex();
      for (const name of all.keys()) index.add(name);
      return new StoredGroup(groupId, records, index, state);
    } catch (e) {
      return asStoreError(e, 'group state');
    } finally {
      for (const v of all.values()) v.fill(0);
    }
  }

  /** The names of a group's records on disk (diagnostics and tests; values are wiped). */
  async recordNames(groupId: Uint8Array): Promise<string[]> {
    const out: string[] = [];
    for await (const [name, value] of this.recordsOf(groupId).entries()) {
      out.push(name);
      value.fill(0);
    }
    return out;
  }

  /** Queues the deletion of a group's records and its registry entry. */
  async delete(tx: Transaction, groupId: Uint8Array): Promise<void> {
    await this.recordsOf(groupId).clear(tx);
    this.registry.delete(tx, hexOf(groupId));
  }
}
