/**
 * Sorting a set of stored records by key into the pieces of one state (see keys.ts). A key that
 * fits no piece is corruption: the store writes only what the encoder produced.
 */
import { MlsError } from '../errors.js';
import {
  EPOCH_CONTEXT,
  EPOCH_LEAF,
  EPOCH_NODE,
  EPOCH_PREFIX,
  EPOCH_TREE,
  PROPOSAL_PREFIX,
  SNAPSHOT_PREFIX,
  STATE_KEY,
  TREE_PREFIX,
  parseEpochId,
  parseIndex8,
} from './keys.js';

export interface EpochBucket {
  context?: Uint8Array;
  tree?: Uint8Array;
  readonly nodes: Map<number, Uint8Array>;
  readonly leaves: Map<number, Uint8Array>;
  /** Set when a receiver the state lists took this bucket. */
  used?: boolean;
}

export interface Buckets {
  state?: Uint8Array;
  /** The current state's tree, node by node. */
  readonly treeNodes: Map<number, Uint8Array>;
  /** A snapshot's tree, as a delta. */
  treeDelta?: Uint8Array;
  readonly proposals: Map<string, Uint8Array>;
  readonly epochs: Map<string, EpochBucket>;
}

const MAX_SHOWN = 80;

function unknown(key: string, where: string): MlsError {
  const shown = key.length > MAX_SHOWN ? `${key.slice(0, MAX_SHOWN)}…` : key;
  return new MlsError('state_corrupt', `unexpected record key ${JSON.stringify(where + shown)}`);
}

function epochRecord(
  rest: string,
  value: Uint8Array,
  b: Buckets,
  key: string,
  where: string,
): void {
  const slash = rest.indexOf('/');
  const idString = rest.slice(0, slash);
  if (slash < 0 || parseEpochId(idString) === undefined) throw unknown(key, where);
  let bucket = b.epochs.get(idString);
  if (bucket === undefined) {
    bucket = { nodes: new Map(), leaves: new Map() };
    b.epochs.set(idString, bucket);
  }
  const what = rest.slice(slash + 1);
  if (what === EPOCH_CONTEXT) bucket.context = value;
  else if (what === EPOCH_TREE) bucket.tree = value;
  else if (what.startsWith(EPOCH_NODE)) {
    const x = parseIndex8(what.slice(EPOCH_NODE.length));
    if (x === undefined) throw unknown(key, where);
    bucket.nodes.set(x, value);
  } else if (what.startsWith(EPOCH_LEAF)) {
    const leaf = parseIndex8(what.slice(EPOCH_LEAF.length));
    if (leaf === undefined) throw unknown(key, where);
    bucket.leaves.set(leaf, value);
  } else {
    throw unknown(key, where);
  }
}

/**
 * The records of one state. `records` holds keys relative to the state's namespace ('' for the
 * current state, `snapshot/<id>/` for a snapshot); `kind` says which tree form to expect. The
 * current state's records skip every key under `snapshot/`.
 */
export function bucketRecords(
  records: Iterable<readonly [string, Uint8Array]>,
  kind: 'current' | 'snapshot',
  where: string,
): Buckets {
  const b: Buckets = {
    treeNodes: new Map(),
    proposals: new Map(),
    epochs: new Map(),
  };
  for (const [key, value] of records) {
    if (key === STATE_KEY) b.state = value;
    else if (kind === 'current' && key.startsWith(SNAPSHOT_PREFIX)) continue;
    else if (kind === 'current' && key.startsWith(TREE_PREFIX)) {
      const x = parseIndex8(key.slice(TREE_PREFIX.length));
      if (x === undefined) throw unknown(key, where);
      b.treeNodes.set(x, value);
    } else if (kind === 'snapshot' && key === EPOCH_TREE) b.treeDelta = value;
    else if (key.startsWith(PROPOSAL_PREFIX)) {
      const ref = key.slice(PROPOSAL_PREFIX.length);
      if (!/^([0-9a-f]{2})+$/.test(ref)) throw unknown(key, where);
      b.proposals.set(ref, value);
    } else if (key.startsWith(EPOCH_PREFIX)) {
      epochRecord(key.slice(EPOCH_PREFIX.length), value, b, key, where);
    } else {
      throw unknown(key, where);
    }
  }
  return b;
}
