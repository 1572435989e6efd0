/**
 * The trust store: trust on first use (TOFU) for contacts, with no Authentication Service.
 *
 * - The first user key seen for a contact is pinned. Contacts are keyed by a stable contact id the
 *   app gives (it outlives a key change); each pinned key belongs to one contact only.
 * - States: `unverified` (pinned on first use), `verified` (the user compared the safety number
 *   or scanned the QR), `changed` (another key now claims the contact). A key change is never
 *   accepted silently: the claimed key waits beside the pinned one and items the caller receives
 *   from it (opaque bytes: messages, records) are held in a bounded queue until the user accepts
 *   the new key (then unverified, or verified only by a fresh check of the new key) or rejects it.
 * - A new key claiming a name a known contact already uses is reported (`name_collision`): the
 *   app shows both, so "Alice" with another key does not pass for the Alice the user knows.
 * - A contact caught equivocating (two records with one sequence number, recordBook.ts) is flagged.
 *
 * The store is in memory. `export()` / `TrustStore.import()` give a versioned TLS encoding the
 * storage layer encrypts and persists; importing bad bytes throws IdentityError and builds nothing.
 * Times are seconds since the Unix epoch (bigint), as in identity records.
 */
import {
  bool,
  encode,
  enumOf,
  optional,
  opaque,
  struct,
  uint16,
  uint64,
  uint8,
  vector,
} from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import { IdentityError } from './errors.js';
import {
  IDENTITY_FORMAT_VERSION,
  boundedString,
  decodeVersioned,
  ed25519PublicKey,
  equalBytes,
} from './format.js';
import { checkPublicKey } from './keys.js';
import { MAX_DISPLAY_NAME_BYTES } from './identityRecord.js';

export type TrustState = 'unverified' | 'verified' | 'changed';
export type VerificationMethod = 'safety_number' | 'qr';

export const MAX_CONTACT_ID_BYTES = 256;

export interface TrustStoreOptions {
  /** Items held per contact while its key change is undecided (default 256). */
  readonly maxHeldItems?: number;
  /** Bytes held per contact (default 4 MiB). */
  readonly maxHeldBytes?: number;
}

/** A contact as the app sees it (copies: changing them changes nothing in the store). */
export interface Contact {
  readonly id: string;
  readonly userKey: Uint8Array;
  readonly displayName: string;
  readonly state: TrustState;
  readonly pinnedAt: bigint;
  readonly verifiedBy: VerificationMethod | undefined;
  readonly verifiedAt: bigint | undefined;
  /** The key that claims the contact while `state` is `changed`. */
  readonly claimedKey: Uint8Array | undefined;
  readonly heldItems: number;
  /** Two records with one sequence number were seen under the pinned key. */
  readonly equivocation: boolean;
}

export type ObserveOutcome =
  | { readonly kind: 'pinned'; readonly contact: Contact }
  | { readonly kind: 'known'; readonly contact: Contact }
  /** Pinned (or renamed) under a name another contact with another key already uses. */
  | {
      readonly kind: 'name_collision';
      readonly contact: Contact;
      readonly collidesWith: readonly string[];
    }
  /** Another key claims the contact: nothing from it is trusted until the user decides. */
  | { readonly kind: 'key_changed'; readonly contact: Contact; readonly claimedKey: Uint8Array }
  /** The key is pinned for (or claims) another contact: nothing changed. */
  | { readonly kind: 'key_pinned_elsewhere'; readonly otherContact: string };

export type HoldOutcome =
  | { readonly kind: 'held'; readonly count: number }
  | { readonly kind: 'queue_full'; readonly count: number }
  /** The contact has no undecided key change (deliver or drop the item as usual). */
  | { readonly kind: 'not_changed'; readonly state: TrustState };

export type VerifyOutcome =
  | { readonly kind: 'verified'; readonly contact: Contact }
  /** The checked key was the claimed one: the change is accepted and the contact verified. */
  | {
      readonly kind: 'verified_new_key';
      readonly contact: Contact;
      readonly released: readonly Uint8Array[];
    }
  /** The out-of-band check was about a key the contact does not hold: nothing changed. */
  | { readonly kind: 'key_mismatch'; readonly contact: Contact };

interface Entry {
  id: string;
  userKey: Uint8Array;
  displayName: string;
  state: TrustState;
  /** What `reject` returns to. */
  stateBeforeChange: 'unverified' | 'verified';
  pinnedAt: bigint;
  verifiedBy: VerificationMethod | undefined;
  verifiedAt: bigint | undefined;
  claimedKey: Uint8Array | undefined;
  held: Uint8Array[];
  heldBytes: number;
  equivocation: boolean;
}

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/**
 * The form names are compared in: Unicode NFKC (full-width and compatibility forms fold), case
 * folded, invisible format characters removed, whitespace collapsed. Look-alike letters across
 * scripts (Cyrillic "а" and Latin "a") are not folded: that needs the Unicode confusables table.
 */
export function normalizeDisplayName(name: string): string {
  return name
    .normalize('NFKC')
    .replace(/\p{Cf}/gu, '')
    .toLowerCase()
    .replace(/\s+/gu, ' ')
    .trim();
}

export class TrustStore {
  private readonly byId = new Map<string, Entry>();
  /** Pinned and claimed keys (hex) -> contact id. */
  private readonly byKey = new Map<string, string>();
  private readonly maxHeldItems: number;
  private readonly maxHeldBytes: number;

  constructor(options: TrustStoreOptions = {}) {
    this.maxHeldItems = options.maxHeldItems ?? 256;
    this.maxHeldBytes = options.maxHeldBytes ?? 4 * 1024 * 1024;
    if (!(this.maxHeldItems >= 0 && this.maxHeldBytes >= 0)) {
      throw new IdentityError('invalid_argument', 'negative hold limits');
    }
  }

  /** The options this store was made with (to import an export into a like store). */
  get options(): Required<TrustStoreOptions> {
    return { maxHeldItems: this.maxHeldItems, maxHeldBytes: this.maxHeldBytes };
  }

  contact(id: string): Contact | undefined {
    const e = this.byId.get(id);
    return e === undefined ? undefined : view(e);
  }

  contacts(): Contact[] {
    return [...this.byId.values()].map(view);
  }

  /** The contact whose pinned key this is (not a merely claimed one). */
  contactByKey(userKey: Uint8Array): Contact | undefined {
    const id = this.byKey.get(hexOf(userKey));
    const e = id === undefined ? undefined : this.byId.get(id);
    return e !== undefined && equalBytes(e.userKey, userKey) ? view(e) : undefined;
  }

  /** Contacts with another key whose name compares equal to `displayName`. */
  nameCollisions(userKey: Uint8Array, displayName: string): string[] {
    const n = normalizeDisplayName(displayName);
    if (n === '') return [];
    const out: string[] = [];
    for (const e of this.byId.values()) {
      if (!equalBytes(e.userKey, userKey) && normalizeDisplayName(e.displayName) === n) {
        out.push(e.id);
      }
    }
    return out;
  }

  /**
   * A user key (with the display name its record or credential claims) was seen for a contact.
   * Pins on first use; reports a key change without accepting it. Throws 'invalid_key' for a key
   * that is not 32 bytes and 'invalid_argument' for a contact id or name out of bounds.
   */
  observe(
    contactId: string,
    userKey: Uint8Array,
    displayName: string,
    now: bigint,
  ): ObserveOutcome {
    checkPublicKey('user key', userKey);
    checkContactId(contactId);
    if (new TextEncoder().encode(displayName).length > MAX_DISPLAY_NAME_BYTES) {
      throw new IdentityError('invalid_argument', 'display name too long');
    }
    const owner = this.byKey.get(hexOf(userKey));
    if (owner !== undefined && owner !== contactId) {
      return { kind: 'key_pinned_elsewhere', otherContact: owner };
    }
    const e = this.byId.get(contactId);
    if (e === undefined) {
      const collidesWith = this.nameCollisions(userKey, displayName);
      const entry: Entry = {
        id: contactId,
        userKey: userKey.slice(),
        displayName,
        state: 'unverified',
        stateBeforeChange: 'unverified',
        pinnedAt: now,
        verifiedBy: undefined,
        verifiedAt: undefined,
        claimedKey: undefined,
        held: [],
        heldBytes: 0,
        equivocation: false,
      };
      this.byId.set(contactId, entry);
      this.byKey.set(hexOf(userKey), contactId);
      return collidesWith.length === 0
        ? { kind: 'pinned', contact: view(entry) }
        : { kind: 'name_collision', contact: view(entry), collidesWith };
    }
    if (equalBytes(e.userKey, userKey)) {
      if (e.displayName === displayName) return { kind: 'known', contact: view(e) };
      const collidesWith = this.nameCollisions(userKey, displayName);
      e.displayName = displayName;
      return collidesWith.length === 0
        ? { kind: 'known', contact: view(e) }
        : { kind: 'name_collision', contact: view(e), collidesWith };
    }
    // Another key claims this contact.
    if (e.state !== 'changed') {
      e.stateBeforeChange = e.state;
      e.state = 'changed';
    } else if (e.claimedKey !== undefined && !equalBytes(e.claimedKey, userKey)) {
      // A third key: the newest claim is the one the user decides on; what the previous claimed
      // key sent is dropped with it (it was never accepted).
      this.byKey.delete(hexOf(e.claimedKey));
      dropHeld(e);
    }
    e.claimedKey = userKey.slice();
    this.byKey.set(hexOf(userKey), contactId);
    return { kind: 'key_changed', contact: view(e), claimedKey: userKey.slice() };
  }

  /** Holds an item received from a contact's claimed key until the user decides. */
  hold(contactId: string, item: Uint8Array): HoldOutcome {
    const e = this.entry(contactId);
    if (e.state !== 'changed') return { kind: 'not_changed', state: e.state };
    if (e.held.length >= this.maxHeldItems || e.heldBytes + item.length > this.maxHeldBytes) {
      return { kind: 'queue_full', count: e.held.length };
    }
    e.held.push(item.slice());
    e.heldBytes += item.length;
    return { kind: 'held', count: e.held.length };
  }

  /**
   * The user accepts the claimed key: it becomes the pinned key, unverified (a verification of the
   * old key says nothing about the new one). Returns the held items, oldest first.
   */
  acceptNewKey(contactId: string): { contact: Contact; released: Uint8Array[] } {
    const e = this.changedEntry(contactId);
    this.byKey.delete(hexOf(e.userKey));
    e.userKey = e.claimedKey!;
    e.claimedKey = undefined;
    e.state = 'unverified';
    e.stateBeforeChange = 'unverified';
    e.verifiedBy = undefined;
    e.verifiedAt = undefined;
    // The flag was about the old key's records.
    e.equivocation = false;
    const released = e.held;
    e.held = [];
    e.heldBytes = 0;
    return { contact: view(e), released };
  }

  /** The user rejects the claimed key: the pinned key and its state stay; held items are dropped. */
  rejectNewKey(contactId: string): { contact: Contact; dropped: number } {
    const e = this.changedEntry(contactId);
    this.byKey.delete(hexOf(e.claimedKey!));
    e.claimedKey = undefined;
    e.state = e.stateBeforeChange;
    e.stateBeforeChange = 'unverified';
    const dropped = e.held.length;
    dropHeld(e);
    return { contact: view(e), dropped };
  }

  /**
   * Records a successful out-of-band check (safety number compared, or a QR scan that matched) of
   * `checkedKey` for the contact. A check of the claimed key accepts the change and verifies it in
   * one step; a check of any other key changes nothing.
   */
  markVerified(
    contactId: string,
    checkedKey: Uint8Array,
    method: VerificationMethod,
    now: bigint,
  ): VerifyOutcome {
    const e = this.entry(contactId);
    if (
      e.state === 'changed' &&
      e.claimedKey !== undefined &&
      equalBytes(e.claimedKey, checkedKey)
    ) {
      const { released } = this.acceptNewKey(contactId);
      setVerified(e, method, now);
      return { kind: 'verified_new_key', contact: view(e), released };
    }
    if (e.state === 'changed' || !equalBytes(e.userKey, checkedKey)) {
      return { kind: 'key_mismatch', contact: view(e) };
    }
    setVerified(e, method, now);
    return { kind: 'verified', contact: view(e) };
  }

  /** The user withdraws a verification. */
  markUnverified(contactId: string): Contact {
    const e = this.entry(contactId);
    if (e.state === 'verified') e.state = 'unverified';
    if (e.state === 'changed') e.stateBeforeChange = 'unverified';
    e.verifiedBy = undefined;
    e.verifiedAt = undefined;
    return view(e);
  }

  /** Flags the contact whose pinned key is `userKey` as equivocating; returns its id, if any. */
  flagEquivocation(userKey: Uint8Array): string | undefined {
    const id = this.byKey.get(hexOf(userKey));
    const e = id === undefined ? undefined : this.byId.get(id);
    if (e === undefined || !equalBytes(e.userKey, userKey)) return undefined;
    e.equivocation = true;
    return e.id;
  }

  /** Forgets a contact (and whatever it held). */
  remove(contactId: string): boolean {
    const e = this.byId.get(contactId);
    if (e === undefined) return false;
    this.byKey.delete(hexOf(e.userKey));
    if (e.claimedKey !== undefined) this.byKey.delete(hexOf(e.claimedKey));
    dropHeld(e);
    this.byId.delete(contactId);
    return true;
  }

  private entry(contactId: string): Entry {
    const e = this.byId.get(contactId);
    if (e === undefined) throw new IdentityError('unknown_user', 'no such contact');
    return e;
  }

  private changedEntry(contactId: string): Entry {
    const e = this.entry(contactId);
    if (e.state !== 'changed' || e.claimedKey === undefined) {
      throw new IdentityError('invalid_argument', 'the contact has no undecided key change');
    }
    return e;
  }

  /** The store's state as versioned bytes, for the storage layer to encrypt and keep. */
  export(): Uint8Array {
    return encodeEntries([...this.byId.values()]);
  }

  /**
   * A store from exported bytes. Throws IdentityError ('unsupported_version', 'malformed') for
   * bytes that do not parse or break an invariant (a contact or key twice, a claimed key without
   * the changed state, held items beyond the limits); nothing is built then.
   */
  static import(bytes: Uint8Array, options: TrustStoreOptions = {}): TrustStore {
    const store = new TrustStore(options);
    for (const e of decodeEntries(bytes, store.options)) {
      store.byId.set(e.id, e);
      store.byKey.set(hexOf(e.userKey), e.id);
      if (e.claimedKey !== undefined) store.byKey.set(hexOf(e.claimedKey), e.id);
    }
    return store;
  }
}

function checkContactId(id: string): void {
  const n = new TextEncoder().encode(id).length;
  if (n === 0 || n > MAX_CONTACT_ID_BYTES) {
    throw new IdentityError('invalid_argument', `contact id of ${n} bytes`);
  }
}

function setVerified(e: Entry, method: VerificationMethod, now: bigint): void {
  e.state = 'verified';
  e.verifiedBy = method;
  e.verifiedAt = now;
}

function dropHeld(e: Entry): void {
  for (const item of e.held) item.fill(0);
  e.held = [];
  e.heldBytes = 0;
}

function view(e: Entry): Contact {
  return {
    id: e.id,
    userKey: e.userKey.slice(),
    displayName: e.displayName,
    state: e.state,
    pinnedAt: e.pinnedAt,
    verifiedBy: e.verifiedBy,
    verifiedAt: e.verifiedAt,
    claimedKey: e.claimedKey?.slice(),
    heldItems: e.held.length,
    equivocation: e.equivocation,
  };
}

// ---- Persistence -------------------------------------------------------------------------------

const StateCode = { unverified: 1, verified: 2, changed: 3 } as const;
const MethodCode = { safety_number: 1, qr: 2 } as const;
const stateOf = ['', 'unverified', 'verified', 'changed'] as const;
const methodOf = ['', 'safety_number', 'qr'] as const;

/**
 * ```
 * enum { unverified(1), verified(2), changed(3), (255) } TrustState;
 * enum { safety_number(1), qr(2), (255) } VerificationMethod;
 *
 * struct {
 *     opaque contact_id<V>;                    // UTF-8, at most 256 bytes
 *     opaque user_key[32];                     // the pinned key
 *     opaque display_name<V>;                  // UTF-8, at most 128 bytes
 *     TrustState state;
 *     TrustState state_before_change;          // unverified or verified
 *     uint64 pinned_at;
 *     optional<VerificationMethod> verified_by;
 *     optional<uint64> verified_at;
 *     optional<opaque claimed_key[32]>;        // present iff state == changed
 *     opaque held<V><V>;                       // only while changed
 *     bool equivocation;
 * } TrustedContact;
 *
 * struct {
 *     uint16 version = 1;
 *     TrustedContact contacts<V>;
 * } TrustStoreState;
 * ```
 */
interface ContactWire {
  readonly contactId: string;
  readonly userKey: Uint8Array;
  readonly displayName: string;
  readonly state: 1 | 2 | 3;
  readonly stateBeforeChange: 1 | 2 | 3;
  readonly pinnedAt: bigint;
  readonly verifiedBy: 1 | 2 | undefined;
  readonly verifiedAt: bigint | undefined;
  readonly claimedKey: Uint8Array | undefined;
  readonly held: readonly Uint8Array[];
  readonly equivocation: boolean;
}

interface TrustStoreWire {
  readonly version: number;
  readonly contacts: readonly ContactWire[];
}

const stateCodec = enumOf<1 | 2 | 3>(uint8, [1, 2, 3], 'trust state');

const contactWireCodec: Codec<ContactWire> = struct<ContactWire>({
  contactId: boundedString(MAX_CONTACT_ID_BYTES, 'contact id'),
  userKey: ed25519PublicKey,
  displayName: boundedString(MAX_DISPLAY_NAME_BYTES, 'display name'),
  state: stateCodec,
  stateBeforeChange: stateCodec,
  pinnedAt: uint64,
  verifiedBy: optional(enumOf<1 | 2>(uint8, [1, 2], 'verification method')),
  verifiedAt: optional(uint64),
  claimedKey: optional(ed25519PublicKey),
  held: vector(opaque) as Codec<readonly Uint8Array[]>,
  equivocation: bool,
});

export const trustStoreCodec: Codec<TrustStoreWire> = struct<TrustStoreWire>({
  version: uint16,
  contacts: vector(contactWireCodec) as Codec<readonly ContactWire[]>,
});

function encodeEntries(entries: readonly Entry[]): Uint8Array {
  const contacts = entries.map((e): ContactWire => ({
    contactId: e.id,
    userKey: e.userKey,
    displayName: e.displayName,
    state: StateCode[e.state],
    stateBeforeChange: StateCode[e.stateBeforeChange],
    pinnedAt: e.pinnedAt,
    verifiedBy: e.verifiedBy === undefined ? undefined : MethodCode[e.verifiedBy],
    verifiedAt: e.verifiedAt,
    claimedKey: e.claimedKey,
    held: e.held,
    equivocation: e.equivocation,
  }));
  return encode(trustStoreCodec, { version: IDENTITY_FORMAT_VERSION, contacts });
}

function decodeEntries(bytes: Uint8Array, limits: Required<TrustStoreOptions>): Entry[] {
  const wire = decodeVersioned(trustStoreCodec, bytes, 'trust store');
  const ids = new Set<string>();
  const keys = new Set<string>();
  const out: Entry[] = [];
  const bad = (why: string): never => {
    throw new IdentityError('malformed', `trust store: ${why}`);
  };
  for (const c of wire.contacts) {
    if (c.contactId.length === 0) bad('empty contact id');
    if (ids.has(c.contactId)) bad('a contact is listed twice');
    ids.add(c.contactId);
    for (const k of c.claimedKey === undefined ? [c.userKey] : [c.userKey, c.claimedKey]) {
      if (keys.has(hexOf(k))) bad('a key belongs to two contacts');
      keys.add(hexOf(k));
    }
    const changed = c.state === StateCode.changed;
    if (changed !== (c.claimedKey !== undefined)) bad('claimed key and state disagree');
    if (c.stateBeforeChange === StateCode.changed) bad('state before a change is "changed"');
    if (!changed && c.stateBeforeChange !== StateCode.unverified) bad('stray state before change');
    if (!changed && c.held.length > 0) bad('held items without a key change');
    const heldBytes = c.held.reduce((n, h) => n + h.length, 0);
    if (c.held.length > limits.maxHeldItems || heldBytes > limits.maxHeldBytes) {
      bad('more held items than the limits allow');
    }
    const verified =
      c.state === StateCode.verified || (changed && c.stateBeforeChange === StateCode.verified);
    if (verified !== (c.verifiedBy !== undefined) || verified !== (c.verifiedAt !== undefined)) {
      bad('verification method and time disagree with the state');
    }
    out.push({
      id: c.contactId,
      userKey: c.userKey,
      displayName: c.displayName,
      state: stateOf[c.state],
      stateBeforeChange: c.stateBeforeChange === StateCode.verified ? 'verified' : 'unverified',
      pinnedAt: c.pinnedAt,
      verifiedBy: c.verifiedBy === undefined ? undefined : methodOf[c.verifiedBy],
      verifiedAt: c.verifiedAt,
      claimedKey: c.claimedKey,
      held: [...c.held],
      heldBytes,
      equivocation: c.equivocation,
    });
  }
  return out;
}
