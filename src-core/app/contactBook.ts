/**
 * The app's side of contacts: when each was added and which libp2p peers proved (by an
 * introduction, introduction.ts) that they are one of its devices. Keys and verification state are
 * the trust store's; this book only maps peers to contacts. Kept in memory, written through the
 * `contacts` namespace in the same batch as the trust store when both change.
 */
import type { Store, Transaction } from '../store/index.js';
import { CONTACTS_NS, decodeContact, encodeContact } from './profileRecords.js';

export interface ContactEntry {
  readonly id: string;
  readonly addedAtMs: number;
  readonly peerIds: ReadonlySet<string>;
}

/** Peer ids remembered per contact: a person's few devices, with room for reinstalls. */
export const MAX_PEERS_PER_CONTACT = 16;

export class ContactBook {
  readonly #entries = new Map<string, { addedAtMs: number; peerIds: string[] }>();
  readonly #byPeer = new Map<string, string>();

  private constructor(private readonly store: Store) {}

  static async load(store: Store): Promise<ContactBook> {
    const book = new ContactBook(store);
    for await (const [id, bytes] of store.namespace(CONTACTS_NS).entries()) {
      const c = decodeContact(bytes);
      book.#entries.set(id, { addedAtMs: Number(c.addedAtMs), peerIds: [...c.peerIds] });
      for (const p of c.peerIds) book.#byPeer.set(p, id);
    }
    return book;
  }

  get(id: string): ContactEntry | undefined {
    const e = this.#entries.get(id);
    return e === undefined
      ? undefined
      : { id, addedAtMs: e.addedAtMs, peerIds: new Set(e.peerIds) };
  }

  ids(): string[] {
    return [...this.#entries.keys()];
  }

  contactOfPeer(peerId: string): string | undefined {
    return this.#byPeer.get(peerId);
  }

  /**
   * Adds the contact (if new) and binds `peerId` to it (moving the peer from another contact: the
   * newest proof wins, as a peer id speaks for one device). Puts the change into `tx`; returns
   * whether anything changed.
   */
  bind(tx: Transaction, id: string, peerId: string, nowMs: number): boolean {
    let e = this.#entries.get(id);
    const previous = this.#byPeer.get(peerId);
    if (e !== undefined && previous === id) return false;
    if (previous !== undefined && previous !== id) {
      const p = this.#entries.get(previous)!;
      p.peerIds = p.peerIds.filter((x) => x !== peerId);
      this.#put(tx, previous);
    }
    if (e === undefined) {
      e = { addedAtMs: nowMs, peerIds: [] };
      this.#entries.set(id, e);
    }
    e.peerIds.push(peerId);
    while (e.peerIds.length > MAX_PEERS_PER_CONTACT) this.#byPeer.delete(e.peerIds.shift()!);
    this.#byPeer.set(peerId, id);
    this.#put(tx, id);
    return true;
  }

  remove(tx: Transaction, id: string): void {
    const e = this.#entries.get(id);
    if (e === undefined) return;
    for (const p of e.peerIds) this.#byPeer.delete(p);
    this.#entries.delete(id);
    this.store.namespace(CONTACTS_NS).delete(tx, id);
  }

  #put(tx: Transaction, id: string): void {
    const e = this.#entries.get(id)!;
    this.store
      .namespace(CONTACTS_NS)
      .put(tx, id, encodeContact({ addedAtMs: BigInt(e.addedAtMs), peerIds: e.peerIds }));
  }
}
