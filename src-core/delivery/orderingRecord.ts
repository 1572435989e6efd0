/**
 * The sequencer's ordering record: the leader's signed statement that one commit won an epoch.
 * Members merge a commit only together with a record naming it (by hash), so every member of a
 * connected group adopts the same commit for each epoch.
 *
 * The record is signed with SignWithLabel (RFC 9420 §5.1.2) under the label
 * "Parley OrderingRecord" (MLS prefixes "MLS 1.0 "): the leader's leaf signature key signs it, and
 * no MLS structure is signed under that label, so a record can never be replayed as an MLS
 * signature or the other way round. It is verified against the leader's leaf in the tree of the
 * epoch it orders.
 */
import { decode, encode, opaque, struct, uint32, uint64 } from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import type { CipherSuite } from '../crypto/types.js';
import type { GroupState } from '../mls/group/groupState.js';
import { DeliveryError } from './errors.js';

export const ORDERING_RECORD_LABEL = 'Parley OrderingRecord';
/** RefHash label of a commit's MLSMessage bytes (§5.2), for the record's `commit_hash`. */
export const COMMIT_HASH_LABEL = 'Parley Commit';

/**
 * ```
 * struct {
 *     opaque group_id<V>;
 *     uint64 epoch;          // the epoch the commit was sent in (it starts epoch + 1)
 *     uint64 term;           // the leader's election term
 *     opaque commit_hash<V>; // RefHash("Parley Commit", commit MLSMessage)
 *     uint32 leader_leaf;
 *     uint32 reach;          // members the leader could reach when it ordered (fork rule)
 * } OrderingRecordTBS;
 *
 * struct {
 *     OrderingRecordTBS tbs;
 *     opaque signature<V>;   // SignWithLabel(leader leaf key, "Parley OrderingRecord", tbs)
 * } OrderingRecord;
 * ```
 */
export interface OrderingRecordTBS {
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
  readonly term: bigint;
  readonly commitHash: Uint8Array;
  readonly leaderLeaf: number;
  /**
   * How many members (ourselves included) the leader could reach on the group channel when it
   * ordered the commit: the fork rule's first criterion (forks.ts). The leader's word, as the
   * order itself is.
   */
  readonly reach: number;
}

export interface OrderingRecord extends OrderingRecordTBS {
  readonly signature: Uint8Array;
}

export const orderingRecordTBSCodec: Codec<OrderingRecordTBS> = struct<OrderingRecordTBS>({
  groupId: opaque,
  epoch: uint64,
  term: uint64,
  commitHash: opaque,
  leaderLeaf: uint32,
  reach: uint32,
});

export const orderingRecordCodec: Codec<OrderingRecord> = struct<OrderingRecord>({
  groupId: opaque,
  epoch: uint64,
  term: uint64,
  commitHash: opaque,
  leaderLeaf: uint32,
  reach: uint32,
  signature: opaque,
});

/** The hash a record names a commit by. */
export function commitHash(suite: CipherSuite, commitMessage: Uint8Array): Uint8Array {
  return suite.refHash(COMMIT_HASH_LABEL, commitMessage);
}

/** Signs a record as the current epoch's leader (our own leaf). */
export function signOrderingRecord(
  state: GroupState,
  fields: Omit<OrderingRecordTBS, 'groupId' | 'epoch' | 'leaderLeaf'>,
): OrderingRecord {
  const tbs: OrderingRecordTBS = {
    groupId: state.groupId,
    epoch: state.epoch,
    term: fields.term,
    commitHash: fields.commitHash,
    leaderLeaf: state.ownLeaf,
    reach: fields.reach,
  };
  const signature = state.suite.signWithLabel(
    state.signaturePrivateKey,
    ORDERING_RECORD_LABEL,
    encode(orderingRecordTBSCodec, tbs),
  );
  return { ...tbs, signature };
}

/**
 * Checks a record against a state of the epoch it orders: same group, same epoch, and signed by
 * the leaf it names. Whether that leaf may lead in that term is the election's question, not this
 * one's. Throws DeliveryError; never changes anything.
 */
export function verifyOrderingRecord(state: GroupState, record: OrderingRecord): void {
  if (!bytesEqual(record.groupId, state.groupId)) {
    throw new DeliveryError('wrong_group', 'ordering record for another group');
  }
  if (record.epoch !== state.epoch) {
    throw new DeliveryError(
      'wrong_epoch',
      `ordering record for epoch ${record.epoch}, state at ${state.epoch}`,
    );
  }
  verifySignedByLeaf(
    state,
    record.leaderLeaf,
    ORDERING_RECORD_LABEL,
    encode(orderingRecordTBSCodec, record),
    record.signature,
  );
}

/** Verifies a delivery signature made with a member's leaf signature key. */
export function verifySignedByLeaf(
  state: GroupState,
  leaf: number,
  label: string,
  tbs: Uint8Array,
  signature: Uint8Array,
): void {
  const node = leaf < state.tree.leafCount ? state.tree.leafNode(leaf) : undefined;
  if (node === undefined) throw new DeliveryError('unknown_signer', `leaf ${leaf} is not a member`);
  if (!state.suite.verifyWithLabel(node.signatureKey, label, tbs, signature)) {
    throw new DeliveryError('invalid_signature', `${label} not signed by leaf ${leaf}`);
  }
}

export function encodeOrderingRecord(record: OrderingRecord): Uint8Array {
  return encode(orderingRecordCodec, record);
}

export function decodeOrderingRecord(bytes: Uint8Array): OrderingRecord {
  try {
    return decode(orderingRecordCodec, bytes);
  } catch (cause) {
    throw new DeliveryError('decode_failed', 'ordering record does not parse', { cause });
  }
}

/** A commit hash as a map key. */
export function hashKey(hash: Uint8Array): string {
  let s = '';
  for (const b of hash) s += b.toString(16).padStart(2, '0');
  return s;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/** Bytewise order (for the fork rule's "lower commit hash"). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
