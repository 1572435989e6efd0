/**
 * Reading the current state back, and snapshots (fork points) written beside it.
 *
 * A snapshot is a state kept after a merge (`merge({ keepPrevious: true })`) so that the group can
 * roll back to it if its branch loses. It is stored relative to the current state: its tree as
 * the nodes that differ from the current tree, its receivers by reference where the current
 * state holds them too, in full otherwise. So after one commit a snapshot costs its own small
 * `state` record and a tree delta of O(log n) nodes.
 *
 * Because it is relative, a snapshot's records must be rewritten (`encodeSnapshot`, replacing
 * everything under `snapshotPrefix`) in the same batch as each change of the current state that
 * moves it to another epoch.
 */
import { MlsError } from '../errors.js';
import type { EpochReceiver } from '../group/epochReceiver.js';
import type { GroupState } from '../group/groupState.js';
import { bucketRecords } from './buckets.js';
import type { DecodeOptions } from './decode.js';
import { buildState, readStateRecord, treeFromDeltaRecord, treeFromNodeRecords } from './decode.js';
import type { GroupStateRecords } from './encode.js';
import { proposalRecord, putReceiver, stateRecordOf, treeBaseAt } from './encode.js';
import type { EpochId } from './keys.js';
import {
  EPOCH_TREE,
  SNAPSHOT_PREFIX,
  STATE_KEY,
  epochIdOf,
  epochIdString,
  parseEpochId,
  proposalKey,
  sameEpochId,
  snapshotPrefix,
} from './keys.js';
import { encodeRecord, stateRecordCodec, treeDeltaRecordCodec } from './records.js';
import { treeDelta } from './treeRecords.js';

/**
 * Rebuilds the current state from its records (the keys `encodeGroupState` wrote and
 * `diffGroupState` maintained; `snapshot/` keys are skipped). Throws MlsError('state_corrupt')
 * or ('unsupported_state_version'); no state is built then and the secrets decoded are wiped.
 */
export function decodeGroupState(
  records: ReadonlyMap<string, Uint8Array>,
  options: DecodeOptions = {},
): GroupState {
  const buckets = bucketRecords(records, 'current', '');
  const rec = readStateRecord(buckets, '');
  return buildState({
    rec,
    buckets,
    where: '',
    tree: (suite) => treeFromNodeRecords(suite, buckets, rec.leafCount),
    shared: () => undefined,
    options,
  });
}

/** The key prefix under which the snapshot of `state`'s epoch is stored. */
export function snapshotKeyPrefix(state: GroupState): string {
  return snapshotPrefix(epochIdOf(state.suite, state.groupContext));
}

/**
 * The records of a kept snapshot, relative to the current state (keys under
 * `snapshotKeyPrefix(snapshot)`). Both states must be live.
 */
export function encodeSnapshot(snapshot: GroupState, current: GroupState): GroupStateRecords {
  current.checkLive();
  const ns = snapshotKeyPrefix(snapshot);
  const out: GroupStateRecords = new Map();
  out.set(ns + STATE_KEY, encodeRecord(stateRecordCodec, stateRecordOf(snapshot)));
  out.set(
    ns + EPOCH_TREE,
    encodeRecord(treeDeltaRecordCodec, treeDelta(current.tree, snapshot.tree, undefined)),
  );
  for (const c of snapshot.proposals.list()) out.set(proposalKey(ns, c.ref), proposalRecord(c));
  const held = new Set<EpochReceiver>(current.heldReceivers());
  const list = snapshot.heldReceivers();
  list.forEach((r, i) => {
    if (!held.has(r)) putReceiver(out, ns, r, treeBaseAt(snapshot.suite, list, i, snapshot.tree));
  });
  return out;
}

/** The epochs of the snapshots present in `records`. */
export function listSnapshots(records: ReadonlyMap<string, Uint8Array>): EpochId[] {
  const out: EpochId[] = [];
  for (const key of records.keys()) {
    if (!key.startsWith(SNAPSHOT_PREFIX) || !key.endsWith(`/${STATE_KEY}`)) continue;
    const idString = key.slice(SNAPSHOT_PREFIX.length, key.length - STATE_KEY.length - 1);
    const id = parseEpochId(idString);
    if (id !== undefined) out.push(id);
  }
  return out;
}

/**
 * Rebuilds the snapshot of epoch `id` on top of the decoded `current` state (it shares the
 * current state's tree chunks and receivers). Throws like `decodeGroupState`.
 */
export function decodeSnapshot(
  records: ReadonlyMap<string, Uint8Array>,
  id: EpochId,
  current: GroupState,
  options: DecodeOptions = {},
): GroupState {
  current.checkLive();
  const ns = snapshotPrefix(id);
  const mine: [string, Uint8Array][] = [];
  for (const [key, value] of records) {
    if (key.startsWith(ns)) mine.push([key.slice(ns.length), value]);
  }
  const buckets = bucketRecords(mine, 'snapshot', ns);
  const rec = readStateRecord(buckets, ns);
  const byId = new Map<string, EpochReceiver>();
  for (const r of current.heldReceivers()) {
    byId.set(epochIdString(epochIdOf(r.suite, r.groupContext)), r);
  }
  const snapshot = buildState({
    rec,
    buckets,
    where: ns,
    tree: (suite) => treeFromDeltaRecord(suite, buckets, current.tree, ns),
    shared: (rid) => byId.get(epochIdString(rid)),
    options,
  });
  if (!sameEpochId(epochIdOf(snapshot.suite, snapshot.groupContext), id)) {
    snapshot.destroy();
    throw new MlsError('state_corrupt', `${ns}state: another epoch's state`);
  }
  return snapshot;
}
