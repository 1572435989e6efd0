/**
 * The read side shared by a tree version (`RatchetTree`) and a staged change (`TreeDiff`).
 *
 * Each node slot holds a `NodeEntry`: the node (or blank) and three values derived from its
 * subtree, kept so that no query walks the whole tree: the tree hash (§7.8), the size of the
 * resolution (§4.1.1; zero means "nothing to encrypt to here", which is what the filtered direct
 * path asks), and the number of members (non-blank leaves) below, which finds the leftmost blank
 * leaf for an Add and the truncation point after a Remove in O(log n).
 */
import type { CipherSuite } from '../../crypto/types.js';
import { MlsError } from '../errors.js';
import type { LeafNode } from '../leafNode.js';
import type { Node, ParentNode, RatchetTreeNodes } from '../ratchetTreeExtension.js';
import { NodeType } from '../ratchetTreeExtension.js';
import { left, level, right } from '../treeMath.js';
import type { LeafIndex, NodeIndex } from '../treeMath.js';
import type { KeyIndex } from './keyIndex.js';

export interface NodeEntry {
  readonly node: Node | undefined;
  /** The tree hash of the subtree under this node. */
  readonly hash: Uint8Array;
  /** The length of this node's resolution (unmerged leaves included). */
  readonly resolutionSize: number;
  /** The number of non-blank leaves in this node's subtree. */
  readonly members: number;
}

/** Credential types in use, each with the number of members using it (§7.3, §13.3). */
export type CredentialTypeCounts = ReadonlyMap<number, number>;

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc |= a[i]! ^ b[i]!;
  return acc === 0;
}

/** The first leaf index under node `x` and how many leaf slots its subtree spans. */
export function leafSpan(x: NodeIndex): { readonly first: LeafIndex; readonly count: number } {
  const k = level(x);
  const count = 2 ** k;
  return { first: (x - (count - 1)) / 2, count };
}

export abstract class TreeReader {
  abstract readonly suite: CipherSuite;
  /** The number of leaf slots: a power of two (§7.7), blank ones included. */
  abstract readonly leafCount: number;
  /** Credential types used by the members, with counts. */
  abstract readonly credentialTypes: CredentialTypeCounts;
  protected abstract readonly keyIndex: KeyIndex;

  /** The entry at `x`; its derived fields may be stale in a diff. */
  protected abstract entry(x: NodeIndex): NodeEntry;
  /** The entry with fresh `resolutionSize` and `members`. */
  protected abstract counted(x: NodeIndex): NodeEntry;
  /** The entry with every derived field fresh. */
  protected abstract hashed(x: NodeIndex): NodeEntry;
  /** Calls `f` for each node index in [from, to). */
  protected abstract forEachEntry(
    from: NodeIndex,
    to: NodeIndex,
    f: (e: NodeEntry, x: NodeIndex) => void,
  ): void;

  get nodeCount(): number {
    return 2 * this.leafCount - 1;
  }

  get root(): NodeIndex {
    return this.leafCount - 1;
  }

  protected checkNode(x: NodeIndex): void {
    if (!Number.isInteger(x) || x < 0 || x >= this.nodeCount) {
      throw new MlsError(
        'leaf_out_of_range',
        `node ${x} outside a tree of ${this.nodeCount} nodes`,
      );
    }
  }

  protected checkLeaf(leaf: LeafIndex): void {
    if (!Number.isInteger(leaf) || leaf < 0 || leaf >= this.leafCount) {
      throw new MlsError('leaf_out_of_range', `leaf ${leaf} outside a tree of ${this.leafCount}`);
    }
  }

  node(x: NodeIndex): Node | undefined {
    this.checkNode(x);
    return this.entry(x).node;
  }

  isBlank(x: NodeIndex): boolean {
    return this.node(x) === undefined;
  }

  leafNode(leaf: LeafIndex): LeafNode | undefined {
    this.checkLeaf(leaf);
    const n = this.entry(2 * leaf).node;
    return n?.nodeType === NodeType.leaf ? n.leafNode : undefined;
  }

  parentNode(x: NodeIndex): ParentNode | undefined {
    this.checkNode(x);
    if (x % 2 === 0) throw new MlsError('invalid_argument', `node ${x} is a leaf`);
    const n = this.entry(x).node;
    return n?.nodeType === NodeType.parent ? n.parentNode : undefined;
  }

  /** The HPKE public key at `x`, or undefined for a blank node. */
  encryptionKey(x: NodeIndex): Uint8Array | undefined {
    const n = this.node(x);
    if (n === undefined) return undefined;
    return n.nodeType === NodeType.leaf ? n.leafNode.encryptionKey : n.parentNode.encryptionKey;
  }

  /** The tree hash of the whole tree (§7.8). */
  treeHash(): Uint8Array {
    return this.nodeTreeHash(this.root);
  }

  /** The tree hash of the subtree under `x`. */
  nodeTreeHash(x: NodeIndex): Uint8Array {
    this.checkNode(x);
    return this.hashed(x).hash;
  }

  resolutionSize(x: NodeIndex): number {
    this.checkNode(x);
    return this.counted(x).resolutionSize;
  }

  /** The number of non-blank leaves. */
  get memberCount(): number {
    return this.counted(this.root).members;
  }

  /** The number of non-blank leaves under `x`. */
  subtreeMembers(x: NodeIndex): number {
    this.checkNode(x);
    return this.counted(x).members;
  }

  /** The leftmost blank leaf (where an Add goes, §12.1.1), or undefined if the tree is full. */
  leftmostBlankLeaf(): LeafIndex | undefined {
    let x = this.root;
    if (this.counted(x).members === this.leafCount) return undefined;
    while (x % 2 === 1) {
      const l = left(x);
      x = this.counted(l).members < leafSpan(l).count ? l : right(x);
    }
    return x / 2;
  }

  /** The rightmost non-blank leaf, or undefined for an empty tree. */
  rightmostMember(): LeafIndex | undefined {
    let x = this.root;
    if (this.counted(x).members === 0) return undefined;
    while (x % 2 === 1) {
      const r = right(x);
      x = this.counted(r).members > 0 ? r : left(x);
    }
    return x / 2;
  }

  /** The node that holds encryption key `key`, if any (leaves and parents). */
  findEncryptionKey(key: Uint8Array): NodeIndex | undefined {
    for (const x of this.keyIndex.encryptionKeyCandidates(key)) {
      if (x < this.nodeCount) {
        const k = this.encryptionKey(x);
        if (k !== undefined && equalBytes(k, key)) return x;
      }
    }
    return undefined;
  }

  /** The leaf that holds signature key `key`, if any. */
  findSignatureKey(key: Uint8Array): LeafIndex | undefined {
    for (const leaf of this.keyIndex.signatureKeyCandidates(key)) {
      if (leaf < this.leafCount) {
        const n = this.leafNode(leaf);
        if (n !== undefined && equalBytes(n.signatureKey, key)) return leaf;
      }
    }
    return undefined;
  }

  /**
   * False when no key can be held twice in this version (no key of the shared index has two
   * positions); true means there may be a repeat, to be confirmed by a walk of the nodes.
   */
  mayRepeatKeys(): boolean {
    return this.keyIndex.hasRepeats();
  }

  /** Calls `f` for every non-blank leaf, in index order. */
  forEachMember(f: (leaf: LeafNode, index: LeafIndex) => void): void {
    this.forEachEntry(0, this.nodeCount, (e, x) => {
      if (x % 2 === 0 && e.node?.nodeType === NodeType.leaf) f(e.node.leafNode, x / 2);
    });
  }

  /** Calls `f` for every non-blank parent node, in index order. */
  forEachParent(f: (parent: ParentNode, x: NodeIndex) => void): void {
    this.forEachEntry(0, this.nodeCount, (e, x) => {
      if (e.node?.nodeType === NodeType.parent) f(e.node.parentNode, x);
    });
  }

  /**
   * The `ratchet_tree` extension form (§12.4.3.3): nodes in array order, blanks as undefined,
   * trailing blanks left out.
   */
  toNodes(): RatchetTreeNodes {
    const out: (Node | undefined)[] = [];
    let last = -1;
    this.forEachEntry(0, this.nodeCount, (e, x) => {
      out.push(e.node);
      if (e.node !== undefined) last = x;
    });
    out.length = last + 1;
    return out;
  }
}
