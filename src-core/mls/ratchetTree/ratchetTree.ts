/**
 * One version of a group's ratchet tree (RFC 9420 §4, §7): immutable, with every derived value
 * (tree hashes, resolution sizes, member counts) fresh.
 *
 * Versions are cheap to keep: the nodes live in a persistent vector, so the version after a commit
 * shares all unchanged chunks with the one before. Changes are staged with `stage()`, which
 * returns a `TreeDiff`; the diff's `commit()` gives the next version and leaves this one as it
 * was, or the diff is simply dropped.
 */
import { decode, encode } from '../../codec/index.js';
import type { CipherSuite } from '../../crypto/types.js';
import { MlsError } from '../errors.js';
import type { LeafNode } from '../leafNode.js';
import type { Node, RatchetTreeNodes } from '../ratchetTreeExtension.js';
import { NodeType, ratchetTreeCodec, ratchetTreeEncodingProblem } from '../ratchetTreeExtension.js';
import type { NodeIndex } from '../treeMath.js';
import { KeyIndex } from './keyIndex.js';
import { buildSubtree } from './nodeEntry.js';
import { MAX_LENGTH, PersistentVector } from './persistentVector.js';
import { TreeDiff } from './treeDiff.js';
import type { CredentialTypeCounts, NodeEntry } from './treeReader.js';
import { TreeReader } from './treeReader.js';

/** Everything a version is made of; a diff starts from one and produces the next. */
export interface TreeState {
  readonly suite: CipherSuite;
  readonly leafCount: number;
  readonly entries: PersistentVector<NodeEntry>;
  readonly keyIndex: KeyIndex;
  readonly credentialTypes: CredentialTypeCounts;
  /** How many keys the nodes of this version hold (encryption keys plus leaf signature keys). */
  readonly liveKeys: number;
}

/** The number of keys a node contributes to the key index. */
export function keysOf(node: Node | undefined): number {
  if (node === undefined) return 0;
  return node.nodeType === NodeType.leaf ? 2 : 1;
}

/** Records the keys of `node` at `x` in `index`. */
export function indexKeys(index: KeyIndex, x: NodeIndex, node: Node | undefined): void {
  if (node === undefined) return;
  if (node.nodeType === NodeType.leaf) {
    index.addEncryptionKey(node.leafNode.encryptionKey, x);
    index.addSignatureKey(node.leafNode.signatureKey, x / 2);
  } else {
    index.addEncryptionKey(node.parentNode.encryptionKey, x);
  }
}

/** A fresh key index for the nodes of `entries`. */
export function buildKeyIndex(entries: PersistentVector<NodeEntry>): KeyIndex {
  const index = new KeyIndex();
  entries.forEachIn(0, entries.length, (e, x) => indexKeys(index, x, e.node));
  return index;
}

/** The smallest power of two L with 2L − 1 ≥ width (§12.4.3.3: the receiver pads with blanks). */
function leafCountFor(width: number): number {
  let n = 1;
  while (2 * n - 1 < width) n *= 2;
  return n;
}

export class RatchetTree extends TreeReader {
  readonly suite: CipherSuite;
  readonly leafCount: number;
  readonly credentialTypes: CredentialTypeCounts;
  protected readonly keyIndex: KeyIndex;

  /** Internal: trees come from `fromNodes`, `create` or a diff's `commit`. */
  constructor(readonly state: TreeState) {
    super();
    this.suite = state.suite;
    this.leafCount = state.leafCount;
    this.credentialTypes = state.credentialTypes;
    this.keyIndex = state.keyIndex;
  }

  /**
   * A tree from its `ratchet_tree` extension form. Checks the encoding rules only (at least one
   * node, last node non-blank, leaves at even and parents at odd positions); a tree received from
   * others must then pass `validateRatchetTree` before it is used (§12.4.3.1).
   * Throws MlsError('invalid_tree'). `leafBytes` (by node index) are the leaves' encodings as
   * received (receivedTree.ts), hashed without encoding the leaves again.
   */
  static fromNodes(
    suite: CipherSuite,
    nodes: RatchetTreeNodes,
    leafBytes?: readonly (Uint8Array | undefined)[],
  ): RatchetTree {
    const problem = ratchetTreeEncodingProblem(nodes);
    if (problem !== undefined) throw new MlsError('invalid_tree', problem);
    if (nodes.length > MAX_LENGTH / 2) {
      throw new MlsError('invalid_tree', `ratchet tree of ${nodes.length} nodes is too large`);
    }
    const leafCount = leafCountFor(nodes.length);
    const t = PersistentVector.empty<NodeEntry>().transient();
    t.resize(2 * leafCount - 1);
    buildSubtree(
      suite,
      leafCount - 1,
      (x) => (x < nodes.length ? nodes[x] : undefined),
      (x, e) => t.set(x, e),
      undefined,
      leafBytes === undefined ? undefined : (x) => leafBytes[x],
    );
    const entries = t.freeze();
    const credentialTypes = new Map<number, number>();
    let liveKeys = 0;
    for (let x = 0; x < nodes.length; x++) {
      const n = nodes[x];
      liveKeys += keysOf(n);
      if (n?.nodeType === NodeType.leaf) {
        const type = n.leafNode.credential.credentialType;
        credentialTypes.set(type, (credentialTypes.get(type) ?? 0) + 1);
      }
    }
    return new RatchetTree({
      suite,
      leafCount,
      entries,
      keyIndex: buildKeyIndex(entries),
      credentialTypes,
      liveKeys,
    });
  }

  /**
   * A tree from the `extension_data` of a `ratchet_tree` extension (§12.4.3.3).
   * Throws MlsError('decode_failed' | 'invalid_tree'); validate it before use.
   */
  static fromExtensionData(suite: CipherSuite, data: Uint8Array): RatchetTree {
    let nodes: RatchetTreeNodes;
    try {
      nodes = decode(ratchetTreeCodec, data);
    } catch (e) {
      throw new MlsError('decode_failed', 'ratchet_tree extension does not decode', { cause: e });
    }
    return RatchetTree.fromNodes(suite, nodes);
  }

  /** The `extension_data` of a `ratchet_tree` extension carrying this tree. */
  toExtensionData(): Uint8Array {
    return encode(ratchetTreeCodec, this.toNodes());
  }

  /** The tree of a new group: its creator alone at leaf 0 (§11). */
  static create(suite: CipherSuite, leaf: LeafNode): RatchetTree {
    return RatchetTree.fromNodes(suite, [{ nodeType: NodeType.leaf, leafNode: leaf }]);
  }

  /** Starts staging changes on top of this version. */
  stage(): TreeDiff {
    return new TreeDiff(this.state);
  }

  protected entry(x: NodeIndex): NodeEntry {
    return this.state.entries.get(x);
  }

  protected counted(x: NodeIndex): NodeEntry {
    return this.state.entries.get(x);
  }

  protected hashed(x: NodeIndex): NodeEntry {
    return this.state.entries.get(x);
  }

  protected forEachEntry(
    from: NodeIndex,
    to: NodeIndex,
    f: (e: NodeEntry, x: NodeIndex) => void,
  ): void {
    this.state.entries.forEachIn(from, to, f);
  }

  /**
   * The node indices at which this version and `other` hold different nodes (by identity: nodes
   * are immutable, so an unchanged node is the same object in both versions), ascending; indices
   * that exist in only one of the two are included. Two versions a commit apart share all but
   * the chunks on the changed paths, so this costs O(log n) here, not a walk of the tree.
   */
  changedNodes(other: RatchetTree): NodeIndex[] {
    const out: NodeIndex[] = [];
    const mine = this.state.entries;
    const theirs = other.state.entries;
    mine.forEachDifference(theirs, (x) => {
      // Entries on a changed path are new objects even where only the cached hash changed.
      if (x >= mine.length || x >= theirs.length || mine.get(x)?.node !== theirs.get(x)?.node) {
        out.push(x);
      }
    });
    return out;
  }

  /** Trie chunks of this version not shared with `other`: the extra cost of keeping both. */
  unsharedChunks(other: RatchetTree): number {
    return this.state.entries.unsharedChunks(other.state.entries);
  }
}
