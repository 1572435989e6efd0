/**
 * Which live messages carry an attachment. Attachments are content-addressed (the id is a hash of
 * size, chunk size and chunk hashes), so one manifest can be carried by several messages: sent
 * twice in a group, or in two groups. Deleting one message deletes the attachment's record (which
 * holds the file key) and its chunks only when no other live message names the same manifest.
 *
 * Stored: one namespace per attachment, `attachment-refs/<attachmentId>`, one empty entry per
 * carrying message, named `<groupHex>/<messageIdHex>`. Separate entries rather than a count: two
 * groups' transactions adding a reference at once never lose one to the other, and a message
 * dropped twice (expiry after a delete) is dropped once.
 *
 * In memory, per store: the reference changes written into transactions not committed yet (reads
 * do not see a transaction's own writes, nor another open one's), and the attachments whose
 * deletion is being written, so a chunk download refuses to store chunks of an attachment that is
 * going away (chunkTransfers.ts) and learns when it went.
 */
import type { Namespace, Store, Transaction } from '../../store/index.js';
import type { AttachmentManifest } from '../content/index.js';
import { CHUNK_HASH_BYTES, chunkHash } from '../content/index.js';
import { ATTACHMENTS_NS } from './groupRecords.js';

export const ATTACHMENT_REFS_NS = 'attachment-refs';

const EMPTY = new Uint8Array(0);

/** The name of a message's reference entry. */
export const refName = (groupHex: string, messageIdHex: string): string =>
  `${groupHex}/${messageIdHex}`;

/** A reference change in a transaction not settled yet. */
interface PendingChange {
  readonly added: boolean;
}

export class AttachmentRefs {
  /** attachment id → reference name → the latest unsettled change of it. */
  readonly #pending = new Map<string, Map<string, PendingChange>>();
  /** attachment id → deletions of it written into transactions not settled yet. */
  readonly #collecting = new Map<string, number>();
  readonly #listeners = new Set<(attachmentId: string) => void>();

  constructor(private readonly store: Store) {}

  #namespace(attachmentId: string): Namespace {
    return this.store.namespace(`${ATTACHMENT_REFS_NS}/${attachmentId}`);
  }

  add(tx: Transaction, attachmentId: string, ref: string): void {
    this.#namespace(attachmentId).put(tx, ref, EMPTY);
    this.#track(tx, attachmentId, ref, { added: true });
  }

  drop(tx: Transaction, attachmentId: string, ref: string): void {
    this.#namespace(attachmentId).delete(tx, ref);
    this.#track(tx, attachmentId, ref, { added: false });
  }

  #track(tx: Transaction, attachmentId: string, ref: string, change: PendingChange): void {
    let refs = this.#pending.get(attachmentId);
    if (refs === undefined) this.#pending.set(attachmentId, (refs = new Map()));
    refs.set(ref, change);
    const settle = (): void => {
      const now = this.#pending.get(attachmentId);
      if (now?.get(ref) !== change) return;
      now.delete(ref);
      if (now.size === 0) this.#pending.delete(attachmentId);
    };
    tx.onCommit(settle);
    tx.onAbort(settle);
  }

  #pendingAdd(attachmentId: string): boolean {
    for (const c of this.#pending.get(attachmentId)?.values() ?? []) if (c.added) return true;
    return false;
  }

  /**
   * Whether a live message still names the attachment: a stored reference not dropped by an open
   * transaction, or one added by an open transaction. Ends with a synchronous look at the open
   * transactions, so a caller that marks the deletion (`collecting`) right after, without an
   * await, leaves no gap for a reference added meanwhile.
   */
  async referenced(attachmentId: string): Promise<boolean> {
    for await (const [ref] of this.#namespace(attachmentId).entries()) {
      if (this.#pending.get(attachmentId)?.get(ref)?.added !== false) return true;
    }
    return this.#pendingAdd(attachmentId);
  }

  /** Whether a live message of group `groupHex` carries the attachment (committed or not). */
  async carriedIn(attachmentId: string, groupHex: string): Promise<boolean> {
    const mine = (ref: string): boolean => ref.startsWith(`${groupHex}/`);
    for (const [ref, c] of this.#pending.get(attachmentId) ?? [])
      if (c.added && mine(ref)) return true;
    for await (const [ref] of this.#namespace(attachmentId).entries()) {
      if (mine(ref) && this.#pending.get(attachmentId)?.get(ref)?.added !== false) return true;
    }
    return false;
  }

  /**
   * After a message carrying `manifest` dropped its reference in `tx`: deletes (into `tx`) the
   * attachment's record and every chunk if no live message names it any more. Returns whether it
   * did.
   */
  async release(
    tx: Transaction,
    attachmentId: string,
    manifest: AttachmentManifest,
  ): Promise<boolean> {
    if (await this.referenced(attachmentId)) return false;
    // No await between the check and the mark (see `referenced`).
    this.collecting(tx, attachmentId);
    this.store.namespace(ATTACHMENTS_NS).delete(tx, attachmentId);
    const chunks = manifest.chunkHashes.length / CHUNK_HASH_BYTES;
    for (let i = 0; i < chunks; i++) this.store.blobs.delete(tx, chunkHash(manifest, i));
    return true;
  }

  /** Marks the attachment's deletion as written into `tx`; listeners hear of it once committed. */
  collecting(tx: Transaction, attachmentId: string): void {
    this.#collecting.set(attachmentId, (this.#collecting.get(attachmentId) ?? 0) + 1);
    const settle = (): void => {
      const n = (this.#collecting.get(attachmentId) ?? 1) - 1;
      if (n === 0) this.#collecting.delete(attachmentId);
      else this.#collecting.set(attachmentId, n);
    };
    tx.onCommit(() => {
      settle();
      for (const fn of this.#listeners) fn(attachmentId);
    });
    tx.onAbort(settle);
  }

  /** Whether a deletion of the attachment is being written. */
  isCollecting(attachmentId: string): boolean {
    return this.#collecting.has(attachmentId);
  }

  /** Calls `fn` with each attachment id whose deletion was committed; returns the unsubscribe. */
  onCollected(fn: (attachmentId: string) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }
}

const registries = new WeakMap<Store, AttachmentRefs>();

/** The store's one AttachmentRefs (its in-memory part must be shared by every writer). */
export function attachmentRefs(store: Store): AttachmentRefs {
  let r = registries.get(store);
  if (r === undefined) registries.set(store, (r = new AttachmentRefs(store)));
  return r;
}
