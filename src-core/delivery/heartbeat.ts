/**
 * The leader's heartbeat, which is also its claim to a term: a member that takes over after a
 * silent leader publishes a heartbeat with the next term. Signed like the ordering record, with
 * its own label ("Parley Heartbeat"), so a heartbeat can never pass for a record.
 *
 * `head` names the sender's branch: the hash of the commit that started its epoch. Two members at
 * the same epoch number with different heads are on two branches of a fork; a heartbeat is how
 * the two sides of a healed partition first notice each other.
 */
import { decode, encode, opaque, struct, uint32, uint64 } from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import type { GroupState } from '../mls/group/groupState.js';
import { DeliveryError } from './errors.js';
import { bytesEqual, verifySignedByLeaf } from './orderingRecord.js';

export const HEARTBEAT_LABEL = 'Parley Heartbeat';

/**
 * ```
 * struct {
 *     opaque group_id<V>;
 *     uint64 epoch;
 *     uint64 term;
 *     uint32 leader_leaf;
 *     opaque head<V>;       // commit hash that started `epoch` on the sender's branch, or empty
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
});

export const heartbeatCodec: Codec<Heartbeat> = struct<Heartbeat>({
  groupId: opaque,
  epoch: uint64,
  term: uint64,
  leaderLeaf: uint32,
  head: opaque,
  signature: opaque,
});

export function signHeartbeat(state: GroupState, term: bigint, head: Uint8Array): Heartbeat {
  const tbs: HeartbeatTBS = {
    groupId: state.groupId,
    epoch: state.epoch,
    term,
    leaderLeaf: state.ownLeaf,
    head,
  };
  const signature = state.suite.signWithLabel(
    state.signaturePrivateKey,
    HEARTBEAT_LABEL,
    encode(heartbeatTBSCodec, tbs),
  );
  return { ...tbs, signature };
}

/** Checks a heartbeat against a state of its epoch. Throws DeliveryError; changes nothing. */
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
