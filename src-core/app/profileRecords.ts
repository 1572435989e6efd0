/**
 * What the app keeps in the profile's store, outside MLS group state: its identity material,
 * settings, contacts' app data, the trust store and record book, the libp2p key. Every value is
 * encrypted by the store (store/README.md); these are the plaintext formats, TLS-encoded and
 * versioned so that a migration can tell them apart.
 *
 * | namespace        | entry        | value                                                   |
 * | ---------------- | ------------ | ------------------------------------------------------- |
 * | `profile`        | `identity`   | StoredIdentity                                          |
 * | `profile`        | `settings`   | StoredSettings                                          |
 * | `profile`        | `peer-key`   | the libp2p private key (protobuf, as libp2p encodes it) |
 * | `contacts`       | contact id   | StoredContact                                           |
 * | `identity-state` | `trust`      | TrustStore.export()                                     |
 * | `identity-state` | `records`    | RecordBook.export()                                     |
 * | `peers`          | peer id      | StoredPeer (net's address book: addresses, contact flag) |
 */
import {
  bool,
  decode,
  encode,
  fixedBytes,
  opaque,
  optional,
  struct,
  uint16,
  uint64,
  utf8String,
  vector,
} from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import { checkRecord } from '../net/addressBook.js';
import type { PeerAddressBook, PeerIdentityStore, PeerRecord } from '../net/index.js';
import type { Namespace, Store, Transaction } from '../store/index.js';
import { AppError } from './errors.js';

export const PROFILE_NS = 'profile';
export const CONTACTS_NS = 'contacts';
export const IDENTITY_STATE_NS = 'identity-state';
export const PEERS_NS = 'peers';
export const STORED_FORMAT_VERSION = 1;

/**
 * ```
 * struct {
 *   uint16 version = 1;
 *   optional<opaque> user_key_seed;  // absent on a linked device that was not given the user key
 *   opaque device_key_seed[32];
 *   opaque record<V>;                // our newest IdentityRecord, as signed
 *   uint64 created_at_ms;
 * } StoredIdentity;
 * ```
 */
export interface StoredIdentity {
  readonly version: number;
  readonly userKeySeed: Uint8Array | undefined;
  readonly deviceKeySeed: Uint8Array;
  readonly record: Uint8Array;
  readonly createdAtMs: bigint;
}

const storedIdentityCodec: Codec<StoredIdentity> = struct<StoredIdentity>({
  version: uint16,
  userKeySeed: optional(opaque),
  deviceKeySeed: fixedBytes(32),
  record: opaque,
  createdAtMs: uint64,
});

/** `struct { uint16 version = 1; bool lan_discovery; } StoredSettings;` */
export interface StoredSettings {
  readonly version: number;
  readonly lanDiscovery: boolean;
}

const storedSettingsCodec: Codec<StoredSettings> = struct<StoredSettings>({
  version: uint16,
  lanDiscovery: bool,
});

/**
 * The app's side of a contact; the trust store holds its key and verification state.
 * ```
 * struct {
 *   uint16 version = 1;
 *   uint64 added_at_ms;
 *   opaque peer_ids<V>;   // libp2p peer ids (utf8) that proved they are a device of the contact
 * } StoredContact;
 * ```
 */
export interface StoredContact {
  readonly version: number;
  readonly addedAtMs: bigint;
  readonly peerIds: string[];
}

const storedContactCodec: Codec<StoredContact> = struct<StoredContact>({
  version: uint16,
  addedAtMs: uint64,
  peerIds: vector(utf8String),
});

/** A stored value that does not decode is damage, never a reason to start over. */
function decodeStored<T extends { version: number }>(
  codec: Codec<T>,
  bytes: Uint8Array,
  what: string,
): T {
  let v: T;
  try {
    v = decode(codec, bytes);
  } catch (cause) {
    throw new AppError('internal', `the stored ${what} is malformed`, { cause });
  }
  if (v.version !== STORED_FORMAT_VERSION) {
    throw new AppError('internal', `the stored ${what} has version ${v.version}`);
  }
  return v;
}

export const encodeIdentity = (v: Omit<StoredIdentity, 'version'>): Uint8Array =>
  encode(storedIdentityCodec, { version: STORED_FORMAT_VERSION, ...v });
export const decodeIdentity = (b: Uint8Array): StoredIdentity =>
  decodeStored(storedIdentityCodec, b, 'identity');
export const encodeSettings = (v: Omit<StoredSettings, 'version'>): Uint8Array =>
  encode(storedSettingsCodec, { version: STORED_FORMAT_VERSION, ...v });
export const decodeSettings = (b: Uint8Array): StoredSettings =>
  decodeStored(storedSettingsCodec, b, 'settings');
export const encodeContact = (v: Omit<StoredContact, 'version'>): Uint8Array =>
  encode(storedContactCodec, { version: STORED_FORMAT_VERSION, ...v });
export const decodeContact = (b: Uint8Array): StoredContact =>
  decodeStored(storedContactCodec, b, 'contact');

/**
 * The libp2p key in the encrypted store (net's FilePeerIdentityStore is plaintext). Writes are
 * fsynced: a peer id that changed after a crash would orphan every contact's address book entry.
 */
export class StorePeerIdentityStore implements PeerIdentityStore {
  readonly #ns: Namespace;

  constructor(private readonly store: Store) {
    this.#ns = store.namespace(PROFILE_NS);
  }

  load(): Promise<Uint8Array | undefined> {
    return this.#ns.get('peer-key');
  }

  async save(encodedKey: Uint8Array): Promise<void> {
    await this.store.write((tx: Transaction) => this.#ns.put(tx, 'peer-key', encodedKey));
  }
}

/**
 * ```
 * struct { uint16 version = 1; opaque addrs<V>; uint64 last_seen_ms; bool contact; } StoredPeer;
 * ```
 * (`addrs` is a vector of utf8 multiaddrs.)
 */
interface StoredPeer {
  readonly version: number;
  readonly addrs: string[];
  readonly lastSeenMs: bigint;
  readonly contact: boolean;
}

const storedPeerCodec: Codec<StoredPeer> = struct<StoredPeer>({
  version: uint16,
  addrs: vector(utf8String),
  lastSeenMs: uint64,
  contact: bool,
});

/**
 * net's PeerAddressBook in the encrypted store, so contacts are redialled after a restart.
 * Writes are not fsynced: a lost address update is relearnt at the next connection.
 *
 * net updates entries by read-modify-write from several places at once (identify, invites,
 * discovery), so two updates can interleave: a cache answers reads with the newest write, and a
 * write never clears the contact flag (only `delete` forgets a contact), or a passing identify
 * could demote a contact made a moment before and it would never be redialled.
 */
export class StorePeerAddressBook implements PeerAddressBook {
  readonly #ns: Namespace;
  readonly #cache = new Map<string, PeerRecord | null>();

  constructor(private readonly store: Store) {
    this.#ns = store.namespace(PEERS_NS);
  }

  async get(peerId: string): Promise<PeerRecord | undefined> {
    const cached = this.#cache.get(peerId);
    if (cached !== undefined) return cached ?? undefined;
    const bytes = await this.#ns.get(peerId);
    if (this.#cache.has(peerId)) return this.#cache.get(peerId) ?? undefined;
    const record = bytes === undefined ? undefined : toRecord(peerId, bytes);
    this.#cache.set(peerId, record ?? null);
    return record;
  }

  async list(): Promise<PeerRecord[]> {
    const out = new Map<string, PeerRecord>();
    for await (const [peerId, bytes] of this.#ns.entries())
      out.set(peerId, toRecord(peerId, bytes));
    for (const [peerId, r] of this.#cache) {
      if (r === null) out.delete(peerId);
      else out.set(peerId, r);
    }
    return [...out.values()];
  }

  async put(record: PeerRecord): Promise<void> {
    checkRecord(record);
    const previous = this.#cache.get(record.peerId);
    const merged: PeerRecord = {
      ...record,
      contact: record.contact || previous?.contact === true,
    };
    this.#cache.set(record.peerId, merged);
    const value = encode(storedPeerCodec, {
      version: STORED_FORMAT_VERSION,
      addrs: [...merged.addrs],
      lastSeenMs: BigInt(Math.max(0, Math.floor(merged.lastSeenMs))),
      contact: merged.contact,
    });
    await this.store.write((tx) => this.#ns.put(tx, record.peerId, value), { sync: false });
  }

  async delete(peerId: string): Promise<void> {
    this.#cache.set(peerId, null);
    await this.store.write((tx) => this.#ns.delete(tx, peerId), { sync: false });
  }
}

function toRecord(peerId: string, bytes: Uint8Array): PeerRecord {
  const v = decodeStored(storedPeerCodec, bytes, 'peer');
  return { peerId, addrs: v.addrs, lastSeenMs: Number(v.lastSeenMs), contact: v.contact };
}
