/**
 * One atomic write: everything put or deleted through a Transaction reaches disk in a single
 * level batch, which LevelDB writes as one log record (a crash leaves all of it or none).
 * Values are encrypted when they are added, so the transaction never holds plaintext.
 *
 * Reads do not see a transaction's own writes; callers compute what to write from what they
 * read before. A key written twice keeps its last operation, so `size` counts records changed.
 */
import type { ClassicLevel } from 'classic-level';
import { StoreError, mapLevelError } from './errors.js';
import { sealRecord } from './recordCipher.js';

type Op =
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly key: Uint8Array };

/** What a transaction needs from its store. */
export interface TransactionTarget {
  readonly db: ClassicLevel<Uint8Array, Uint8Array>;
  valueKey(): Uint8Array;
}

function mapKey(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.length).toString('latin1');
}

export interface CommitOptions {
  readonly sync?: boolean;
}

export class Transaction {
  private readonly ops = new Map<string, Op>();
  private readonly committed: (() => void)[] = [];
  private readonly failed: (() => void)[] = [];
  private state: 'open' | 'committing' | 'done' = 'open';

  constructor(private readonly target: TransactionTarget) {}

  /** Encrypts `plaintext` under the record key `key` and queues it. */
  put(key: Uint8Array, plaintext: Uint8Array): void {
    this.check();
    this.ops.set(mapKey(key), {
      type: 'put',
      key,
      value: sealRecord(this.target.valueKey(), key, plaintext),
    });
  }

  /** Queues a raw (already encoded) value: for the plaintext header only. */
  putRaw(key: Uint8Array, value: Uint8Array): void {
    this.check();
    this.ops.set(mapKey(key), { type: 'put', key, value });
  }

  del(key: Uint8Array): void {
    this.check();
    this.ops.set(mapKey(key), { type: 'del', key });
  }

  /** Records this transaction changes (puts and deletions); after commit, what it wrote. */
  get size(): number {
    return this.ops.size;
  }

  /** Bytes of keys and values this transaction puts. */
  get bytes(): number {
    let n = 0;
    for (const op of this.ops.values())
      n += op.key.length + (op.type === 'put' ? op.value.length : 0);
    return n;
  }

  get puts(): number {
    let n = 0;
    for (const op of this.ops.values()) if (op.type === 'put') n++;
    return n;
  }

  /** Runs after the batch is on disk. */
  onCommit(fn: () => void): void {
    this.committed.push(fn);
  }

  /** Runs if the batch fails or the transaction is aborted. */
  onAbort(fn: () => void): void {
    this.failed.push(fn);
  }

  /**
   * Moves everything `other` queued (operations and hooks) into this transaction, as if it had
   * been written here, and closes `other`. A caller that builds a batch from several independent
   * pieces gives each its own transaction, so that a piece that fails is aborted alone.
   */
  absorb(other: Transaction): void {
    this.check();
    other.check();
    if (other === this || other.target !== this.target) {
      throw new StoreError('invalid_argument', 'a transaction absorbs another of its own store');
    }
    for (const [k, op] of other.ops) {
      this.ops.delete(k); // a later write of a key comes after the earlier ones, as in `ops`
      this.ops.set(k, op);
    }
    this.committed.push(...other.committed);
    this.failed.push(...other.failed);
    other.ops.clear();
    other.committed.length = 0;
    other.failed.length = 0;
    other.state = 'done';
  }

  /**
   * Writes the batch. `sync` (default true) waits for the OS to put it on the disk: a state
   * must be durable before anything derived from it leaves the process (a message encrypted
   * under a ratchet generation, a commit), or a power cut could roll the state back and the
   * same key and nonce be used twice. `sync: false` is for bulk work that can be redone
   * (imports, migrations of caches); a crash of the process alone loses nothing either way.
   */
  async commit(options: CommitOptions = {}): Promise<void> {
    this.check();
    this.state = 'committing';
    // The ops stay (ciphertext only) so that size and bytes still describe what was written.
    const batch = [...this.ops.values()];
    try {
      if (batch.length > 0) await this.target.db.batch(batch, { sync: options.sync ?? true });
    } catch (e) {
      this.state = 'done';
      for (const fn of this.failed) fn();
      throw mapLevelError(e, 'batch write');
    }
    this.state = 'done';
    for (const fn of this.committed) fn();
  }

  /** Drops everything queued; hooks registered with onAbort run. */
  abort(): void {
    if (this.state !== 'open') return;
    this.state = 'done';
    this.ops.clear();
    for (const fn of this.failed) fn();
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  private check(): void {
    if (this.state !== 'open') {
      throw new StoreError('invalid_argument', 'transaction already committed or aborted');
    }
  }
}
