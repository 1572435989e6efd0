/**
 * Processing a received UpdatePath (RFC 9420 §7.5, §7.6, §12.4.2): validate the sender's new leaf
 * and the path against the tree, merge the public keys and check the parent hash the leaf signed,
 * then decrypt the one path secret meant for us, derive the rest of the chain and check every
 * derived public key against the path.
 *
 * Nothing passed in is modified: the result is a new tree version and a new private state, which
 * the caller adopts (then `PrivatePath.retire`s the old one) or drops with the commit.
 */
import { encode } from '../../codec/index.js';
import { CryptoError } from '../../crypto/index.js';
import type { KeyPair } from '../../crypto/types.js';
import { MlsError } from '../errors.js';
import type { GroupContext } from '../groupContext.js';
import { groupContextCodec } from '../groupContext.js';
import type { LifetimePolicy } from '../leafNode.js';
import { LeafNodeSource } from '../leafNode.js';
import { keyString } from '../ratchetTree/keyIndex.js';
import { validateLeafNodeForTree } from '../ratchetTree/leafValidation.js';
import type { RatchetTree } from '../ratchetTree/ratchetTree.js';
import type { PathStep } from '../ratchetTree/resolution.js';
import { filteredDirectPath, resolutionExcluding } from '../ratchetTree/resolution.js';
import { equalBytes, leafSpan } from '../ratchetTree/treeReader.js';
import type { LeafIndex, NodeIndex } from '../treeMath.js';
import { directPath } from '../treeMath.js';
import type { UpdatePath } from '../updatePath.js';
import { UPDATE_PATH_NODE_LABEL, mergePathPublic } from './mergePath.js';
import { nextPathSecret, nodeKeyPair } from './pathSecrets.js';
import type { PrivatePath } from './privatePath.js';

export interface ProcessUpdatePathOptions {
  /** The tree after the Commit's proposals. */
  readonly tree: RatchetTree;
  readonly sender: LeafIndex;
  readonly updatePath: UpdatePath;
  /** Members added by this Commit, left out of the encryption (§7.6). */
  readonly excludedLeaves?: readonly LeafIndex[];
  /** The provisional GroupContext (§12.4.2) without tree_hash, which is computed here. */
  readonly groupContext: Omit<GroupContext, 'treeHash'>;
  /** Our private keys for `tree`. */
  readonly privatePath: PrivatePath;
  /** Checks a key_package leaf lifetime when given (not applicable to commit leaves). */
  readonly lifetime?: LifetimePolicy;
}

export interface ProcessedUpdatePath {
  readonly tree: RatchetTree;
  readonly groupContext: GroupContext;
  readonly commitSecret: Uint8Array;
  /** Our private keys for the new tree. */
  readonly privatePath: PrivatePath;
  /** The node whose path secret was encrypted to us (the first one we derived). */
  readonly decryptedAt: NodeIndex;
}

/**
 * The public checks and the merge, without decryption: what every receiver, and a new member's
 * view of a Commit, agrees on. Returns the merged tree and the filtered direct path used.
 */
export function mergeUpdatePath(opts: Omit<ProcessUpdatePathOptions, 'privatePath'>): {
  readonly tree: RatchetTree;
  readonly steps: readonly PathStep[];
} {
  const { tree, sender, updatePath } = opts;
  if (!Number.isInteger(sender) || sender < 0 || sender >= tree.leafCount) {
    throw new MlsError('leaf_out_of_range', `UpdatePath sender ${sender} outside the tree`);
  }
  const leaf = updatePath.leafNode;
  // §12.4.2: a commit leaf valid for this group; its encryption key differs from every key in the
  // tree (including the sender's current one), its signature key from every other member's.
  validateLeafNodeForTree(tree, leaf, sender, LeafNodeSource.commit, {
    groupId: opts.groupContext.groupId,
    extensions: opts.groupContext.extensions,
    ...(opts.lifetime === undefined ? {} : { lifetime: opts.lifetime }),
  });
  const steps = filteredDirectPath(tree, sender);
  if (updatePath.nodes.length !== steps.length) {
    throw new MlsError(
      'update_path_length',
      `UpdatePath has ${updatePath.nodes.length} nodes, the filtered direct path ${steps.length}`,
    );
  }
  const excluded = new Set(opts.excludedLeaves ?? []);
  const seen = new Set<string>([keyString(leaf.encryptionKey)]);
  steps.forEach((step, i) => {
    const node = updatePath.nodes[i]!;
    const k = keyString(node.encryptionKey);
    const at = tree.findEncryptionKey(node.encryptionKey);
    if (seen.has(k) || at !== undefined) {
      throw new MlsError(
        'duplicate_encryption_key',
        `UpdatePath key for node ${step.node} is already in the tree or the path`,
      );
    }
    seen.add(k);
    const want = resolutionExcluding(tree, step.copathChild, excluded).length;
    if (node.encryptedPathSecret.length !== want) {
      throw new MlsError(
        'update_path_ciphertext_count',
        `node ${step.node}: ${node.encryptedPathSecret.length} ciphertexts, resolution has ${want}`,
      );
    }
  });
  const diff = tree.stage();
  const expected = mergePathPublic(
    tree,
    diff,
    sender,
    steps,
    updatePath.nodes.map((n) => n.encryptionKey),
  );
  if (leaf.leafNodeSource !== LeafNodeSource.commit || !equalBytes(leaf.parentHash, expected)) {
    throw new MlsError('parent_hash_invalid', "the new leaf's parent_hash does not match its path");
  }
  diff.setLeaf(sender, leaf);
  return { tree: diff.commit(), steps };
}

/** Processes an UpdatePath sent by another member. Throws MlsError naming the failed rule. */
export function processUpdatePath(opts: ProcessUpdatePathOptions): ProcessedUpdatePath {
  const { tree, sender, updatePath } = opts;
  const suite = tree.suite;
  const me = opts.privatePath.leafIndex;
  if (me === sender) {
    throw new MlsError('invalid_argument', 'a committer keeps the result of createUpdatePath');
  }
  if (me >= tree.leafCount || tree.leafNode(me) === undefined) {
    throw new MlsError('blank_leaf', `our leaf ${me} is not in the tree`);
  }
  const excluded = new Set(opts.excludedLeaves ?? []);
  if (excluded.has(me)) {
    throw new MlsError('invalid_argument', 'a member added by this Commit joins by its Welcome');
  }
  const mine = opts.privatePath.consistentWith(tree);
  const { tree: next, steps } = mergeUpdatePath(opts);

  // The first step whose copath child covers us: its path secret was encrypted to a node we hold.
  const first = steps.findIndex((s) => {
    const { first: lo, count } = leafSpan(s.copathChild);
    return me >= lo && me < lo + count;
  });
  if (first < 0) throw new MlsError('no_private_key_for_path', 'no path node covers our leaf');
  const step = steps[first]!;
  const targets = resolutionExcluding(tree, step.copathChild, excluded);
  const slot = targets.findIndex((y) => mine.keyPair(y) !== undefined);
  if (slot < 0) {
    throw new MlsError(
      'no_private_key_for_path',
      `no key for the resolution of ${step.copathChild}`,
    );
  }
  const groupContext: GroupContext = { ...opts.groupContext, treeHash: next.treeHash() };
  const ct = updatePath.nodes[first]!.encryptedPathSecret[slot]!;
  let secret: Uint8Array;
  try {
    secret = suite.decryptWithLabel(
      mine.keyPair(targets[slot]!)!.privateKey,
      UPDATE_PATH_NODE_LABEL,
      encode(groupContextCodec, groupContext),
      ct.kemOutput,
      ct.ciphertext,
    );
  } catch (e) {
    if (e instanceof CryptoError) {
      throw new MlsError('decryption_failed', `path secret for node ${step.node}`, { cause: e });
    }
    throw e;
  }
  if (secret.length !== suite.kdf.size) {
    secret.fill(0);
    throw new MlsError('decryption_failed', `path secret of ${secret.length} bytes`);
  }

  const derived: [NodeIndex, KeyPair][] = [];
  for (let i = first; i < steps.length; i++) {
    if (i > first) {
      const n = nextPathSecret(suite, secret);
      secret.fill(0);
      secret = n;
    }
    const kp = nodeKeyPair(suite, secret);
    if (!equalBytes(kp.publicKey, updatePath.nodes[i]!.encryptionKey)) {
      kp.privateKey.fill(0);
      secret.fill(0);
      for (const [, d] of derived) d.privateKey.fill(0);
      throw new MlsError('update_path_key_mismatch', `derived key for node ${steps[i]!.node}`);
    }
    derived.push([steps[i]!.node, kp]);
  }
  const commitSecret = nextPathSecret(suite, secret);
  secret.fill(0);

  // Every node on the sender's direct path was blanked or replaced: our old keys there are gone.
  const privatePath = mine.with(derived, directPath(2 * sender, tree.leafCount));
  return { tree: next, groupContext, commitSecret, privatePath, decryptedAt: step.node };
}
