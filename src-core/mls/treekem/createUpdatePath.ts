/**
 * Creating an UpdatePath (RFC 9420 §7.4–§7.6, §12.4.1): fresh keys for the committer's leaf and
 * filtered direct path, the new tree with parent hashes and the re-signed leaf, and each path
 * secret encrypted to the resolution of the matching copath node, leaving out the members added
 * by the same Commit.
 */
import { encode } from '../../codec/index.js';
import type { KeyPair } from '../../crypto/types.js';
import type { GroupContext } from '../groupContext.js';
import { groupContextCodec } from '../groupContext.js';
import type { HPKECiphertext } from '../hpkeCiphertext.js';
import type { LeafNode, LeafNodeContent } from '../leafNode.js';
import { LeafNodeSource, signLeafNode } from '../leafNode.js';
import { MlsError } from '../errors.js';
import type { RatchetTree } from '../ratchetTree/ratchetTree.js';
import { filteredDirectPath, resolutionExcluding } from '../ratchetTree/resolution.js';
import type { LeafIndex, NodeIndex } from '../treeMath.js';
import type { UpdatePath, UpdatePathNode } from '../updatePath.js';
import { UPDATE_PATH_NODE_LABEL, mergePathPublic } from './mergePath.js';
import { nextPathSecret, nodeKeyPair } from './pathSecrets.js';
import { PrivatePath } from './privatePath.js';

/** The fields of the committer's new LeafNode that it chooses; the rest TreeKEM fills in. */
export type LeafNodeTemplate = Pick<
  LeafNodeContent,
  'signatureKey' | 'credential' | 'capabilities' | 'extensions'
>;

export interface CreateUpdatePathOptions {
  /** The tree after the Commit's proposals (and, for an external Commit, the joiner's leaf slot). */
  readonly tree: RatchetTree;
  readonly leafIndex: LeafIndex;
  /** Members added by this Commit: path secrets are not encrypted to them (§7.6). */
  readonly excludedLeaves?: readonly LeafIndex[];
  /** The provisional GroupContext (§12.4.1) without tree_hash, which is computed here. */
  readonly groupContext: Omit<GroupContext, 'treeHash'>;
  readonly leafNode: LeafNodeTemplate;
  readonly signaturePrivateKey: Uint8Array;
}

export interface CreatedUpdatePath {
  readonly updatePath: UpdatePath;
  /** The tree with the path merged. */
  readonly tree: RatchetTree;
  /** The provisional GroupContext, with the new tree hash: the HPKE context used. */
  readonly groupContext: GroupContext;
  /** path_secret[n+1] after the last node (§12.4.1). */
  readonly commitSecret: Uint8Array;
  /**
   * The path secret of each filtered-direct-path node, for the Welcome's `path_secret` of each
   * new member (§12.4.3). Wipe them once the Welcome is built.
   */
  readonly pathSecrets: ReadonlyMap<NodeIndex, Uint8Array>;
  /** The committer's private keys for the new tree. */
  readonly privatePath: PrivatePath;
}

/** Creates an UpdatePath for the member at `leafIndex`. Nothing passed in is modified. */
export function createUpdatePath(opts: CreateUpdatePathOptions): CreatedUpdatePath {
  const { tree, leafIndex } = opts;
  const suite = tree.suite;
  if (!Number.isInteger(leafIndex) || leafIndex < 0 || leafIndex >= tree.leafCount) {
    throw new MlsError('leaf_out_of_range', `committer leaf ${leafIndex} outside the tree`);
  }
  const excluded = new Set(opts.excludedLeaves ?? []);
  const steps = filteredDirectPath(tree, leafIndex);

  // path_secret[0] is random; each next one is derived (§7.4).
  const secrets: Uint8Array[] = [];
  const keyPairs: KeyPair[] = [];
  let secret = suite.randomBytes(suite.kdf.size);
  for (let i = 0; i < steps.length; i++) {
    if (i > 0) secret = nextPathSecret(suite, secret);
    secrets.push(secret);
    keyPairs.push(nodeKeyPair(suite, secret));
  }
  const commitSecret = steps.length === 0 ? secret : nextPathSecret(suite, secret);

  const diff = tree.stage();
  const leafParentHash = mergePathPublic(
    tree,
    diff,
    leafIndex,
    steps,
    keyPairs.map((kp) => kp.publicKey),
  );
  const leafKeyPair = suite.generateHpkeKeyPair();
  const leafNode: LeafNode = signLeafNode(
    suite,
    {
      encryptionKey: leafKeyPair.publicKey,
      signatureKey: opts.leafNode.signatureKey,
      credential: opts.leafNode.credential,
      capabilities: opts.leafNode.capabilities,
      leafNodeSource: LeafNodeSource.commit,
      parentHash: leafParentHash,
      extensions: opts.leafNode.extensions,
    },
    opts.signaturePrivateKey,
    { groupId: opts.groupContext.groupId, leafIndex },
  );
  diff.setLeaf(leafIndex, leafNode);
  const next = diff.commit();

  const groupContext: GroupContext = { ...opts.groupContext, treeHash: next.treeHash() };
  const context = encode(groupContextCodec, groupContext);
  const nodes: UpdatePathNode[] = steps.map((step, i) => {
    const encryptedPathSecret: HPKECiphertext[] = [];
    // The copath child's subtree is the same in both trees; its resolution is read from `tree`.
    for (const y of resolutionExcluding(tree, step.copathChild, excluded)) {
      const pub = tree.encryptionKey(y)!;
      encryptedPathSecret.push(
        suite.encryptWithLabel(pub, UPDATE_PATH_NODE_LABEL, context, secrets[i]!),
      );
    }
    return { encryptionKey: keyPairs[i]!.publicKey, encryptedPathSecret };
  });

  const privatePath = PrivatePath.forLeaf(leafIndex, leafKeyPair).with(
    steps.map((step, i) => [step.node, keyPairs[i]!] as const),
  );
  return {
    updatePath: { leafNode, nodes },
    tree: next,
    groupContext,
    commitSecret,
    pathSecrets: new Map(steps.map((step, i) => [step.node, secrets[i]!])),
    privatePath,
  };
}
