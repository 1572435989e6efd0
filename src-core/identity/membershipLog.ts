/**
 * The membership log of one group: every add, remove, device change, key change, policy change
 * and reinit, with who committed it, in which epoch and when, for the user to read (the
 * architecture asks that every membership change be shown; with no Authentication Service the
 * user is the one who notices a member that should not be there).
 *
 * Entries are derived from a commit before it is merged (`membershipChanges(group, pending)`):
 * the pending commit knows the new tree, the group still holds the old one.
 *
 * - add: a leaf added by an Add proposal, or the joiner of an external commit.
 * - remove: a leaf removed (named as the old tree showed it).
 * - device_change: a leaf's credential now names another device (or another user: the app's
 *   credential validator should have refused that; the log shows it all the same).
 * - key_change: a leaf's signature key changed, same device. A new encryption key alone (every
 *   commit with a path) says nothing about identity and is not logged.
 * - policy_change: GroupContextExtensions changed (extension types added, removed, changed).
 * - reinit: the group is being reinitialized (new version or cipher suite).
 *
 * Members are named by leaf index and, for Parley credentials, the user key fingerprint and
 * device key. The credentials were validated by the group's credential hook when the commit was
 * processed; here they are only read.
 *
 * The log holds at most `capacity` entries (oldest dropped first; each entry keeps its sequence
 * number, so a reader sees the gap) and is read in pages. `export`/`MembershipLog.import` give a
 * versioned encoding for the storage layer.
 */
import {
  CodecError,
  encode,
  fixedBytes,
  opaque,
  optional,
  struct,
  uint16,
  uint32,
  uint64,
  uint8,
  vector,
} from '../codec/index.js';
import type { Codec, Reader, Writer } from '../codec/index.js';
import type { Group, PendingCommit } from '../mls/client/index.js';
import type { Credential } from '../mls/credential.js';
import { credentialCodec } from '../mls/credential.js';
import type { Extension } from '../mls/extension.js';
import { SenderType } from '../mls/framing/sender.js';
import { IdentityError } from './errors.js';
import {
  IDENTITY_FORMAT_VERSION,
  decodeVersioned,
  ed25519PublicKey,
  equalBytes,
} from './format.js';
import { parseParleyCredential } from './parleyCredential.js';
import { userKeyFingerprint } from './safetyNumber.js';

/** Who a member is, as far as its credential tells. */
export interface MemberRef {
  readonly leafIndex: number;
  /** `userKeyFingerprint` of the user key, for a Parley credential. */
  readonly userFingerprint: Uint8Array | undefined;
  readonly deviceKey: Uint8Array | undefined;
}

export type MembershipActor =
  | { readonly kind: 'member'; readonly member: MemberRef }
  /** An external commit: the joiner committed its own addition. */
  | { readonly kind: 'new_member'; readonly member: MemberRef };

export type MembershipChange =
  | { readonly kind: 'add'; readonly member: MemberRef }
  | { readonly kind: 'remove'; readonly member: MemberRef }
  | { readonly kind: 'device_change'; readonly from: MemberRef; readonly to: MemberRef }
  | { readonly kind: 'key_change'; readonly member: MemberRef }
  | {
      readonly kind: 'policy_change';
      readonly added: readonly number[];
      readonly removed: readonly number[];
      readonly changed: readonly number[];
    }
  | { readonly kind: 'reinit'; readonly version: number; readonly cipherSuite: number };

export interface MembershipEntry {
  /** Position in the log, from 0; never reused. */
  readonly seq: bigint;
  /** The epoch the commit started. */
  readonly epoch: bigint;
  /** Seconds since the Unix epoch, as the caller's clock said when it recorded the commit. */
  readonly time: bigint;
  readonly actor: MembershipActor;
  readonly change: MembershipChange;
}

/** The user and device a credential names, or undefined when it is not one this app reads. */
export type MemberIdentityResolver = (
  credential: Credential,
) => { readonly userKey: Uint8Array; readonly deviceKey: Uint8Array } | undefined;

/** Reads the Parley identity in a BasicCredential (no chain check: the group's hook did that). */
export const parleyMemberIdentity: MemberIdentityResolver = (credential) => {
  try {
    const id = parseParleyCredential(credential);
    return { userKey: id.userKey, deviceKey: id.deviceCertificate.deviceKey };
  } catch (e) {
    if (e instanceof IdentityError) return undefined;
    throw e;
  }
};

interface LeafView {
  readonly credential: Credential;
  readonly signatureKey: Uint8Array;
}

function refOf(leafIndex: number, leaf: LeafView, resolve: MemberIdentityResolver): MemberRef {
  const id = resolve(leaf.credential);
  return {
    leafIndex,
    userFingerprint: id === undefined ? undefined : userKeyFingerprint(id.userKey),
    deviceKey: id === undefined ? undefined : id.deviceKey.slice(),
  };
}

function sameCredential(a: Credential, b: Credential): boolean {
  return equalBytes(encode(credentialCodec, a), encode(credentialCodec, b));
}

/** How a replaced leaf changed, or undefined when only its encryption key did. */
function leafChange(
  leafIndex: number,
  before: LeafView,
  after: LeafView,
  resolve: MemberIdentityResolver,
): MembershipChange | undefined {
  const credentialSame = sameCredential(before.credential, after.credential);
  const keySame = equalBytes(before.signatureKey, after.signatureKey);
  if (credentialSame && keySame) return undefined;
  const from = refOf(leafIndex, before, resolve);
  const to = refOf(leafIndex, after, resolve);
  const sameDevice =
    from.deviceKey !== undefined && to.deviceKey !== undefined
      ? equalBytes(from.userFingerprint!, to.userFingerprint!) &&
        equalBytes(from.deviceKey, to.deviceKey)
      : credentialSame;
  return sameDevice ? { kind: 'key_change', member: to } : { kind: 'device_change', from, to };
}

function policyChange(
  before: readonly Extension[],
  after: readonly Extension[],
): MembershipChange | undefined {
  const old = new Map(before.map((e) => [e.extensionType, e.extensionData]));
  const now = new Map(after.map((e) => [e.extensionType, e.extensionData]));
  const added = [...now.keys()].filter((t) => !old.has(t)).sort((a, b) => a - b);
  const removed = [...old.keys()].filter((t) => !now.has(t)).sort((a, b) => a - b);
  const changed = [...now.keys()]
    .filter((t) => old.has(t) && !equalBytes(old.get(t)!, now.get(t)!))
    .sort((a, b) => a - b);
  if (added.length + removed.length + changed.length === 0) return undefined;
  return { kind: 'policy_change', added, removed, changed };
}

/**
 * The membership changes a pending commit of `group` makes, in RFC 9420 §12.3 order (extensions,
 * updates, removes, adds), and who committed it. Call it before `group.merge(pending)`.
 */
export function membershipChanges(
  group: Group,
  pending: PendingCommit,
  resolve: MemberIdentityResolver = parleyMemberIdentity,
): { actor: MembershipActor; changes: MembershipChange[] } {
  const tree = group.state.tree;
  const oldLeaf = (i: number): LeafView | undefined =>
    i < tree.leafCount ? tree.leafNode(i) : undefined;
  const changes: MembershipChange[] = [];

  const policy = policyChange(group.state.groupContext.extensions, pending.groupContextExtensions);
  if (policy !== undefined) changes.push(policy);

  const committer = pending.committer;
  const replaced = new Set(pending.updated);
  if (committer.senderType === SenderType.member) replaced.add(committer.leafIndex);
  const removed = new Set(pending.removed);
  for (const i of [...replaced].sort((a, b) => a - b)) {
    const before = oldLeaf(i);
    const after = pending.memberAfter(i);
    if (before === undefined || after === undefined || removed.has(i)) continue;
    const c = leafChange(i, before, after, resolve);
    if (c !== undefined) changes.push(c);
  }

  for (const i of pending.removed) {
    const before = oldLeaf(i);
    if (before !== undefined) changes.push({ kind: 'remove', member: refOf(i, before, resolve) });
  }
  const added = new Set<number>();
  for (const m of pending.added) {
    added.add(m.leafIndex);
    changes.push({ kind: 'add', member: refOf(m.leafIndex, m, resolve) });
  }

  let actor: MembershipActor;
  if (committer.senderType === SenderType.member) {
    const leaf = oldLeaf(committer.leafIndex);
    if (leaf === undefined) throw new IdentityError('invalid_argument', 'committer leaf is blank');
    actor = { kind: 'member', member: refOf(committer.leafIndex, leaf, resolve) };
  } else {
    // External commit (§12.4.3.2): the joiner's leaf is the one that is new in the new tree and
    // not an Add. Finding it walks the leaves once; external joins are rare.
    let joiner: MemberRef | undefined;
    for (let i = 0; i < pending.leafCountAfter && joiner === undefined; i++) {
      const after = pending.memberAfter(i);
      if (after !== undefined && !added.has(i) && (oldLeaf(i) === undefined || removed.has(i))) {
        joiner = refOf(i, after, resolve);
      }
    }
    if (joiner === undefined) throw new IdentityError('invalid_argument', 'no joiner leaf found');
    changes.push({ kind: 'add', member: joiner });
    actor = { kind: 'new_member', member: joiner };
  }

  if (pending.reInit !== undefined) {
    changes.push({
      kind: 'reinit',
      version: pending.reInit.version,
      cipherSuite: pending.reInit.cipherSuite,
    });
  }
  return { actor, changes };
}

// ---- The log -----------------------------------------------------------------------------------

export const DEFAULT_LOG_CAPACITY = 10_000;
export const MAX_LOG_CAPACITY = 1_000_000;
export const MAX_PAGE = 1000;

export interface MembershipPage {
  readonly entries: readonly MembershipEntry[];
  /** Where the next page starts, or undefined at the end of the log. */
  readonly next: bigint | undefined;
}

export class MembershipLog {
  private entries: MembershipEntry[] = [];
  private nextSeqValue = 0n;

  constructor(
    readonly groupId: Uint8Array,
    readonly capacity: number = DEFAULT_LOG_CAPACITY,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_LOG_CAPACITY) {
      throw new IdentityError('invalid_argument', `log capacity ${capacity}`);
    }
  }

  /** The sequence number the next entry gets. */
  get nextSeq(): bigint {
    return this.nextSeqValue;
  }

  /** The oldest sequence number still held (equal to nextSeq when the log is empty). */
  get firstSeq(): bigint {
    return this.entries[0]?.seq ?? this.nextSeqValue;
  }

  get size(): number {
    return this.entries.length;
  }

  /** Appends one commit's changes; returns the entries made. */
  append(
    epoch: bigint,
    time: bigint,
    actor: MembershipActor,
    changes: readonly MembershipChange[],
  ): MembershipEntry[] {
    const last = this.entries[this.entries.length - 1];
    if (last !== undefined && epoch < last.epoch) {
      throw new IdentityError('membership_conflict', `epoch ${epoch} after epoch ${last.epoch}`);
    }
    const made = changes.map((change) => ({
      seq: this.nextSeqValue++,
      epoch,
      time,
      actor,
      change,
    }));
    this.entries.push(...made);
    if (this.entries.length > this.capacity) {
      this.entries.splice(0, this.entries.length - this.capacity);
    }
    return made;
  }

  /** Derives and appends a pending commit's changes (call before merging it). */
  record(
    group: Group,
    pending: PendingCommit,
    time: bigint,
    resolve: MemberIdentityResolver = parleyMemberIdentity,
  ): MembershipEntry[] {
    if (!equalBytes(group.groupId, this.groupId)) {
      throw new IdentityError('invalid_argument', 'the commit is for another group');
    }
    const { actor, changes } = membershipChanges(group, pending, resolve);
    return this.append(pending.epoch, time, actor, changes);
  }

  /** Up to `limit` entries from sequence number `from` (oldest held when it was dropped). */
  read(from: bigint = this.firstSeq, limit: number = 100): MembershipPage {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
      throw new IdentityError('invalid_argument', `page of ${limit}`);
    }
    const start = from < this.firstSeq ? 0 : Number(from - this.firstSeq);
    const entries = this.entries.slice(start, start + limit);
    const end = start + entries.length;
    return { entries, next: end < this.entries.length ? this.firstSeq + BigInt(end) : undefined };
  }

  /** The newest `limit` entries, newest first (what a "recent changes" view shows). */
  latest(limit: number = 20): MembershipEntry[] {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
      throw new IdentityError('invalid_argument', `page of ${limit}`);
    }
    return this.entries.slice(-limit).reverse();
  }

  export(): Uint8Array {
    return encode(membershipLogCodec, {
      version: IDENTITY_FORMAT_VERSION,
      groupId: this.groupId,
      capacity: this.capacity,
      nextSeq: this.nextSeqValue,
      entries: this.entries,
    });
  }

  /**
   * A log from exported bytes. Throws IdentityError ('unsupported_version', 'malformed') for bytes
   * that do not parse, hold more entries than the capacity, or whose sequence numbers or epochs
   * are out of order.
   */
  static import(bytes: Uint8Array): MembershipLog {
    const wire = decodeVersioned(membershipLogCodec, bytes, 'membership log');
    const bad = (why: string): never => {
      throw new IdentityError('malformed', `membership log: ${why}`);
    };
    if (wire.capacity < 1 || wire.capacity > MAX_LOG_CAPACITY) bad(`capacity ${wire.capacity}`);
    if (wire.entries.length > wire.capacity) bad('more entries than the capacity');
    const first = wire.nextSeq - BigInt(wire.entries.length);
    if (first < 0n) bad('sequence numbers below zero');
    wire.entries.forEach((e, k) => {
      if (e.seq !== first + BigInt(k)) bad('sequence numbers not consecutive');
      if (k > 0 && e.epoch < wire.entries[k - 1]!.epoch) bad('epochs out of order');
    });
    const log = new MembershipLog(wire.groupId, wire.capacity);
    log.entries = [...wire.entries];
    log.nextSeqValue = wire.nextSeq;
    return log;
  }
}

// ---- Encoding ----------------------------------------------------------------------------------

/**
 * ```
 * struct {
 *     uint32 leaf_index;
 *     optional<opaque user_fingerprint[32]>;
 *     optional<opaque device_key[32]>;
 * } MemberRef;
 *
 * enum { member(1), new_member(2), (255) } ActorType;
 * struct { ActorType actor_type; MemberRef member; } MembershipActor;
 *
 * enum {
 *     add(1), remove(2), device_change(3), key_change(4), policy_change(5), reinit(6), (255)
 * } MembershipChangeType;
 *
 * struct {
 *     MembershipChangeType change_type;
 *     select (change_type) {
 *         case add: case remove: case key_change:
 *             MemberRef member;
 *         case device_change:
 *             MemberRef from; MemberRef to;
 *         case policy_change:
 *             uint16 added<V>; uint16 removed<V>; uint16 changed<V>;   // extension types
 *         case reinit:
 *             uint16 version; uint16 cipher_suite;
 *     };
 * } MembershipChange;
 *
 * struct {
 *     uint64 seq;
 *     uint64 epoch;
 *     uint64 time;
 *     MembershipActor actor;
 *     MembershipChange change;
 * } MembershipEntry;
 *
 * struct {
 *     uint16 version = 1;
 *     opaque group_id<V>;
 *     uint32 capacity;
 *     uint64 next_seq;
 *     MembershipEntry entries<V>;     // oldest first, seq consecutive, ending at next_seq - 1
 * } MembershipLogState;
 * ```
 */
export const memberRefCodec: Codec<MemberRef> = struct<MemberRef>({
  leafIndex: uint32,
  userFingerprint: optional(fixedBytes(32)),
  deviceKey: optional(ed25519PublicKey),
});

const ActorCode = { member: 1, new_member: 2 } as const;

const actorCodec: Codec<MembershipActor> = {
  encode(w: Writer, a: MembershipActor): void {
    uint8.encode(w, ActorCode[a.kind]);
    memberRefCodec.encode(w, a.member);
  },
  decode(r: Reader): MembershipActor {
    const t = uint8.decode(r);
    const member = memberRefCodec.decode(r);
    if (t === ActorCode.member) return { kind: 'member', member };
    if (t === ActorCode.new_member) return { kind: 'new_member', member };
    throw new CodecError('invalid_value', `unknown actor type ${t}`);
  },
};

const ChangeCode = {
  add: 1,
  remove: 2,
  device_change: 3,
  key_change: 4,
  policy_change: 5,
  reinit: 6,
} as const;

const typesCodec = vector(uint16) as Codec<readonly number[]>;

export const membershipChangeCodec: Codec<MembershipChange> = {
  encode(w: Writer, c: MembershipChange): void {
    uint8.encode(w, ChangeCode[c.kind]);
    switch (c.kind) {
      case 'add':
      case 'remove':
      case 'key_change':
        memberRefCodec.encode(w, c.member);
        return;
      case 'device_change':
        memberRefCodec.encode(w, c.from);
        memberRefCodec.encode(w, c.to);
        return;
      case 'policy_change':
        typesCodec.encode(w, c.added);
        typesCodec.encode(w, c.removed);
        typesCodec.encode(w, c.changed);
        return;
      case 'reinit':
        uint16.encode(w, c.version);
        uint16.encode(w, c.cipherSuite);
    }
  },
  decode(r: Reader): MembershipChange {
    const t = uint8.decode(r);
    switch (t) {
      case ChangeCode.add:
        return { kind: 'add', member: memberRefCodec.decode(r) };
      case ChangeCode.remove:
        return { kind: 'remove', member: memberRefCodec.decode(r) };
      case ChangeCode.key_change:
        return { kind: 'key_change', member: memberRefCodec.decode(r) };
      case ChangeCode.device_change: {
        const from = memberRefCodec.decode(r);
        return { kind: 'device_change', from, to: memberRefCodec.decode(r) };
      }
      case ChangeCode.policy_change: {
        const added = typesCodec.decode(r);
        const removed = typesCodec.decode(r);
        return { kind: 'policy_change', added, removed, changed: typesCodec.decode(r) };
      }
      case ChangeCode.reinit: {
        const version = uint16.decode(r);
        return { kind: 'reinit', version, cipherSuite: uint16.decode(r) };
      }
      default:
        throw new CodecError('invalid_value', `unknown membership change type ${t}`);
    }
  },
};

export const membershipEntryCodec: Codec<MembershipEntry> = struct<MembershipEntry>({
  seq: uint64,
  epoch: uint64,
  time: uint64,
  actor: actorCodec,
  change: membershipChangeCodec,
});

interface MembershipLogWire {
  readonly version: number;
  readonly groupId: Uint8Array;
  readonly capacity: number;
  readonly nextSeq: bigint;
  readonly entries: readonly MembershipEntry[];
}

const membershipLogCodec: Codec<MembershipLogWire> = struct<MembershipLogWire>({
  version: uint16,
  groupId: opaque,
  capacity: uint32,
  nextSeq: uint64,
  entries: vector(membershipEntryCodec) as Codec<readonly MembershipEntry[]>,
});
