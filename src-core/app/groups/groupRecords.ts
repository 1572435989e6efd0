/**
 * What the groups, messages and attachments services keep in the profile's store besides the MLS
 * group states (store.groups): TLS-encoded, versioned, encrypted by the store like every value.
 *
 * | where                        | key                | value          |
 * | ---------------------------- | ------------------ | -------------- |
 * | namespace `group-meta`       | group id (hex)     | GroupMeta      |
 * | ordered log `msgs/<group>`   | arrival number     | StoredMessage  |
 * | namespace `message-index`    | `<group>/<msg id>` | uint64 seq     |
 * | ordered log `mlog/<group>`   | arrival number     | StoredLogEntry |
 */
import {
  bool,
  decode,
  encode,
  fixedBytes,
  optional,
  struct,
  uint16,
  uint32,
  uint64,
  uint8,
  utf8String,
  vector,
} from '../../codec/index.js';
import type { Codec } from '../../codec/index.js';
import type { MembershipChange } from '../api.js';
import type { AttachmentManifest } from '../content/index.js';
import { CONTENT_ID_BYTES, manifestCodec } from '../content/index.js';
import { AppError } from '../errors.js';

export const GROUP_META_NS = 'group-meta';
export const MESSAGE_INDEX_NS = 'message-index';
export const RECORDS_VERSION = 1;
export const messageLogName = (groupHex: string): string => `msgs/${groupHex}`;
export const membershipLogName = (groupHex: string): string => `mlog/${groupHex}`;

export const GroupStateCode = { active: 1, removed: 2, left: 3 } as const;
export type GroupStateName = keyof typeof GroupStateCode;

/**
 * ```
 * struct { uint64 term; uint32 leader_leaf; } GroupElection;
 * struct { uint16 version = 2; utf8 name<V>; uint8 state; uint64 created_at_ms;
 *          uint64 read_through;       // arrival number + 1 of the newest message read (0: none)
 *          uint64 sent_since_update; uint64 last_update_ms;
 *          uint64 epoch;              // the MLS epoch, kept for groups we are out of
 *          optional<GroupElection> election; } GroupMeta;
 * ```
 * Version 1 is the same without `election` (read as none; written as version 2 from then on).
 * `election` is the delivery session's term and leader, handed back at the next start so a
 * restarted member never claims a term that was already used (delivery README, "Not done here").
 */
export interface GroupMeta {
  name: string;
  state: GroupStateName;
  createdAtMs: number;
  readThrough: bigint;
  sentSinceUpdate: number;
  lastUpdateMs: number;
  epoch: number;
  /** The session's election state at the last save (none before version 2, or never saved). */
  election?: GroupElection | undefined;
}

export interface GroupElection {
  readonly term: bigint;
  readonly leader: number;
}

const GROUP_META_VERSION = 2;

interface GroupMetaWire {
  version: number;
  name: string;
  state: number;
  createdAtMs: bigint;
  readThrough: bigint;
  sentSinceUpdate: bigint;
  lastUpdateMs: bigint;
  epoch: bigint;
  election: GroupElection | undefined;
}

const groupMetaV1Fields = {
  version: uint16,
  name: utf8String,
  state: uint8,
  createdAtMs: uint64,
  readThrough: uint64,
  sentSinceUpdate: uint64,
  lastUpdateMs: uint64,
  epoch: uint64,
};
const groupMetaV1Codec: Codec<Omit<GroupMetaWire, 'election'>> =
  struct<Omit<GroupMetaWire, 'election'>>(groupMetaV1Fields);
const groupMetaCodec: Codec<GroupMetaWire> = struct<GroupMetaWire>({
  ...groupMetaV1Fields,
  election: optional(struct<GroupElection>({ term: uint64, leader: uint32 })),
});

export interface StoredReaction {
  readonly userId: string;
  readonly emoji: string;
}

export const DeliveryCode = { pending: 1, delivered: 2, failed: 3 } as const;
export type DeliveryName = keyof typeof DeliveryCode;

/**
 * ```
 * struct {
 *   uint16 version = 1; opaque message_id[16]; utf8 sender_user_id<V>; bool mine;
 *   uint64 sent_at_ms; uint64 received_at_ms; utf8 text<V>; optional<opaque[16]> reply_to;
 *   optional<uint64> edited_at_ms; bool deleted; StoredReaction reactions<V>;
 *   optional<AttachmentManifest> attachment; utf8 caption<V>; uint8 delivery;
 * } StoredMessage;
 * ```
 */
export interface StoredMessage {
  messageId: Uint8Array;
  senderUserId: string;
  mine: boolean;
  sentAtMs: number;
  receivedAtMs: number;
  text: string;
  replyTo: Uint8Array | undefined;
  editedAtMs: number | undefined;
  deleted: boolean;
  reactions: StoredReaction[];
  attachment: AttachmentManifest | undefined;
  delivery: DeliveryName;
}

interface StoredMessageWire {
  version: number;
  messageId: Uint8Array;
  senderUserId: string;
  mine: boolean;
  sentAtMs: bigint;
  receivedAtMs: bigint;
  text: string;
  replyTo: Uint8Array | undefined;
  editedAtMs: bigint | undefined;
  deleted: boolean;
  reactions: StoredReaction[];
  attachment: AttachmentManifest | undefined;
  delivery: number;
}

const storedMessageCodec: Codec<StoredMessageWire> = struct<StoredMessageWire>({
  version: uint16,
  messageId: fixedBytes(CONTENT_ID_BYTES),
  senderUserId: utf8String,
  mine: bool,
  sentAtMs: uint64,
  receivedAtMs: uint64,
  text: utf8String,
  replyTo: optional(fixedBytes(CONTENT_ID_BYTES)),
  editedAtMs: optional(uint64),
  deleted: bool,
  reactions: vector(struct<StoredReaction>({ userId: utf8String, emoji: utf8String })),
  attachment: optional(manifestCodec),
  delivery: uint8,
});

export const ChangeCode: Record<MembershipChange, number> = {
  created: 1,
  added: 2,
  removed: 3,
  left: 4,
  renamed: 5,
  role_changed: 6,
  keys_updated: 7,
  device_added: 8,
  device_removed: 9,
  policy_changed: 10,
};
const CHANGE_BY_CODE = new Map(Object.entries(ChangeCode).map(([k, v]) => [v, k]));

/**
 * ```
 * struct { uint16 version = 1; uint64 epoch; uint64 at_ms; uint8 change; utf8 actor<V>;
 *          optional<utf8> subject; optional<utf8> detail; } StoredLogEntry;
 * ```
 */
export interface StoredLogEntry {
  epoch: number;
  atMs: number;
  change: MembershipChange;
  actorUserId: string;
  subjectUserId: string | undefined;
  detail: string | undefined;
}

interface StoredLogWire {
  version: number;
  epoch: bigint;
  atMs: bigint;
  change: number;
  actorUserId: string;
  subjectUserId: string | undefined;
  detail: string | undefined;
}

const storedLogCodec: Codec<StoredLogWire> = struct<StoredLogWire>({
  version: uint16,
  epoch: uint64,
  atMs: uint64,
  change: uint8,
  actorUserId: utf8String,
  subjectUserId: optional(utf8String),
  detail: optional(utf8String),
});

/** A stored value that does not decode is damage: an AppError, never a silent reset. */
function decodeStored<T extends { version: number }>(
  c: Codec<T>,
  b: Uint8Array,
  what: string,
  version: number = RECORDS_VERSION,
): T {
  let v: T;
  try {
    v = decode(c, b);
  } catch (cause) {
    throw new AppError('internal', `a stored ${what} is malformed`, { cause });
  }
  if (v.version !== version) {
    throw new AppError('internal', `a stored ${what} has version ${v.version}`);
  }
  return v;
}

const big = (n: number): bigint => BigInt(Math.max(0, Math.floor(n)));
const STATE_BY_CODE = new Map<number, string>(
  Object.entries(GroupStateCode).map(([k, v]) => [v, k]),
);
const DELIVERY_BY_CODE = new Map<number, string>(
  Object.entries(DeliveryCode).map(([k, v]) => [v, k]),
);

export function encodeGroupMeta(m: GroupMeta): Uint8Array {
  return encode(groupMetaCodec, {
    version: GROUP_META_VERSION,
    name: m.name,
    state: GroupStateCode[m.state],
    createdAtMs: big(m.createdAtMs),
    readThrough: m.readThrough,
    sentSinceUpdate: big(m.sentSinceUpdate),
    lastUpdateMs: big(m.lastUpdateMs),
    epoch: big(m.epoch),
    election: m.election,
  });
}

/** The version a stored record starts with (its first two bytes), if it has them. */
function versionOf(b: Uint8Array): number | undefined {
  return b.length < 2 ? undefined : (b[0]! << 8) | b[1]!;
}

export function decodeGroupMeta(b: Uint8Array): GroupMeta {
  let w: GroupMetaWire;
  if (versionOf(b) === RECORDS_VERSION) {
    w = { ...decodeStored(groupMetaV1Codec, b, 'group'), election: undefined };
  } else {
    w = decodeStored(groupMetaCodec, b, 'group', GROUP_META_VERSION);
  }
  const state = STATE_BY_CODE.get(w.state) as GroupStateName | undefined;
  if (state === undefined) throw new AppError('internal', 'a stored group has an unknown state');
  return {
    name: w.name,
    state,
    createdAtMs: Number(w.createdAtMs),
    readThrough: w.readThrough,
    sentSinceUpdate: Number(w.sentSinceUpdate),
    lastUpdateMs: Number(w.lastUpdateMs),
    epoch: Number(w.epoch),
    election: w.election,
  };
}

export function encodeStoredMessage(m: StoredMessage): Uint8Array {
  return encode(storedMessageCodec, {
    version: RECORDS_VERSION,
    ...m,
    sentAtMs: big(m.sentAtMs),
    receivedAtMs: big(m.receivedAtMs),
    editedAtMs: m.editedAtMs === undefined ? undefined : big(m.editedAtMs),
    delivery: DeliveryCode[m.delivery],
  });
}

export function decodeStoredMessage(b: Uint8Array): StoredMessage {
  const w = decodeStored(storedMessageCodec, b, 'message');
  const delivery = DELIVERY_BY_CODE.get(w.delivery) as DeliveryName | undefined;
  if (delivery === undefined) throw new AppError('internal', 'a stored message has a bad state');
  return {
    messageId: w.messageId,
    senderUserId: w.senderUserId,
    mine: w.mine,
    sentAtMs: Number(w.sentAtMs),
    receivedAtMs: Number(w.receivedAtMs),
    text: w.text,
    replyTo: w.replyTo,
    editedAtMs: w.editedAtMs === undefined ? undefined : Number(w.editedAtMs),
    deleted: w.deleted,
    reactions: w.reactions,
    attachment: w.attachment,
    delivery,
  };
}

export function encodeLogEntry(e: StoredLogEntry): Uint8Array {
  return encode(storedLogCodec, {
    version: RECORDS_VERSION,
    epoch: big(e.epoch),
    atMs: big(e.atMs),
    change: ChangeCode[e.change],
    actorUserId: e.actorUserId,
    subjectUserId: e.subjectUserId,
    detail: e.detail,
  });
}

export function decodeLogEntry(b: Uint8Array): StoredLogEntry {
  const w = decodeStored(storedLogCodec, b, 'membership entry');
  const change = CHANGE_BY_CODE.get(w.change) as MembershipChange | undefined;
  if (change === undefined) throw new AppError('internal', 'a stored membership entry is bad');
  return {
    epoch: Number(w.epoch),
    atMs: Number(w.atMs),
    change,
    actorUserId: w.actorUserId,
    subjectUserId: w.subjectUserId,
    detail: w.detail,
  };
}

export function encodeSeq(seq: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, seq);
  return b;
}

export function decodeSeq(b: Uint8Array): bigint {
  if (b.length !== 8) throw new AppError('internal', 'a stored message index is malformed');
  return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0);
}

export const ATTACHMENTS_NS = 'attachments';

/** `struct { uint16 version = 1; utf8 group<V>; AttachmentManifest manifest; } StoredAttachment;` */
export interface StoredAttachment {
  readonly groupHex: string;
  readonly manifest: AttachmentManifest;
}

const storedAttachmentCodec: Codec<StoredAttachment & { version: number }> = struct({
  version: uint16,
  groupHex: utf8String,
  manifest: manifestCodec,
});

export function encodeStoredAttachment(a: StoredAttachment): Uint8Array {
  return encode(storedAttachmentCodec, { version: RECORDS_VERSION, ...a });
}

export function decodeStoredAttachment(b: Uint8Array): StoredAttachment {
  const w = decodeStored(storedAttachmentCodec, b, 'attachment');
  return { groupHex: w.groupHex, manifest: w.manifest };
}
