// What the node remembers about other peers: their last known addresses, when they were last
// seen, and whether they are contacts (reconnected to with backoff) or only peers met in passing
// (on the LAN, say). The storage layer provides a persistent PeerAddressBook; the in-memory one
// serves tests and nodes that need no memory across restarts.
import { multiaddr } from '@multiformats/multiaddr';
import { peerIdFromString } from '@libp2p/peer-id';
import { NetError } from './errors.js';

export interface PeerRecord {
  /** The peer id in its usual base58 text form. */
  readonly peerId: string;
  /** Multiaddrs without the /p2p/<id> suffix, most recently seen first. */
  readonly addrs: readonly string[];
  /** When the peer was last connected, in milliseconds since the Unix epoch; 0 if never. */
  readonly lastSeenMs: number;
  readonly contact: boolean;
}

export interface PeerAddressBook {
  get(peerId: string): Promise<PeerRecord | undefined>;
  list(): Promise<PeerRecord[]>;
  put(record: PeerRecord): Promise<void>;
  delete(peerId: string): Promise<void>;
}

/** Addresses kept per peer: enough for a laptop's few interfaces and a relay or two. */
export const MAX_ADDRS_PER_PEER = 16;

export class MemoryPeerAddressBook implements PeerAddressBook {
  readonly #records = new Map<string, PeerRecord>();

  async get(peerId: string): Promise<PeerRecord | undefined> {
    return this.#records.get(peerId);
  }

  async list(): Promise<PeerRecord[]> {
    return [...this.#records.values()];
  }

  async put(record: PeerRecord): Promise<void> {
    this.#records.set(record.peerId, checkRecord(record));
  }

  async delete(peerId: string): Promise<void> {
    this.#records.delete(peerId);
  }
}

/** Throws `invalid_argument` for a record with a bad peer id or address; returns it otherwise. */
export function checkRecord(record: PeerRecord): PeerRecord {
  try {
    peerIdFromString(record.peerId);
  } catch (cause) {
    throw new NetError('invalid_argument', 'peer record has an invalid peer id', { cause });
  }
  if (record.addrs.length > MAX_ADDRS_PER_PEER) {
    throw new NetError('invalid_argument', `peer record has more than ${MAX_ADDRS_PER_PEER} addrs`);
  }
  for (const a of record.addrs) {
    try {
      multiaddr(a);
    } catch (cause) {
      throw new NetError('invalid_argument', 'peer record has an invalid multiaddr', { cause });
    }
  }
  return record;
}

/**
 * Read-modify-write updates of one book, chained per peer. Identify results, addContact and
 * removeContact arrive concurrently; two updates that both read the old record and then both
 * write would let the later write undo the earlier one (an identify update clearing the contact
 * flag set a moment before). Every update of a record made by this layer goes through here.
 */
const pending = new WeakMap<PeerAddressBook, Map<string, Promise<unknown>>>();

function serialized<T>(
  book: PeerAddressBook,
  peerId: string,
  update: () => Promise<T>,
): Promise<T> {
  let queue = pending.get(book);
  if (queue === undefined) {
    queue = new Map();
    pending.set(book, queue);
  }
  const previous = queue.get(peerId) ?? Promise.resolve();
  const run = previous.then(update, update);
  const tail = run.catch(() => undefined);
  queue.set(peerId, tail);
  void tail.then(() => {
    if (queue.get(peerId) === tail) queue.delete(peerId);
  });
  return run;
}

/**
 * Records that `peerId` was reachable at `addrs` now: the new addresses go first, older ones
 * follow up to MAX_ADDRS_PER_PEER. `contact: true` marks it a contact; a contact is never
 * demoted here.
 */
export function rememberPeer(
  book: PeerAddressBook,
  peerId: string,
  addrs: readonly string[],
  options: { contact?: boolean; seenAtMs?: number } = {},
): Promise<PeerRecord> {
  return serialized(book, peerId, async () => {
    const old = await book.get(peerId);
    const merged: string[] = [];
    for (const a of [...addrs, ...(old?.addrs ?? [])]) {
      if (!merged.includes(a)) merged.push(a);
      if (merged.length === MAX_ADDRS_PER_PEER) break;
    }
    const record: PeerRecord = {
      peerId,
      addrs: merged,
      lastSeenMs: options.seenAtMs ?? old?.lastSeenMs ?? 0,
      contact: (old?.contact ?? false) || (options.contact ?? false),
    };
    await book.put(record);
    return record;
  });
}

/** Deletes `peerId`'s record, after any update of it already under way. */
export function forgetPeer(book: PeerAddressBook, peerId: string): Promise<void> {
  return serialized(book, peerId, () => book.delete(peerId));
}
