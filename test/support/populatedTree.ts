/**
 * Builds a valid, fully populated ratchet tree of n members quickly, for tests and benchmarks: the
 * tree a group reaches once its members have committed (every parent with members on both sides
 * holds a key, parent-hash chains run up the left spines, leaves n.. are blank).
 *
 * Speed-ups that keep the tree valid for the operations under test:
 * - `sign: false` gives leaves a dummy signature (they then fail `validateRatchetTree`, nothing
 *   else looks at other members' signatures);
 * - for X25519/X448 suites, nodes nobody needs a private key for get random public keys (any
 *   32/56-byte string is a valid public key there); other suites always use real key pairs.
 * Members listed in `withKeys` get real keys for their leaf and direct path, returned as their
 * `PrivatePath`, and their signature private key.
 */
import type { CipherSuite, KeyPair } from '../../src-core/crypto/types.js';
import { CredentialType } from '../../src-core/mls/credential.js';
import type { LeafNode, LeafNodeContent } from '../../src-core/mls/leafNode.js';
import { LeafNodeSource, signLeafNode } from '../../src-core/mls/leafNode.js';
import type { Node, ParentNode } from '../../src-core/mls/ratchetTreeExtension.js';
import { NodeType } from '../../src-core/mls/ratchetTreeExtension.js';
import { RatchetTree } from '../../src-core/mls/ratchetTree/index.js';
import { parentHash } from '../../src-core/mls/ratchetTree/parentHash.js';
import { leafTreeHash, parentTreeHash } from '../../src-core/mls/ratchetTree/treeHash.js';
import { PrivatePath } from '../../src-core/mls/treekem/index.js';
import { directPath, level } from '../../src-core/mls/treeMath.js';

export interface PopulatedTreeOptions {
  readonly groupId: Uint8Array;
  /** Sign every leaf (slow: one signature key pair and one signature per member). Default true. */
  readonly sign?: boolean;
  /** Members to return private keys for. */
  readonly withKeys?: readonly number[];
}

export interface PopulatedTree {
  readonly tree: RatchetTree;
  readonly privatePaths: ReadonlyMap<number, PrivatePath>;
  readonly signatureKeys: ReadonlyMap<number, Uint8Array>;
}

export function memberLeafContent(
  suite: CipherSuite,
  i: number,
  encryptionKey: Uint8Array,
  signatureKey: Uint8Array,
  parentHashValue: Uint8Array,
): LeafNodeContent {
  return {
    encryptionKey,
    signatureKey,
    credential: {
      credentialType: CredentialType.basic,
      identity: new TextEncoder().encode(`member-${i}`),
    },
    capabilities: {
      versions: [1],
      cipherSuites: [suite.id],
      extensions: [],
      proposals: [],
      credentials: [CredentialType.basic],
    },
    leafNodeSource: LeafNodeSource.commit,
    parentHash: parentHashValue,
    extensions: [],
  };
}

export function buildPopulatedTree(
  suite: CipherSuite,
  n: number,
  opts: PopulatedTreeOptions,
): PopulatedTree {
  let leafCount = 1;
  while (leafCount < n) leafCount *= 2;
  const sign = opts.sign ?? true;
  const rawKeys = suite.hpke.kem.id === 0x20 || suite.hpke.kem.id === 0x21;
  const needKeys = new Set<number>();
  for (const i of opts.withKeys ?? []) {
    needKeys.add(2 * i);
    for (const x of directPath(2 * i, leafCount)) needKeys.add(x);
  }
  const keyPairs = new Map<number, KeyPair>();
  const publicKey = (x: number): Uint8Array => {
    if (rawKeys && !needKeys.has(x)) return suite.randomBytes(suite.hpke.kem.publicKeySize);
    const kp = suite.generateHpkeKeyPair();
    if (needKeys.has(x)) keyPairs.set(x, kp);
    return kp.publicKey;
  };
  const signatureKeys = new Map<number, Uint8Array>();
  const withKeys = new Set(opts.withKeys ?? []);
  const nodes: (Node | undefined)[] = new Array<Node | undefined>(2 * leafCount - 1);
  const members = (x: number): number => {
    const k = level(x);
    const first = (x - (2 ** k - 1)) / 2;
    return Math.max(0, Math.min(n, first + 2 ** k) - first);
  };

  // Fills the subtree under x, whose top carries `carried` as parent_hash; returns its tree hash.
  const build = (x: number, carried: Uint8Array): Uint8Array => {
    const k = level(x);
    if (k === 0) {
      const i = x / 2;
      if (i >= n) return leafTreeHash(suite, i, undefined);
      let leaf: LeafNode;
      const enc = publicKey(x);
      if (sign || withKeys.has(i)) {
        const sig = suite.generateSignatureKeyPair();
        if (withKeys.has(i)) signatureKeys.set(i, sig.privateKey);
        leaf = signLeafNode(
          suite,
          memberLeafContent(suite, i, enc, sig.publicKey, carried),
          sig.privateKey,
          {
            groupId: opts.groupId,
            leafIndex: i,
          },
        );
      } else {
        const content = memberLeafContent(suite, i, enc, suite.randomBytes(32), carried);
        leaf = { ...content, signature: new Uint8Array(64) };
      }
      nodes[x] = { nodeType: NodeType.leaf, leafNode: leaf };
      return leafTreeHash(suite, i, leaf);
    }
    const half = 2 ** (k - 1);
    const l = x - half;
    const r = x + half;
    if (members(r) === 0) {
      // Nothing to the right: x is blank (never on a filtered direct path); the chain skips it.
      const lh = build(l, carried);
      return parentTreeHash(suite, undefined, lh, build(r, new Uint8Array(0)));
    }
    const parent: ParentNode = {
      encryptionKey: publicKey(x),
      parentHash: carried,
      unmergedLeaves: [],
    };
    nodes[x] = { nodeType: NodeType.parent, parentNode: parent };
    // The right child tops its own chain (set by an older commit: any parent hash will do).
    const rh = build(r, suite.randomBytes(suite.hash.size));
    const lh = build(l, parentHash(suite, parent, rh));
    return parentTreeHash(suite, parent, lh, rh);
  };
  build(leafCount - 1, new Uint8Array(0));

  let last = nodes.length - 1;
  while (last > 0 && nodes[last] === undefined) last--;
  const tree = RatchetTree.fromNodes(suite, nodes.slice(0, last + 1));
  const privatePaths = new Map<number, PrivatePath>();
  for (const i of withKeys) {
    let p = PrivatePath.forLeaf(i, keyPairs.get(2 * i)!);
    const path: [number, KeyPair][] = [];
    for (const x of directPath(2 * i, leafCount)) {
      const kp = keyPairs.get(x);
      if (kp !== undefined && tree.node(x) !== undefined) path.push([x, kp]);
    }
    p = p.with(path);
    privatePaths.set(i, p);
  }
  return { tree, privatePaths, signatureKeys };
}
