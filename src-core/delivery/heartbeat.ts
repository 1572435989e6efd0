/**
 * The leader's heartbeat, which is also its claim to a term: a member that takes over after a
 * silent leader publishes a heartbeat with the next term. Signed like the ordering record, with
 * its own label ("Parley Heartbeat"), so a heartbeat can never pass for a record.
 *
 * `head` names the sender's branch at its epoch: a hash of the epoch's confirmed transcript hash
 * (RFC 9420 §8.2), which covers every commit since the group began. Two members at the same epoch
 * number with different heads are on two branches of a fork; a heartbeat is how the two sides of
 * a healed partition first notice each other. It is computed from the group state alone, so a
 * member that restarted (and kept no delivery history) still names its branch correctly. The
 * transcript hash is hashed once more under our own label rather than sent as is, so the value
 * on the wire is used for nothing but this comparison.
 *
 * `sent_at` (the leader's clock, ms) makes every heartbeat's bytes new: gossipsub ids messages by
 * their content and drops a repeat for its 10-minute seen window, and Ed25519 signatures are
 * deterministic, so without it a leader's second heartbeat of an epoch and term never arrived and
 * followers of a quiet group elected a new leader every timeout. It is not checked: a replayed
 * heartbeat names a leader and term that were valid, which the election already tolerates.
 */
import { decode, encode, opaque, struct, uint32, uint64 } from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import type { GroupState } from '../mls/group/groupState.js';
import { DeliveryError } from './errors.js';
import { bytesEqual, verifySignedByLeaf } from './orderingRecord.js';

export const HEARTBEAT_LABEL = 'Parley Heartbeat';
const HEAD_LABEL = 'Parley Branch Head';

/** The branch head of a state's epoch (see the file comment). */
export function branchHead(state: GroupState): Uint8Array {
  return state.suite.refHash(HEAD_LABEL, state.groupContext.confirmedTranscriptHash);
}

/**
 * ```
 * struct {
 *     opaque group_id<V>;
 *     uint64 epoch;
 *     uint64 term;
 *     uint32 leader_leaf;
 *     opaque head<V>;       // RefHash("Parley Branch Head", confirmed_transcript_hash)
 *     uint64 sent_at;       // milliseconds on the leader's clock
 * } HeartbeatTBS;
 *
 * struct {
 *     HeartbeatTBS tbs;
 *     opaque signature<V>;  // SignWithLabel(leader leaf key, "Parley Heartbeat", tbs)
 * } Heartbeat;
 * ```
 */
export interface HeartbeatTBS {
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
  readonly term: bigint;
  readonly leaderLeaf: number;
  readonly head: Uint8Array;
  readonly sentAt: bigint;
}

export interface Heartbeat extends HeartbeatTBS {
  readonly signature: Uint8Array;
}

export const heartbeatTBSCodec: Codec<HeartbeatTBS> = struct<HeartbeatTBS>({
  groupId: opaque,
  epoch: uint64,
  term: uint64,
  leaderLeaf: uint32,
  head: opaque,
  sentAt: uint64,
});

export const heartbeatCodec: Codec<Heartbeat> = struct<Heartbeat>({
  groupId: opaque,
  epoch: uint64,
  term: uint64,
  leaderLeaf: uint32,
  head: opaque,
  sentAt: uint64,
  signature: opaque,
});

export function signHeartbeat(state: GroupState, term: bigint, sentAtMs: number): Heartbeat {
  const tbs: HeartbeatTBS = {
    groupId: state.groupId,
    epoch: state.epoch,
    term,
    leaderLeaf: state.ownLeaf,
    head: branchHead(state),
    sentAt: BigInt(Math.max(0, Math.floor(sentAtMs))),
  };
  const signature = state.suite.signWithLabel(
    state.signaturePrivateKey,
    HEARTBEAT_LABEL,
    encode(heartbeatTBSCodec, tbs),
  );
  return { ...tbs, signature };
}

/** Checks a heartbeat against a state of its epoch. Throws DeliveryError; changes nothing. */
/**
 * Whether `hb`, a heartbeat of another branch or epoch, was signed by the member at its leaf in
 * `state`'s tree (same signature key): a member of ours leads there. Leaf keys outlive epochs and
 * branches, so our current tree serves for any epoch the member still holds that leaf in.
 */
export function signedByMemberOf(state: GroupState, hb: Heartbeat): boolean {
  try {
    verifySignedByLeaf(
      state,
      hb.leaderLeaf,
      HEARTBEAT_LABEL,
      encode(heartbeatTBSCodec, hb),
      hb.signature,
    );
    return bytesEqual(hb.groupId, state.groupId);
  } catch {
    return false;
  }
}

export function verifyHeartbeat(state: GroupState, hb: Heartbeat): void {
  if (!bytesEqual(hb.groupId, state.groupId)) {
    throw new DeliveryError('wrong_group', 'heartbeat for another group');
  }
  if (hb.epoch !== state.epoch) {
    throw new DeliveryError('wrong_epoch', `heartbeat for epoch ${hb.epoch}, at ${state.epoch}`);
  }
  verifySignedByLeaf(
    state,
    hb.leaderLeaf,
    HEARTBEAT_LABEL,
    encode(heartbeatTBSCodec, hb),
    hb.signature,
  );
}

export function decodeHeartbeat(bytes: Uint8Array): Heartbeat {
  try {
    return decode(heartbeatCodec, bytes);
  } catch (cause) {
    throw new DeliveryError('decode_failed', 'heartbeat does not parse', { cause });
  }
}
