/**
 * Array-based tree math (RFC 9420 §4.1, §7.7 and Appendix C).
 *
 * The ratchet tree is always full: its leaf count is a power of two (§7.7: adding and removing
 * leaves doubles or halves the tree). Leaf `i` is node `2i`; parents sit at odd indices. A node at
 * level k has the bit pattern `p 0 1^k`, its subtree spans `[p·2^(k+1), p·2^(k+1) + 2^(k+1) − 2]`.
 *
 * Leaf indices are uint32 on the wire, so a tree may have up to 2^32 leaves and node indices up to
 * 2^33 − 2. JavaScript's bitwise operators truncate to 32 bits, so everything here is written with
 * arithmetic on exact integers (all values stay far below 2^53), with a bitwise fast path where
 * the index fits in 31 bits.
 */
import { MlsError } from './errors.js';

/** An index into the array representation of the tree (leaves even, parents odd). */
export type NodeIndex = number;
/** The index of a leaf among the leaves (leaf `i` is node `2i`). */
export type LeafIndex = number;

/** The largest number of leaves a tree can have: leaf indices are uint32. */
export const MAX_LEAVES = 2 ** 32;
const MAX_NODE = 2 * MAX_LEAVES - 2;
const TWO_POW_32 = 2 ** 32;

function bad(message: string): MlsError {
  return new MlsError('invalid_argument', message);
}

function checkLeafCount(nLeaves: number): void {
  if (!Number.isInteger(nLeaves) || nLeaves < 1 || nLeaves > MAX_LEAVES) {
    throw bad(`leaf count ${nLeaves} out of range`);
  }
  // A power of two has exactly one bit set; 2^32 itself does not fit the 32-bit test.
  if (nLeaves !== MAX_LEAVES && (nLeaves & (nLeaves - 1)) !== 0) {
    throw bad(`leaf count ${nLeaves} is not a power of two`);
  }
}

function checkNode(x: number): void {
  if (!Number.isInteger(x) || x < 0 || x > MAX_NODE) throw bad(`node index ${x} out of range`);
}

function checkNodeIn(x: number, nLeaves: number): void {
  checkNode(x);
  if (x >= nodeWidth(nLeaves)) throw bad(`node ${x} is outside a tree of ${nLeaves} leaves`);
}

/** Trailing one bits of a uint32. */
function trailingOnes32(v: number): number {
  const inv = ~v >>> 0;
  if (inv === 0) return 32;
  // inv & -inv isolates the lowest set bit of ~v, i.e. the lowest zero bit of v.
  return 31 - Math.clz32(inv & -inv);
}

/** True if `n` is a leaf count this module accepts: a power of two in [1, 2^32]. */
export function isValidLeafCount(nLeaves: number): boolean {
  try {
    checkLeafCount(nLeaves);
    return true;
  } catch {
    return false;
  }
}

/** The number of nodes in a tree with `nLeaves` leaves: 2n − 1. */
export function nodeWidth(nLeaves: number): number {
  checkLeafCount(nLeaves);
  return 2 * nLeaves - 1;
}

/** The index of the root node: n − 1 for a full tree of n leaves. */
export function root(nLeaves: number): NodeIndex {
  checkLeafCount(nLeaves);
  return nLeaves - 1;
}

/**
 * The level of a node: leaves are level 0, their parents level 1, and so on. Equals the number of
 * trailing one bits of the index.
 */
export function level(x: NodeIndex): number {
  checkNode(x);
  if (x <= 0x7fffffff) return trailingOnes32(x);
  const lo = x >>> 0; // ToUint32 is x mod 2^32, exact for integers below 2^53
  const low = trailingOnes32(lo);
  if (low < 32) return low;
  return 32 + trailingOnes32(Math.floor(x / TWO_POW_32));
}

export function isLeaf(x: NodeIndex): boolean {
  checkNode(x);
  return x % 2 === 0;
}

/** The node index of leaf `leaf`. */
export function leafToNode(leaf: LeafIndex): NodeIndex {
  if (!Number.isInteger(leaf) || leaf < 0 || leaf >= MAX_LEAVES) {
    throw bad(`leaf index ${leaf} out of range`);
  }
  return 2 * leaf;
}

/** The leaf index of a leaf node; a parent node is an error. */
export function nodeToLeaf(node: NodeIndex): LeafIndex {
  checkNode(node);
  if (node % 2 !== 0) throw bad(`node ${node} is not a leaf`);
  return node / 2;
}

/** The left child of a parent node (x − 2^(k−1) for a node at level k). */
export function left(x: NodeIndex): NodeIndex {
  const k = level(x);
  if (k === 0) throw bad(`leaf node ${x} has no children`);
  return x - 2 ** (k - 1);
}

/** The right child of a parent node (x + 2^(k−1) for a node at level k). */
export function right(x: NodeIndex): NodeIndex {
  const k = level(x);
  if (k === 0) throw bad(`leaf node ${x} has no children`);
  return x + 2 ** (k - 1);
}

/**
 * The parent of a node in a tree of `nLeaves` leaves. A node at level k is a right child when bit
 * k+1 of its index is set; its parent is then x − 2^k, otherwise x + 2^k.
 */
export function parent(x: NodeIndex, nLeaves: number): NodeIndex {
  checkNodeIn(x, nLeaves);
  if (x === nLeaves - 1) throw bad(`root node ${x} has no parent`);
  return parentUnchecked(x);
}

function parentUnchecked(x: NodeIndex): NodeIndex {
  const k = level(x);
  const step = 2 ** k;
  const isRightChild = Math.floor(x / (2 * step)) % 2 === 1;
  return isRightChild ? x - step : x + step;
}

/** The other child of the node's parent. */
export function sibling(x: NodeIndex, nLeaves: number): NodeIndex {
  const p = parent(x, nLeaves);
  return x < p ? right(p) : left(p);
}

/** The direct path of a node, from its parent up to and including the root (§4.1). */
export function directPath(x: NodeIndex, nLeaves: number): NodeIndex[] {
  checkNodeIn(x, nLeaves);
  const r = nLeaves - 1;
  const path: NodeIndex[] = [];
  while (x !== r) {
    x = parentUnchecked(x);
    path.push(x);
  }
  return path;
}

/** The copath: the sibling of the node and of every node on its direct path except the root. */
export function copath(x: NodeIndex, nLeaves: number): NodeIndex[] {
  checkNodeIn(x, nLeaves);
  const r = nLeaves - 1;
  const out: NodeIndex[] = [];
  while (x !== r) {
    const p = parentUnchecked(x);
    out.push(x < p ? right(p) : left(p));
    x = p;
  }
  return out;
}

/**
 * The lowest node that is in the direct paths (or is one) of both nodes. The ancestor at level k
 * of x has prefix floor(x / 2^(k+1)); the answer is the lowest level k, at least both nodes'
 * levels, at which the prefixes of a and b agree.
 */
export function commonAncestor(a: NodeIndex, b: NodeIndex): NodeIndex {
  let k = Math.max(level(a), level(b));
  for (;;) {
    const span = 2 ** (k + 1);
    const pa = Math.floor(a / span);
    if (pa === Math.floor(b / span)) return pa * span + 2 ** k - 1;
    k++;
  }
}

/** The leaf count of a full tree with `width` nodes (the inverse of nodeWidth). */
export function leafCountForWidth(width: number): number {
  const n = (width + 1) / 2;
  checkLeafCount(n);
  return n;
}
