/**
 * The sync protocol's wire format (body version 1, TLS presentation language): requests for
 * heads and pages, the answers, and their limits. What the fields mean and how they are checked
 * is in syncProtocol.ts.
 */
import type { Codec } from '../codec/index.js';
import {
  bool,
  constant,
  decode,
  encode,
  fixedBytes,
  opaque,
  optional,
  struct,
  uint32,
  uint64,
  uint8,
  variant,
  vector,
} from '../codec/index.js';
import type { GroupHead, LogCursor, NewLogEntry } from './ciphertextLog.js';
import { entryKindCodec } from './ciphertextLog.js';
import { DeliveryError } from './errors.js';

export const SYNC_PROTOCOL = 'sync';
export const SYNC_VERSION = 1;
/** Default and largest page a requester asks for (bytes of items, by `entryWireSize`). */
export const DEFAULT_PAGE_BYTES = 256 * 1024;
export const MAX_PAGE_BYTES = 1024 * 1024;
/** A single item may exceed the page size (it then travels alone): up to a gossip message. */
export const SINGLE_ITEM_SLACK = 260 * 1024;
/** Most groups one heads request may name. */
export const MAX_HEADS_GROUPS = 1024;
const MAX_GROUP_ID_BYTES = 256;

export const SyncType = { heads: 1, fetch: 2 } as const;
export type SyncType = (typeof SyncType)[keyof typeof SyncType];

/**
 * ```
 * struct { uint64 epoch; uint64 from_seq; bool commit_done; } SyncCursor;
 * ```
 */
const cursorCodec: Codec<LogCursor> = {
  encode(w, v) {
    uint64.encode(w, v.epoch);
    uint64.encode(w, BigInt(v.fromSeq));
    bool.encode(w, v.commitDone);
  },
  decode(r) {
    const epoch = uint64.decode(r);
    const fromSeq = uint64.decode(r);
    if (fromSeq > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new DeliveryError('sync_malformed', 'cursor seq out of range');
    }
    return { epoch, fromSeq: Number(fromSeq), commitDone: bool.decode(r) };
  },
};

const groupIdCodec: Codec<Uint8Array> = {
  encode: opaque.encode,
  decode(r) {
    const id = opaque.decode(r);
    if (id.byteLength === 0 || id.byteLength > MAX_GROUP_ID_BYTES) {
      throw new DeliveryError('sync_malformed', 'group id length');
    }
    return id;
  },
};

/**
 * ```
 * struct {
 *     opaque group_id<V>;
 *     optional<uint64> ordered_epoch;
 *     opaque record_hash[32];
 *     uint64 highest_epoch;
 * } SyncHead;
 * ```
 */
const headCodec: Codec<GroupHead> = struct<GroupHead>({
  groupId: groupIdCodec,
  orderedEpoch: optional(uint64),
  recordHash: fixedBytes(32),
  highestEpoch: uint64,
});

/**
 * ```
 * struct {
 *     uint8 version = 1;
 *     SyncType type;                  // heads(1), fetch(2)
 *     select (type) {
 *         case heads: opaque group_ids<V><V>; SyncHead ours<V>;  // ours: the asker's heads
 *         case fetch: opaque group_id<V>; SyncCursor cursor; uint32 max_bytes;
 *     };
 * } SyncRequest;
 * ```
 */
export type SyncRequest =
  | {
      readonly type: typeof SyncType.heads;
      readonly groupIds: Uint8Array[];
      /** The asker's own heads of those groups, so the answering side learns if it is behind. */
      readonly ours: GroupHead[];
    }
  | {
      readonly type: typeof SyncType.fetch;
      readonly groupId: Uint8Array;
      readonly cursor: LogCursor;
      readonly maxBytes: number;
    };

interface Versioned<T> {
  readonly version: number;
  readonly body: T;
}

function versioned<T>(inner: Codec<T>): Codec<Versioned<T>> {
  return struct<Versioned<T>>({
    version: constant(uint8, SYNC_VERSION, 'sync version'),
    body: inner,
  });
}

const syncRequestCodec = versioned<SyncRequest>(
  variant<SyncType, SyncRequest, 'type'>('type', uint8 as Codec<SyncType>, {
    [SyncType.heads]: struct({ groupIds: vector(groupIdCodec), ours: vector(headCodec) }),
    [SyncType.fetch]: struct({ groupId: groupIdCodec, cursor: cursorCodec, maxBytes: uint32 }),
  }),
);

/**
 * ```
 * struct {
 *     uint8 kind;                     // ContentType
 *     uint64 epoch;
 *     opaque message_id[32];          // SHA-256(message)
 *     opaque message<V>;              // MLSMessage
 *     optional<opaque> ordering_record<V>;
 * } SyncItem;
 * ```
 */
export interface SyncItem extends NewLogEntry {
  readonly messageId: Uint8Array;
}

const itemCodec: Codec<SyncItem> = struct<SyncItem>({
  kind: entryKindCodec,
  epoch: uint64,
  messageId: fixedBytes(32),
  message: opaque,
  orderingRecord: optional(opaque),
});

/**
 * ```
 * struct {
 *     uint8 version = 1;
 *     SyncType type;
 *     select (type) {
 *         case heads: SyncHead heads<V>;
 *         case fetch:
 *             opaque group_id<V>;
 *             SyncItem items<V>;
 *             optional<SyncCursor> next;     // absent: nothing further
 *             optional<uint64> floor_epoch;  // the lowest epoch the peer still holds
 *             optional<SyncHead> head;       // the peer's head of the group
 *     };
 * } SyncResponse;
 * ```
 */
export type SyncResponse =
  | { readonly type: typeof SyncType.heads; readonly heads: GroupHead[] }
  | {
      readonly type: typeof SyncType.fetch;
      readonly groupId: Uint8Array;
      readonly items: SyncItem[];
      readonly next: LogCursor | undefined;
      readonly floorEpoch: bigint | undefined;
      readonly head: GroupHead | undefined;
    };

const syncResponseCodec = versioned<SyncResponse>(
  variant<SyncType, SyncResponse, 'type'>('type', uint8 as Codec<SyncType>, {
    [SyncType.heads]: struct({ heads: vector(headCodec) }),
    [SyncType.fetch]: struct({
      groupId: groupIdCodec,
      items: vector(itemCodec),
      next: optional(cursorCodec),
      floorEpoch: optional(uint64),
      head: optional(headCodec),
    }),
  }),
);

function decodeOr<T>(codec: Codec<Versioned<T>>, bytes: Uint8Array, what: string): T {
  if (bytes.byteLength >= 1 && bytes[0] !== SYNC_VERSION) {
    throw new DeliveryError('sync_unsupported_version', `${what} version ${bytes[0]}`);
  }
  try {
    return decode(codec, bytes).body;
  } catch (cause) {
    throw new DeliveryError('sync_malformed', `${what} does not decode`, { cause });
  }
}

export function encodeSyncRequest(r: SyncRequest): Uint8Array {
  return encode(syncRequestCodec, { version: SYNC_VERSION, body: r });
}
export function encodeSyncResponse(r: SyncResponse): Uint8Array {
  return encode(syncResponseCodec, { version: SYNC_VERSION, body: r });
}
export function decodeSyncRequest(b: Uint8Array): SyncRequest {
  return decodeOr(syncRequestCodec, b, 'sync request');
}
export function decodeSyncResponse(b: Uint8Array): SyncResponse {
  return decodeOr(syncResponseCodec, b, 'sync response');
}
