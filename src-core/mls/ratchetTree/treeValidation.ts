/**
 * Validating a ratchet tree received on joining (RFC 9420 §12.4.3.1, with §7.3 and §7.9.2): the
 * one place where a walk of every node is required. The cheap structural rules run first and the
 * signatures (one verification per member, the dominant cost) last.
 *
 * Credential validation with the Authentication Service is the caller's: it needs identities,
 * which this layer knows nothing of.
 */
import { Writer, encode, opaque, uint32, varint, varintSize } from '../../codec/index.js';
import { mlsLabel, signContentCodec } from '../../crypto/labels.js';
import { supportsCredential } from '../capabilities.js';
import { MlsError } from '../errors.js';
import type { Extension } from '../extension.js';
import type { LeafNode, LifetimePolicy } from '../leafNode.js';
import {
  LeafNodeSource,
  checkLeafNodeCapabilities,
  checkLifetime,
  encodeLeafNodeTbs,
} from '../leafNode.js';
import type { RatchetTreeNodes } from '../ratchetTreeExtension.js';
import { NodeType } from '../ratchetTreeExtension.js';
import type { LeafIndex } from '../treeMath.js';
import { directPath } from '../treeMath.js';
import { keyString } from './keyIndex.js';
import { checkRequiredCapabilities, requiredCapabilitiesOf } from './leafValidation.js';
import { lowerBound, verifyParentHashes } from './parentHash.js';
import type { TreeReader } from './treeReader.js';
import { equalBytes, leafSpan } from './treeReader.js';

export interface TreeValidationContext {
  /** The group's id: `update` and `commit` leaves are signed over it (§7.2). */
  readonly groupId: Uint8Array;
  /** The `tree_hash` of the GroupContext the tree comes with. */
  readonly treeHash: Uint8Array;
  /** The GroupContext extensions (for `required_capabilities`). */
  readonly extensions: readonly Extension[];
  /** Checks key_package leaves' lifetimes when given (recommended, §7.3). */
  readonly lifetime?: LifetimePolicy;
  /**
   * A leaf's LeafNode encoding as received (receivedTree.ts), signed over without encoding the
   * leaf again. Must be exactly the encoding of the tree's LeafNode at that index.
   */
  readonly leafBytes?: (leafIndex: LeafIndex) => Uint8Array | undefined;
}

/**
 * Checks that a received tree may be used (§12.4.3.1). Throws MlsError naming the first broken
 * rule: tree_hash_mismatch, invalid_tree, unmerged_leaves_invalid, duplicate_encryption_key,
 * duplicate_signature_key, missing_required_capability, credential_type_unsupported,
 * parent_hash_invalid, unsupported_capability, duplicate_extension, invalid_lifetime,
 * invalid_signature.
 */
export function validateRatchetTree(tree: TreeReader, ctx: TreeValidationContext): void {
  checkTreeStructure(tree, ctx);
  const label = mlsLabel(LEAF_NODE_TBS_LABEL);
  const scheme = tree.suite.signature;
  tree.forEachMember((leaf, leafIndex) => {
    const c = leafSignatureCheck(leaf, leafIndex, ctx, label);
    if (!scheme.verify(c.publicKey, c.message, c.signature)) {
      throw new MlsError('invalid_signature', `leaf ${leafIndex}: LeafNode signature`);
    }
  });
}

/**
 * The checks of `verifyLeafNode` for a leaf of the tree except the signature, which is returned
 * to verify: its own capabilities (§7.3), the lifetime of a key_package leaf, and the SignContent
 * of its LeafNodeTBS (bound to the group unless it is a key_package leaf, §7.2).
 */
function leafSignatureCheck(
  leaf: LeafNode,
  leafIndex: LeafIndex,
  ctx: TreeValidationContext,
  label: Uint8Array,
): LeafSignatureCheck {
  checkLeafLocally(leaf, ctx);
  return leafSignContent(leaf, leafIndex, ctx, label);
}

/** §7.3 for one leaf of the tree, short of its signature. */
function checkLeafLocally(leaf: LeafNode, ctx: TreeValidationContext): void {
  checkLeafNodeCapabilities(leaf);
  if (leaf.leafNodeSource === LeafNodeSource.keyPackage && ctx.lifetime !== undefined) {
    checkLifetime(leaf.lifetime, ctx.lifetime);
  }
}

/** The signature check of a leaf: SignContent("LeafNodeTBS", LeafNodeTBS) under its key. */
function leafSignContent(
  leaf: LeafNode,
  leafIndex: LeafIndex,
  ctx: Pick<TreeValidationContext, 'groupId' | 'leafBytes'>,
  label: Uint8Array,
): LeafSignatureCheck {
  const keyPackage = leaf.leafNodeSource === LeafNodeSource.keyPackage;
  const binding = keyPackage ? undefined : { groupId: ctx.groupId, leafIndex };
  const received = ctx.leafBytes?.(leafIndex);
  let message: Uint8Array;
  if (received === undefined) {
    message = encode(signContentCodec, { label, content: encodeLeafNodeTbs(leaf, binding) });
  } else {
    // LeafNodeTBS is the LeafNode without its signature, then the binding: one buffer, no copy
    // of the leaf beyond this one.
    const signed = received.length - varintSize(leaf.signature.length) - leaf.signature.length;
    const tbsLength =
      signed +
      (binding === undefined ? 0 : varintSize(binding.groupId.length) + binding.groupId.length + 4);
    const w = new Writer(
      varintSize(label.length) + label.length + varintSize(tbsLength) + tbsLength,
    );
    opaque.encode(w, label);
    varint.encode(w, tbsLength);
    w.bytes(received.subarray(0, signed));
    if (binding !== undefined) {
      opaque.encode(w, binding.groupId);
      uint32.encode(w, binding.leafIndex);
    }
    message = w.finish();
  }
  return { leafIndex, publicKey: leaf.signatureKey, message, signature: leaf.signature };
}

/** One leaf signature to check: SignWithLabel(signature_key, "LeafNodeTBS", LeafNodeTBS). */
export interface LeafSignatureCheck {
  readonly leafIndex: LeafIndex;
  readonly publicKey: Uint8Array;
  /** The bytes the signature scheme verifies: the encoded SignContent (§5.1.2). */
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

/**
 * Verifies a batch of signatures with the group's signature scheme, one result per check, in
 * order. Lets a caller spread the one verification per member that dominates a join over several
 * cores (e.g. node:crypto's thread pool), which this synchronous layer cannot do itself.
 */
export type SignatureBatchVerifier = (
  checks: readonly LeafSignatureCheck[],
) => Promise<readonly boolean[]>;

const SIGNATURE_BATCH = 1024;

/** Batches handed to the verifier before waiting for the oldest: keeps every core busy. */
const BATCHES_IN_FLIGHT = 3;
const LEAF_NODE_TBS_LABEL = 'LeafNodeTBS';

interface PendingBatch {
  readonly checks: readonly LeafSignatureCheck[];
  readonly results: Promise<readonly boolean[]>;
}

/**
 * `validateRatchetTree` with the leaf signatures checked by `verifyBatch`, in batches, several at
 * a time while the next ones are encoded (the messages of a large tree are not all held at once).
 * Same rules, same error codes, and the same first error: results are taken in leaf order, and a
 * leaf failing another rule is reported only once the signatures of the leaves before it passed.
 */
export async function validateRatchetTreeAsync(
  tree: TreeReader,
  ctx: TreeValidationContext,
  verifyBatch: SignatureBatchVerifier,
  started?: StartedLeafSignatures,
): Promise<void> {
  checkTreeStructure(tree, ctx);
  if (started !== undefined) {
    await checkStartedSignatures(tree, ctx, started);
    return;
  }
  const label = mlsLabel(LEAF_NODE_TBS_LABEL);
  const pending: PendingBatch[] = [];
  const settleOldest = async (): Promise<void> => {
    const { checks, results } = pending.shift()!;
    const ok = await results;
    if (ok.length !== checks.length) {
      throw new MlsError('invalid_argument', 'signature verifier returned a wrong result count');
    }
    for (let i = 0; i < checks.length; i++) {
      if (ok[i] !== true) {
        throw new MlsError('invalid_signature', `leaf ${checks[i]!.leafIndex}: LeafNode signature`);
      }
    }
  };
  const leaves: [LeafNode, LeafIndex][] = [];
  tree.forEachMember((leaf, leafIndex) => leaves.push([leaf, leafIndex]));
  try {
    let batch: LeafSignatureCheck[] = [];
    const submit = async (): Promise<void> => {
      pending.push({ checks: batch, results: verifyBatch(batch) });
      batch = [];
      if (pending.length >= BATCHES_IN_FLIGHT) await settleOldest();
    };
    for (const [leaf, leafIndex] of leaves) {
      let check: LeafSignatureCheck;
      try {
        check = leafSignatureCheck(leaf, leafIndex, ctx, label);
      } catch (e) {
        // A signature of an earlier leaf that fails is the first error, as in the sync walk.
        if (batch.length > 0) await submit();
        while (pending.length > 0) await settleOldest();
        throw e;
      }
      batch.push(check);
      if (batch.length === SIGNATURE_BATCH) await submit();
    }
    if (batch.length > 0) await submit();
    while (pending.length > 0) await settleOldest();
  } finally {
    // Batches still out when an error is thrown: their outcome no longer matters.
    for (const p of pending) p.results.catch(() => undefined);
  }
}

/** Leaf signatures handed to a verifier before their tree is built (`startLeafSignatures`). */
export interface StartedLeafSignatures {
  readonly checks: readonly LeafSignatureCheck[];
  readonly results: Promise<readonly boolean[]>;
}

/**
 * Hands every leaf signature of a received tree (`nodes` in extension order) to `verifyBatch` at
 * once, so that other cores verify while this one builds and checks the tree. Nothing is decided
 * here: `validateRatchetTreeAsync` applies every rule in the usual order and takes each leaf's
 * result where the synchronous walk would verify it.
 */
export function startLeafSignatures(
  nodes: RatchetTreeNodes,
  ctx: Pick<TreeValidationContext, 'groupId' | 'leafBytes'>,
  verifyBatch: SignatureBatchVerifier,
): StartedLeafSignatures {
  const label = mlsLabel(LEAF_NODE_TBS_LABEL);
  const checks: LeafSignatureCheck[] = [];
  for (let x = 0; x < nodes.length; x += 2) {
    const n = nodes[x];
    if (n?.nodeType === NodeType.leaf) checks.push(leafSignContent(n.leafNode, x / 2, ctx, label));
  }
  const results = verifyBatch(checks);
  // Rejections are seen where the results are awaited; a join abandoned earlier ignores them.
  results.catch(() => undefined);
  return { checks, results };
}

async function checkStartedSignatures(
  tree: TreeReader,
  ctx: TreeValidationContext,
  started: StartedLeafSignatures,
): Promise<void> {
  const leaves: [LeafNode, LeafIndex][] = [];
  tree.forEachMember((leaf, leafIndex) => leaves.push([leaf, leafIndex]));
  const { checks } = started;
  if (checks.length !== leaves.length) {
    throw new MlsError('invalid_argument', 'started signatures are not those of this tree');
  }
  let ok: readonly boolean[] | undefined;
  for (let i = 0; i < leaves.length; i++) {
    const [leaf, leafIndex] = leaves[i]!;
    checkLeafLocally(leaf, ctx);
    const c = checks[i]!;
    if (
      c.leafIndex !== leafIndex ||
      c.publicKey !== leaf.signatureKey ||
      c.signature !== leaf.signature
    ) {
      throw new MlsError('invalid_argument', 'started signatures are not those of this tree');
    }
    ok ??= await started.results;
    if (ok.length !== checks.length) {
      throw new MlsError('invalid_argument', 'signature verifier returned a wrong result count');
    }
    if (ok[i] !== true) {
      throw new MlsError('invalid_signature', `leaf ${leafIndex}: LeafNode signature`);
    }
  }
}

/** Every rule of §12.4.3.1 except the per-leaf checks of `verifyLeafNode`. */
function checkTreeStructure(tree: TreeReader, ctx: TreeValidationContext): void {
  if (!equalBytes(tree.treeHash(), ctx.treeHash)) {
    throw new MlsError('tree_hash_mismatch', 'the tree does not match the GroupContext tree_hash');
  }
  if (tree.memberCount === 0) throw new MlsError('invalid_tree', 'the tree has no members');
  checkUnmergedLeaves(tree);
  checkKeysUnique(tree);
  checkMembersSupportGroup(tree, ctx.extensions);
  verifyParentHashes(tree);
}

/**
 * Every parent's `unmerged_leaves` is sorted without repeats (§7.1), names non-blank leaves below
 * the parent, and each such leaf is also unmerged at every non-blank node between it and the
 * parent (§12.4.3.1).
 */
export function checkUnmergedLeaves(tree: TreeReader): void {
  const width = tree.leafCount;
  tree.forEachParent((parent, p) => {
    const { first, count } = leafSpan(p);
    let previous = -1;
    for (const u of parent.unmergedLeaves) {
      if (u <= previous) {
        throw new MlsError('unmerged_leaves_invalid', `node ${p}: unmerged_leaves not sorted`);
      }
      previous = u;
      if (u < first || u >= first + count) {
        throw new MlsError('unmerged_leaves_invalid', `node ${p}: leaf ${u} is not below it`);
      }
      if (tree.leafNode(u) === undefined) {
        throw new MlsError('unmerged_leaves_invalid', `node ${p}: unmerged leaf ${u} is blank`);
      }
      for (const q of directPath(2 * u, width)) {
        if (q === p) break;
        const between = tree.parentNode(q);
        if (between !== undefined && !sortedIncludes(between.unmergedLeaves, u)) {
          throw new MlsError(
            'unmerged_leaves_invalid',
            `leaf ${u} is unmerged at node ${p} but not at node ${q} below it`,
          );
        }
      }
    }
  });
}

function sortedIncludes(xs: readonly number[], v: number): boolean {
  return xs[lowerBound(xs, v)] === v;
}

/**
 * No encryption key appears twice in the tree, no signature key twice among the leaves (§7.3,
 * §12.4.3.1, §16.8).
 */
export function checkKeysUnique(tree: TreeReader): void {
  // The tree's key index already holds every key once per position: without a repeat there,
  // there is nothing to find. With one, the walk below names the first repeat in node order.
  if (!tree.mayRepeatKeys()) return;
  const encryption = new Map<string, number>();
  const signature = new Map<string, number>();
  const seeEncryption = (key: Uint8Array, x: number): void => {
    const k = keyString(key);
    const other = encryption.get(k);
    if (other !== undefined) {
      throw new MlsError('duplicate_encryption_key', `nodes ${other} and ${x} share a key`);
    }
    encryption.set(k, x);
  };
  tree.forEachMember((leaf, i) => {
    seeEncryption(leaf.encryptionKey, 2 * i);
    const k = keyString(leaf.signatureKey);
    const other = signature.get(k);
    if (other !== undefined) {
      throw new MlsError('duplicate_signature_key', `leaves ${other} and ${i} share a key`);
    }
    signature.set(k, i);
  });
  tree.forEachParent((parent, x) => seeEncryption(parent.encryptionKey, x));
}

/**
 * Each member supports the group's required capabilities and every credential type in use (§7.3:
 * each type is supported by all members, and each member supports all types in use).
 */
export function checkMembersSupportGroup(tree: TreeReader, extensions: readonly Extension[]): void {
  const required = requiredCapabilitiesOf(extensions);
  const inUse = [...tree.credentialTypes.keys()];
  tree.forEachMember((leaf: LeafNode, i) => {
    checkRequiredCapabilities(leaf, required);
    for (const type of inUse) {
      if (!supportsCredential(leaf.capabilities, type)) {
        throw new MlsError(
          'credential_type_unsupported',
          `leaf ${i} does not support credential type ${type} used in the group`,
        );
      }
    }
  });
}
