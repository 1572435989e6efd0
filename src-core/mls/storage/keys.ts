/**
 * The record keys of a stored group state. Keys are ASCII, with numbers in fixed-width lower-case
 * hex so that a store that orders keys bytewise (level does) lists a tree's nodes in index order.
 *
 * ```
 * state                                the current state: epoch, own keys, receiver list
 * tree/<node:8>                        each non-blank node of the current ratchet tree
 * proposal/<ref>                       each proposal cached in the current epoch
 * epoch/<epoch-id>/context             an epoch's receiver: GroupContext, sender data secret
 * epoch/<epoch-id>/tree                a kept past epoch's tree, as the nodes that differ from
 *                                      the next newer tree in the list
 * epoch/<epoch-id>/node/<node:8>       a secret-tree node secret still stored
 * epoch/<epoch-id>/leaf/<leaf:8>       a secret-tree leaf's two ratchets and skipped keys
 * snapshot/<epoch-id>/...              a kept snapshot (fork point): `state`, `tree` (relative
 *                                      to the current tree), `proposal/..`, and `epoch/..` for
 *                                      the receivers the current state does not hold
 * ```
 *
 * An epoch id is the epoch number and 8 bytes of a hash of its GroupContext, so two branches'
 * states of the same epoch number (after a fork) never share records.
 */
import { encode } from '../../codec/index.js';
import type { CipherSuite } from '../../crypto/types.js';
import type { GroupContext } from '../groupContext.js';
import { groupContextCodec } from '../groupContext.js';
import type { NodeIndex } from '../treeMath.js';

export const STATE_KEY = 'state';
export const TREE_PREFIX = 'tree/';
export const PROPOSAL_PREFIX = 'proposal/';
export const EPOCH_PREFIX = 'epoch/';
export const SNAPSHOT_PREFIX = 'snapshot/';

/** Identifies one epoch of one branch of a group. */
export interface EpochId {
  readonly epoch: bigint;
  /** The first 8 bytes of Hash("parley state epoch" || GroupContext). */
  readonly digest: Uint8Array;
}

const EPOCH_ID_LABEL = new TextEncoder().encode('parley state epoch');
const ID_CACHE = new WeakMap<GroupContext, EpochId>();

export function epochIdOf(suite: CipherSuite, gc: GroupContext): EpochId {
  let id = ID_CACHE.get(gc);
  if (id === undefined) {
    const body = encode(groupContextCodec, gc);
    const input = new Uint8Array(EPOCH_ID_LABEL.length + body.length);
    input.set(EPOCH_ID_LABEL);
    input.set(body, EPOCH_ID_LABEL.length);
    id = { epoch: gc.epoch, digest: suite.hash.digest(input).slice(0, 8) };
    ID_CACHE.set(gc, id);
  }
  return id;
}

export function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

export function index8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** `<epoch:16>.<digest:16>` */
export function epochIdString(id: EpochId): string {
  return `${id.epoch.toString(16).padStart(16, '0')}.${hex(id.digest)}`;
}

export function sameEpochId(a: EpochId, b: EpochId): boolean {
  return a.epoch === b.epoch && hex(a.digest) === hex(b.digest);
}

export function treeNodeKey(x: NodeIndex): string {
  return TREE_PREFIX + index8(x);
}

export function proposalKey(ns: string, ref: Uint8Array): string {
  return `${ns}${PROPOSAL_PREFIX}${hex(ref)}`;
}

/** The prefix of all of an epoch's receiver records within namespace `ns`. */
export function epochPrefix(ns: string, id: EpochId): string {
  return `${ns}${EPOCH_PREFIX}${epochIdString(id)}/`;
}

/** The namespace of a snapshot's records. */
export function snapshotPrefix(id: EpochId): string {
  return `${SNAPSHOT_PREFIX}${epochIdString(id)}/`;
}

export const EPOCH_CONTEXT = 'context';
export const EPOCH_TREE = 'tree';
export const EPOCH_NODE = 'node/';
export const EPOCH_LEAF = 'leaf/';

/** An 8-digit lower-case hex index, or undefined. */
export function parseIndex8(s: string): number | undefined {
  return /^[0-9a-f]{8}$/.test(s) ? parseInt(s, 16) : undefined;
}

/** `<epoch:16>.<digest:16>` back to an id, or undefined. */
export function parseEpochId(s: string): EpochId | undefined {
  const m = /^([0-9a-f]{16})\.([0-9a-f]{16})$/.exec(s);
  if (m === null) return undefined;
  const digest = new Uint8Array(8);
  for (let i = 0; i < 8; i++) digest[i] = parseInt(m[2]!.slice(2 * i, 2 * i + 2), 16);
  return { epoch: BigInt(`0x${m[1]!}`), digest };
}
