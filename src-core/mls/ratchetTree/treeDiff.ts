/**
 * A staged change to a ratchet tree (as OpenMLS stages commits): a writable view on top of a
 * version. The version it started from never changes; `commit()` returns the new version, or the
 * diff is dropped and nothing happened.
 *
 * Derived values are refreshed lazily and only along changed paths: every write marks its node
 * and the node's ancestors dirty (the dirty set stays closed upwards, so marking stops at the
 * first ancestor already marked), and a read that needs counts or hashes first recomputes the
 * dirty nodes bottom-up. A commit that touches one direct path thus costs O(log n) hashes.
 */
import type { CipherSuite } from '../../crypto/types.js';
import { MlsError } from '../errors.js';
import type { LeafNode } from '../leafNode.js';
import type { Node, ParentNode } from '../ratchetTreeExtension.js';
import { NodeType } from '../ratchetTreeExtension.js';
import type { LeafIndex, NodeIndex } from '../treeMath.js';
import type { KeyIndex } from './keyIndex.js';
import { buildSubtree, leafCounts, leafEntry, parentCounts, parentEntry } from './nodeEntry.js';
import type { Transient } from './persistentVector.js';
import { MAX_LENGTH } from './persistentVector.js';
import type { TreeState } from './ratchetTree.js';
import { RatchetTree, buildKeyIndex, indexKeys, keysOf } from './ratchetTree.js';
import type { CredentialTypeCounts, NodeEntry } from './treeReader.js';
import { TreeReader } from './treeReader.js';

/** Level of node x: its number of trailing one bits (x < 2^30 here). */
function levelOf(x: number): number {
  let k = 0;
  while ((x >>> k) & 1) k++;
  return k;
}

/** Stale records beyond this many (or beyond the live count) start a fresh key index. */
const KEY_INDEX_SLACK = 4096;

export class TreeDiff extends TreeReader {
  readonly suite: CipherSuite;
  private leaves: number;
  private readonly t: Transient<NodeEntry>;
  protected readonly keyIndex: KeyIndex;
  private creds: Map<number, number> | undefined;
  private readonly baseCreds: CredentialTypeCounts;
  private liveKeys: number;
  private readonly countsDirty = new Set<NodeIndex>();
  private readonly hashDirty = new Set<NodeIndex>();
  private done = false;

  /** Internal: diffs come from `RatchetTree.stage()`. */
  constructor(base: TreeState) {
    super();
    this.suite = base.suite;
    this.leaves = base.leafCount;
    this.t = base.entries.transient();
    this.keyIndex = base.keyIndex;
    this.baseCreds = base.credentialTypes;
    this.liveKeys = base.liveKeys;
  }

  get leafCount(): number {
    return this.leaves;
  }

  get credentialTypes(): CredentialTypeCounts {
    return this.creds ?? this.baseCreds;
  }

  protected entry(x: NodeIndex): NodeEntry {
    return this.t.get(x);
  }

  protected counted(x: NodeIndex): NodeEntry {
    this.settleCounts();
    return this.t.get(x);
  }

  protected hashed(x: NodeIndex): NodeEntry {
    this.settleHashes();
    return this.t.get(x);
  }

  protected forEachEntry(
    from: NodeIndex,
    to: NodeIndex,
    f: (e: NodeEntry, x: NodeIndex) => void,
  ): void {
    this.t.forEachIn(from, to, f);
  }

  private live(): void {
    if (this.done) throw new MlsError('invalid_argument', 'tree diff used after commit');
  }

  private parentOf(x: NodeIndex): NodeIndex {
    const step = 2 ** levelOf(x);
    return Math.floor(x / (2 * step)) % 2 === 1 ? x - step : x + step;
  }

  private markDirty(x: NodeIndex): void {
    const root = this.root;
    for (;;) {
      const fresh = !this.countsDirty.has(x) || !this.hashDirty.has(x);
      this.countsDirty.add(x);
      this.hashDirty.add(x);
      if (!fresh || x === root) return;
      x = this.parentOf(x);
    }
  }

  private countCredential(leaf: LeafNode | undefined, delta: number): void {
    if (leaf === undefined) return;
    this.creds ??= new Map(this.baseCreds);
    const type = leaf.credential.credentialType;
    const n = (this.creds.get(type) ?? 0) + delta;
    if (n === 0) this.creds.delete(type);
    else this.creds.set(type, n);
  }

  private put(x: NodeIndex, node: Node | undefined): void {
    const old = this.t.get(x);
    this.liveKeys += keysOf(node) - keysOf(old.node);
    if (x % 2 === 0) {
      this.countCredential(
        old.node?.nodeType === NodeType.leaf ? old.node.leafNode : undefined,
        -1,
      );
      this.countCredential(node?.nodeType === NodeType.leaf ? node.leafNode : undefined, 1);
    }
    indexKeys(this.keyIndex, x, node);
    this.t.set(x, { ...old, node });
    this.markDirty(x);
  }

  /** Puts `leafNode` at leaf `leaf`, or blanks it. Does not touch its direct path. */
  setLeaf(leaf: LeafIndex, leafNode: LeafNode | undefined): void {
    this.live();
    this.checkLeaf(leaf);
    this.put(2 * leaf, leafNode === undefined ? undefined : { nodeType: NodeType.leaf, leafNode });
  }

  /** Puts `parent` at parent node `x`, or blanks it. */
  setParent(x: NodeIndex, parent: ParentNode | undefined): void {
    this.live();
    this.checkNode(x);
    if (x % 2 === 0) throw new MlsError('invalid_argument', `node ${x} is a leaf`);
    this.put(
      x,
      parent === undefined ? undefined : { nodeType: NodeType.parent, parentNode: parent },
    );
  }

  /** Blanks every node on the direct path of `leaf` (§12.1.2, §12.1.3, §7.5). */
  blankDirectPath(leaf: LeafIndex): void {
    this.live();
    this.checkLeaf(leaf);
    const root = this.root;
    let x = 2 * leaf;
    while (x !== root) {
      x = this.parentOf(x);
      if (this.t.get(x).node !== undefined) this.put(x, undefined);
    }
  }

  /**
   * Doubles the tree (§7.7): the old tree becomes the left subtree of a new blank root, with an
   * all-blank subtree on the right. Costs O(n) hashes for the new blank subtree (leaf hashes
   * depend on leaf indices), once per doubling.
   */
  extend(): void {
    this.live();
    const oldLeaves = this.leaves;
    if (2 * (2 * oldLeaves) - 1 > MAX_LENGTH) {
      throw new MlsError('invalid_tree', `cannot grow past ${oldLeaves} leaves`);
    }
    this.leaves = 2 * oldLeaves;
    this.t.resize(2 * this.leaves - 1);
    const rightRoot = 3 * oldLeaves - 1;
    buildSubtree(
      this.suite,
      rightRoot,
      () => undefined,
      (x, e) => this.t.set(x, e),
    );
    const newRoot = this.leaves - 1;
    // A placeholder until the dirty refresh computes the real values.
    this.t.set(newRoot, {
      node: undefined,
      hash: new Uint8Array(0),
      resolutionSize: 0,
      members: 0,
    });
    this.countsDirty.add(newRoot);
    this.hashDirty.add(newRoot);
  }

  /**
   * Halves the tree while its right subtree holds no member (§7.7, §12.1.3). The nodes dropped
   * hold nothing in a valid tree: a non-blank parent always has a member below it.
   */
  truncate(): void {
    this.live();
    while (this.leaves > 1) {
      const root = this.root;
      const rightChild = root + this.leaves / 2;
      if (this.counted(rightChild).members > 0) break;
      // Dropped parents' keys leave the count; the right half holds no leaves.
      this.t.forEachIn(root, this.nodeCount, (e) => {
        this.liveKeys -= keysOf(e.node);
      });
      this.leaves /= 2;
      this.t.resize(2 * this.leaves - 1);
      for (const set of [this.countsDirty, this.hashDirty]) {
        for (const x of set) if (x >= this.nodeCount) set.delete(x);
      }
    }
  }

  private dirtyByLevel(set: Set<NodeIndex>): NodeIndex[][] {
    const byLevel: NodeIndex[][] = [];
    for (const x of set) (byLevel[levelOf(x)] ??= []).push(x);
    set.clear();
    return byLevel;
  }

  private settleCounts(): void {
    if (this.countsDirty.size === 0) return;
    const byLevel = this.dirtyByLevel(this.countsDirty);
    for (let k = 0; k < byLevel.length; k++) {
      const half = k === 0 ? 0 : 2 ** (k - 1);
      for (const x of byLevel[k] ?? []) {
        const e = this.t.get(x);
        if (k === 0) {
          this.t.set(x, leafCounts(e.node, e.hash));
        } else {
          this.t.set(x, parentCounts(e.node, this.t.get(x - half), this.t.get(x + half), e.hash));
        }
      }
    }
  }

  private settleHashes(): void {
    this.settleCounts();
    if (this.hashDirty.size === 0) return;
    const byLevel = this.dirtyByLevel(this.hashDirty);
    for (let k = 0; k < byLevel.length; k++) {
      const half = k === 0 ? 0 : 2 ** (k - 1);
      for (const x of byLevel[k] ?? []) {
        const e = this.t.get(x);
        this.t.set(
          x,
          k === 0
            ? leafEntry(this.suite, x, e.node)
            : parentEntry(this.suite, e.node, this.t.get(x - half), this.t.get(x + half)),
        );
      }
    }
  }

  /** Ends staging and returns the new version. The diff cannot be used afterwards. */
  commit(): RatchetTree {
    this.live();
    this.settleHashes();
    this.done = true;
    const entries = this.t.freeze();
    const keyIndex =
      this.keyIndex.size > 2 * this.liveKeys + KEY_INDEX_SLACK
        ? buildKeyIndex(entries)
        : this.keyIndex;
    return new RatchetTree({
      suite: this.suite,
      leafCount: this.leaves,
      entries,
      keyIndex,
      credentialTypes: this.credentialTypes,
      liveKeys: this.liveKeys,
    });
  }
}
