/**
 * Writing a group state as records (see keys.ts for the layout, records.ts for the format):
 * all of them (`encodeGroupState`), or only what changed (`diffGroupState`).
 *
 * What changes when:
 * - a commit: the tree nodes on the changed paths (O(log n) records after a path commit), the
 *   `state` record, the new epoch's receiver, one tree delta for the epoch that became a past
 *   epoch, and the deletion of the epoch that left the window and of the old epoch's proposals;
 * - a message sent or received: the secret-tree records of the one sender's leaf (and, the first
 *   time a leaf is used, the few node secrets above it), from the secret tree's change journal;
 * - a proposal received or sent: its own record.
 *
 * The records carry secrets in the clear: the store encrypts them at rest, and the caller wipes
 * the byte arrays it no longer needs. Nothing here logs.
 */
import type { CipherSuite } from '../../crypto/types.js';
import type { EpochReceiver } from '../group/epochReceiver.js';
import type { GroupState, GroupStatus } from '../group/groupState.js';
import type { CachedProposal } from '../group/proposals/cache.js';
import type { RatchetTree } from '../ratchetTree/ratchetTree.js';
import type { LeafRatchetState, RatchetState } from '../secretTree.js';
import type { EpochId } from './keys.js';
import {
  EPOCH_CONTEXT,
  EPOCH_LEAF,
  EPOCH_NODE,
  EPOCH_TREE,
  PROPOSAL_PREFIX,
  STATE_KEY,
  epochIdOf,
  epochPrefix,
  index8,
  proposalKey,
  treeNodeKey,
} from './keys.js';
import type { LeafRecord, StateRecord, StoredRatchet, StoredStatus } from './records.js';
import {
  encodeRecord,
  epochRecordCodec,
  leafRecordCodec,
  nodeRecordCodec,
  proposalRecordCodec,
  secretNodeRecordCodec,
  stateRecordCodec,
  treeDeltaRecordCodec,
} from './records.js';
import { treeDelta } from './treeRecords.js';

/** Every record of a state, by key. */
export type GroupStateRecords = Map<string, Uint8Array>;

/**
 * What to write to turn the stored form of one state into another's. Apply the deletions first
 * (every key equal to one in `del` or starting with one in `delPrefixes`), then the puts, in one
 * atomic batch.
 */
export interface GroupStateChanges {
  readonly put: Map<string, Uint8Array>;
  readonly del: string[];
  readonly delPrefixes: string[];
}

const STATUS: Record<GroupStatus, StoredStatus> = { active: 0, removed: 1, reinit: 2 };

/** The `state` record of a live state. */
export function stateRecordOf(state: GroupState): StateRecord {
  const parts = state.storageParts();
  const path = parts.privatePath;
  return {
    cipherSuite: state.suite.id,
    status: STATUS[parts.status],
    ownLeaf: parts.ownLeaf,
    leafCount: parts.tree.leafCount,
    groupContext: parts.groupContext,
    interimTranscriptHash: parts.interimTranscriptHash,
    confirmationTag: parts.confirmationTag,
    reInit: parts.reInit,
    signaturePrivateKey: parts.signaturePrivateKey,
    epochSecrets: parts.epochSecrets?.held().map(([name, secret]) => ({ name, secret })),
    privatePath: path.nodes().map((node) => ({ node, ...path.keyPair(node)! })),
    resumptionPsks: [...parts.resumptionPsks].map(([epoch, psk]) => ({ epoch, psk })),
    hasCurrentReceiver: parts.receiver !== undefined,
    receivers: state.heldReceivers().map((r) => epochIdOf(state.suite, r.groupContext)),
  };
}

export function proposalRecord(c: CachedProposal): Uint8Array {
  return encodeRecord(proposalRecordCodec, {
    ref: c.ref,
    proposal: c.proposal,
    sender: c.sender,
    own: c.own,
    updateKeyPair: c.updateKeyPair,
  });
}

function storedRatchet(r: RatchetState): StoredRatchet {
  return {
    next: r.next,
    secret: r.secret,
    skipped: r.skipped.map(([generation, kn]) => ({ generation, ...kn })),
  };
}

function leafRecord(lr: LeafRatchetState): Uint8Array {
  const rec: LeafRecord = {
    handshake: storedRatchet(lr.handshake),
    application: storedRatchet(lr.application),
  };
  return encodeRecord(leafRecordCodec, rec);
}

/**
 * The tree a receiver's tree is stored against: position 0 against the owning state's tree
 * (nothing stored when it is that very tree), later ones against the receiver before them.
 */
export interface TreeBase {
  readonly tree: RatchetTree;
  /** Absent: the owning state's tree. */
  readonly id: EpochId | undefined;
}

export function treeBaseAt(
  suite: CipherSuite,
  list: readonly EpochReceiver[],
  i: number,
  ownerTree: RatchetTree,
): TreeBase | undefined {
  if (i === 0) return list[0]!.tree === ownerTree ? undefined : { tree: ownerTree, id: undefined };
  const before = list[i - 1]!;
  return { tree: before.tree, id: epochIdOf(suite, before.groupContext) };
}

/** All records of one receiver within namespace `ns`. Clears its secret tree's journal. */
export function putReceiver(
  put: Map<string, Uint8Array>,
  ns: string,
  r: EpochReceiver,
  base: TreeBase | undefined,
): void {
  const p = epochPrefix(ns, epochIdOf(r.suite, r.groupContext));
  put.set(
    p + EPOCH_CONTEXT,
    encodeRecord(epochRecordCodec, {
      groupContext: r.groupContext,
      senderDataSecret: r.framing().senderDataSecret,
      leafCount: r.secretTree.leafCount,
    }),
  );
  if (base !== undefined) {
    put.set(
      p + EPOCH_TREE,
      encodeRecord(treeDeltaRecordCodec, treeDelta(base.tree, r.tree, base.id)),
    );
  }
  const contents = r.secretTree.contents();
  for (const [x, secret] of contents.nodes) {
    put.set(p + EPOCH_NODE + index8(x), encodeRecord(secretNodeRecordCodec, secret));
  }
  for (const [leaf, lr] of contents.leaves) put.set(p + EPOCH_LEAF + index8(leaf), leafRecord(lr));
  r.secretTree.takeChanges();
}

/** The records of what changed in a receiver's secret tree since its journal was last taken. */
function putSecretTreeChanges(changes: GroupStateChanges, ns: string, r: EpochReceiver): void {
  const st = r.secretTree;
  const { nodes, leaves } = st.takeChanges();
  if (nodes.length === 0 && leaves.length === 0) return;
  const p = epochPrefix(ns, epochIdOf(r.suite, r.groupContext));
  for (const x of nodes) {
    const secret = st.nodeSecret(x);
    if (secret === undefined) changes.del.push(p + EPOCH_NODE + index8(x));
    else changes.put.set(p + EPOCH_NODE + index8(x), encodeRecord(secretNodeRecordCodec, secret));
  }
  for (const leaf of leaves) {
    const lr = st.leafState(leaf);
    if (lr !== undefined) changes.put.set(p + EPOCH_LEAF + index8(leaf), leafRecord(lr));
  }
}

/**
 * Every record of a live state: the current tree node by node, the `state` record, the
 * receivers of this and the kept past epochs, the cached proposals. Resets the change journals
 * (secret trees, proposal cache), so a later `diffGroupState(state, state)` starts from here.
 */
export function encodeGroupState(state: GroupState): GroupStateRecords {
  const out: GroupStateRecords = new Map();
  out.set(STATE_KEY, encodeRecord(stateRecordCodec, stateRecordOf(state)));
  state.tree.toNodes().forEach((node, x) => {
    if (node !== undefined) out.set(treeNodeKey(x), encodeRecord(nodeRecordCodec, node));
  });
  const list = state.heldReceivers();
  list.forEach((r, i) => putReceiver(out, '', r, treeBaseAt(state.suite, list, i, state.tree)));
  for (const c of state.proposals.list()) out.set(proposalKey('', c.ref), proposalRecord(c));
  state.proposals.takeAdded();
  return out;
}

/**
 * The changes that turn the stored records of `prev` (as last written, journals included) into
 * those of `next`. The usual cases:
 * - `diffGroupState(state, state)` after messages or proposals within an epoch: only the
 *   secret-tree slots and proposals that changed;
 * - `diffGroupState(old, merged)` after a commit (`old` may already be destroyed by the merge):
 *   the changed tree nodes, found through the persistent vector's shared chunks, and the epoch's
 *   records as described in the module comment.
 * Any other pair (a restored snapshot, a state of another branch) also works; the tree diff then
 * costs what the two trees do not share.
 */
export function diffGroupState(prev: GroupState, next: GroupState): GroupStateChanges {
  const changes: GroupStateChanges = { put: new Map(), del: [], delPrefixes: [] };
  const { put, del } = changes;
  const suite = next.suite;
  next.checkLive();
  if (prev !== next) put.set(STATE_KEY, encodeRecord(stateRecordCodec, stateRecordOf(next)));

  if (prev.tree !== next.tree) {
    for (const x of next.tree.changedNodes(prev.tree)) {
      const node = x < next.tree.nodeCount ? next.tree.node(x) : undefined;
      if (node === undefined) del.push(treeNodeKey(x));
      else put.set(treeNodeKey(x), encodeRecord(nodeRecordCodec, node));
    }
  }

  if (prev !== next) {
    changes.delPrefixes.push(PROPOSAL_PREFIX);
    for (const c of next.proposals.list()) put.set(proposalKey('', c.ref), proposalRecord(c));
    next.proposals.takeAdded();
  } else {
    for (const c of next.proposals.takeAdded()) put.set(proposalKey('', c.ref), proposalRecord(c));
  }

  const before = prev.heldReceivers();
  const after = next.heldReceivers();
  const position = new Map(before.map((r, j) => [r, j]));
  after.forEach((r, i) => {
    const base = treeBaseAt(suite, after, i, next.tree);
    const j = position.get(r);
    if (j === undefined) {
      putReceiver(put, '', r, base);
      return;
    }
    putSecretTreeChanges(changes, '', r);
    // A stored tree delta stays valid while it is taken against the same base.
    const existed = j > 0 || r.tree !== prev.tree;
    const valid =
      existed &&
      (i === 0 ? j === 0 && prev.tree === next.tree : j > 0 && before[j - 1] === after[i - 1]);
    const treeKey = epochPrefix('', epochIdOf(suite, r.groupContext)) + EPOCH_TREE;
    if (base !== undefined && !valid) {
      put.set(treeKey, encodeRecord(treeDeltaRecordCodec, treeDelta(base.tree, r.tree, base.id)));
    } else if (base === undefined && existed) {
      del.push(treeKey);
    }
  });
  const kept = new Set(after);
  for (const r of before) {
    if (!kept.has(r)) changes.delPrefixes.push(epochPrefix('', epochIdOf(suite, r.groupContext)));
  }
  return changes;
}
