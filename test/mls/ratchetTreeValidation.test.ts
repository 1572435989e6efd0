// Join-time tree validation (RFC 9420 §12.4.3.1): a valid tree passes, and each rule, broken on
// its own, is reported with its own error code by both the synchronous and the batched variant.
import { describe, expect, it } from 'vitest';
import { encode } from '../../src-core/codec/index.js';
import { cipherSuite } from '../../src-core/crypto/index.js';
import { requiredCapabilitiesCodec } from '../../src-core/mls/capabilities.js';
import { CredentialType } from '../../src-core/mls/credential.js';
import type { MlsErrorCode } from '../../src-core/mls/errors.js';
import { MlsError } from '../../src-core/mls/errors.js';
import { ExtensionType } from '../../src-core/mls/extension.js';
import type { Extension } from '../../src-core/mls/extension.js';
import type { LeafNode, LeafNodeContent } from '../../src-core/mls/leafNode.js';
import { LeafNodeSource, signLeafNode } from '../../src-core/mls/leafNode.js';
import type { Node, ParentNode } from '../../src-core/mls/ratchetTreeExtension.js';
import { NodeType } from '../../src-core/mls/ratchetTreeExtension.js';
import type { TreeValidationContext } from '../../src-core/mls/ratchetTree/index.js';
import {
  RatchetTree,
  applyAdd,
  validateLeafNodeForTree,
  validateRatchetTree,
  validateRatchetTreeAsync,
} from '../../src-core/mls/ratchetTree/index.js';
import { buildPopulatedTree, memberLeafContent } from '../support/populatedTree.js';

const suite = cipherSuite(1);
const groupId = new TextEncoder().encode('validation');
const N = 6;
const base = buildPopulatedTree(suite, N, {
  groupId,
  withKeys: Array.from({ length: N }, (_, i) => i),
});

function keyPackageLeaf(i: number, notAfter = 2n ** 40n): LeafNode {
  const sig = suite.generateSignatureKeyPair();
  const content = memberLeafContent(
    suite,
    100 + i,
    suite.generateHpkeKeyPair().publicKey,
    sig.publicKey,
    new Uint8Array(0),
  );
  const { parentHash: _unused, ...rest } = content as LeafNodeContent & { parentHash: Uint8Array };
  return signLeafNode(
    suite,
    { ...rest, leafNodeSource: LeafNodeSource.keyPackage, lifetime: { notBefore: 0n, notAfter } },
    sig.privateKey,
  );
}

/** The base tree with two members added by Add (unmerged at the non-blank nodes above them). */
function withUnmerged(): RatchetTree {
  const diff = base.tree.stage();
  applyAdd(diff, keyPackageLeaf(1, 1000n));
  applyAdd(diff, keyPackageLeaf(2));
  return diff.commit();
}

function nodesOf(tree: RatchetTree): (Node | undefined)[] {
  return [...tree.toNodes()];
}

function leafAt(nodes: (Node | undefined)[], i: number): LeafNode {
  const n = nodes[2 * i];
  if (n?.nodeType !== NodeType.leaf) throw new Error(`leaf ${i} blank`);
  return n.leafNode;
}

function parentAt(nodes: (Node | undefined)[], x: number): ParentNode {
  const n = nodes[x];
  if (n?.nodeType !== NodeType.parent) throw new Error(`parent ${x} blank`);
  return n.parentNode;
}

/** Replaces leaf i with `content`, signed again by its owner (so only the intended rule breaks). */
function resign(nodes: (Node | undefined)[], i: number, content: LeafNodeContent): void {
  const leaf = signLeafNode(suite, content, base.signatureKeys.get(i)!, { groupId, leafIndex: i });
  nodes[2 * i] = { nodeType: NodeType.leaf, leafNode: leaf };
}

function ctxFor(
  tree: RatchetTree,
  over: Partial<TreeValidationContext> = {},
): TreeValidationContext {
  return { groupId, treeHash: tree.treeHash(), extensions: [], ...over };
}

async function expectCode(
  tree: RatchetTree,
  code: MlsErrorCode,
  over: Partial<TreeValidationContext> = {},
): Promise<void> {
  const ctx = ctxFor(tree, over);
  let err: unknown;
  try {
    validateRatchetTree(tree, ctx);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(MlsError);
  expect((err as MlsError).code).toBe(code);
  const verify = async (
    checks: readonly { publicKey: Uint8Array; message: Uint8Array; signature: Uint8Array }[],
  ) => checks.map((c) => suite.signature.verify(c.publicKey, c.message, c.signature));
  await expect(validateRatchetTreeAsync(tree, ctx, verify)).rejects.toMatchObject({ code });
}

function tree(nodes: (Node | undefined)[]): RatchetTree {
  return RatchetTree.fromNodes(suite, nodes);
}

describe('validateRatchetTree', () => {
  it('accepts a populated tree and one with unmerged leaves and blank nodes', async () => {
    for (const t of [base.tree, withUnmerged()]) {
      validateRatchetTree(t, ctxFor(t));
      await validateRatchetTreeAsync(t, ctxFor(t), async (checks) =>
        checks.map((c) => suite.signature.verify(c.publicKey, c.message, c.signature)),
      );
    }
  });

  it('tree_hash_mismatch', async () => {
    await expectCode(base.tree, 'tree_hash_mismatch', { treeHash: new Uint8Array(32) });
  });

  it('invalid_tree: no members', async () => {
    const p: ParentNode = {
      encryptionKey: suite.randomBytes(32),
      parentHash: new Uint8Array(0),
      unmergedLeaves: [],
    };
    await expectCode(
      tree([undefined, { nodeType: NodeType.parent, parentNode: p }]),
      'invalid_tree',
    );
  });

  describe('unmerged_leaves_invalid', () => {
    // withUnmerged(): 8 leaves, members 0-5 committed (nodes 1, 3, 5, 9 and the root 7 hold keys),
    // leaves 6 and 7 added since, unmerged at the root (the only non-blank node above them).
    const t = withUnmerged();
    const nodes = nodesOf(t);
    const root = t.root;
    const unmergedAt = (x: number, unmergedLeaves: number[]) => {
      const copy = [...nodes];
      copy[x] = { nodeType: NodeType.parent, parentNode: { ...parentAt(copy, x), unmergedLeaves } };
      return tree(copy);
    };
    const withUnmergedRoot = parentAt(nodes, root).unmergedLeaves;

    it('has the expected shape', () => {
      expect(withUnmergedRoot).toEqual([6, 7]);
    });
    it('not sorted', async () => {
      await expectCode(unmergedAt(root, [7, 6]), 'unmerged_leaves_invalid');
    });
    it('repeated', async () => {
      await expectCode(unmergedAt(root, [6, 6, 7]), 'unmerged_leaves_invalid');
    });
    it('not below the node', async () => {
      await expectCode(unmergedAt(1, [2]), 'unmerged_leaves_invalid');
    });
    it('blank leaf', async () => {
      // Leaf 7 (node 14, the last one) dropped: the root still lists it.
      await expectCode(tree(nodes.slice(0, 13)), 'unmerged_leaves_invalid');
    });
    it('missing at a non-blank node in between', async () => {
      // Leaf 2 unmerged at node 3 but not at node 5 between them.
      await expectCode(unmergedAt(3, [2]), 'unmerged_leaves_invalid');
    });
  });

  it('duplicate_encryption_key: two leaves, or a parent and a leaf', async () => {
    const a = nodesOf(base.tree);
    resign(a, 1, { ...leafAt(a, 1), encryptionKey: leafAt(a, 0).encryptionKey });
    await expectCode(tree(a), 'duplicate_encryption_key');
    const b = nodesOf(base.tree);
    b[5] = {
      nodeType: NodeType.parent,
      parentNode: { ...parentAt(b, 5), encryptionKey: leafAt(b, 0).encryptionKey },
    };
    await expectCode(tree(b), 'duplicate_encryption_key');
  });

  it('duplicate_signature_key', async () => {
    const a = nodesOf(base.tree);
    a[2] = {
      nodeType: NodeType.leaf,
      leafNode: { ...leafAt(a, 1), signatureKey: leafAt(a, 0).signatureKey },
    };
    await expectCode(tree(a), 'duplicate_signature_key');
  });

  it('missing_required_capability', async () => {
    const required: Extension = {
      extensionType: ExtensionType.requiredCapabilities,
      extensionData: encode(requiredCapabilitiesCodec, {
        extensionTypes: [0xff00],
        proposalTypes: [],
        credentialTypes: [],
      }),
    };
    await expectCode(base.tree, 'missing_required_capability', { extensions: [required] });
  });

  it('credential_type_unsupported', async () => {
    const a = nodesOf(base.tree);
    const leaf = leafAt(a, 0);
    resign(a, 0, {
      ...leaf,
      credential: { credentialType: CredentialType.x509, certificates: [] },
      capabilities: { ...leaf.capabilities, credentials: [1, 2] },
    });
    await expectCode(tree(a), 'credential_type_unsupported');
  });

  it('parent_hash_invalid', async () => {
    const a = nodesOf(base.tree);
    const root = base.tree.root;
    a[root] = {
      nodeType: NodeType.parent,
      parentNode: { ...parentAt(a, root), parentHash: new Uint8Array(32) },
    };
    await expectCode(tree(a), 'parent_hash_invalid');
    // A parent key swapped for another (as an attacker knowing its private key would).
    const b = nodesOf(base.tree);
    b[1] = {
      nodeType: NodeType.parent,
      parentNode: { ...parentAt(b, 1), encryptionKey: suite.generateHpkeKeyPair().publicKey },
    };
    await expectCode(tree(b), 'parent_hash_invalid');
  });

  it('unsupported_capability and duplicate_extension (the leaf against its own capabilities)', async () => {
    const a = nodesOf(base.tree);
    const leaf = leafAt(a, 0);
    resign(a, 0, {
      ...leaf,
      extensions: [{ extensionType: 0x0a0a, extensionData: new Uint8Array(0) }],
    });
    await expectCode(tree(a), 'unsupported_capability');
    const b = nodesOf(base.tree);
    const ext = { extensionType: 0x0a0a, extensionData: new Uint8Array(0) };
    resign(b, 0, {
      ...leaf,
      capabilities: { ...leaf.capabilities, extensions: [0x0a0a] },
      extensions: [ext, ext],
    });
    await expectCode(tree(b), 'duplicate_extension');
  });

  it('invalid_signature: tampered, other leaf index, other group', async () => {
    const a = nodesOf(base.tree);
    const sig = Uint8Array.from(leafAt(a, 0).signature);
    sig[5]! ^= 1;
    a[0] = { nodeType: NodeType.leaf, leafNode: { ...leafAt(a, 0), signature: sig } };
    await expectCode(tree(a), 'invalid_signature');
    const b = nodesOf(base.tree);
    b[0] = {
      nodeType: NodeType.leaf,
      leafNode: signLeafNode(suite, leafAt(b, 0), base.signatureKeys.get(0)!, {
        groupId,
        leafIndex: 1,
      }),
    };
    await expectCode(tree(b), 'invalid_signature');
    await expectCode(base.tree, 'invalid_signature', { groupId: new Uint8Array([1]) });
  });

  it('invalid_lifetime for an expired key_package leaf when a time is given', async () => {
    const t = withUnmerged();
    validateRatchetTree(t, ctxFor(t, { lifetime: { now: 500n } }));
    await expectCode(t, 'invalid_lifetime', { lifetime: { now: 2000n } });
  });
});

describe('validateLeafNodeForTree', () => {
  const group = { groupId, extensions: [] };
  it('accepts a fresh key package leaf and rejects reused keys and foreign credentials', () => {
    const t = base.tree;
    validateLeafNodeForTree(t, keyPackageLeaf(7), N, LeafNodeSource.keyPackage, group);
    const kp = keyPackageLeaf(8);
    const reusedEnc = { ...kp, encryptionKey: t.leafNode(3)!.encryptionKey };
    expect(() =>
      validateLeafNodeForTree(t, reusedEnc, N, LeafNodeSource.keyPackage, group),
    ).toThrow(expect.objectContaining({ code: 'duplicate_encryption_key' }));
    const reusedSig = { ...kp, signatureKey: t.leafNode(3)!.signatureKey };
    expect(() =>
      validateLeafNodeForTree(t, reusedSig, N, LeafNodeSource.keyPackage, group),
    ).toThrow(expect.objectContaining({ code: 'duplicate_signature_key' }));
    expect(() => validateLeafNodeForTree(t, kp, N, LeafNodeSource.update, group)).toThrow(
      expect.objectContaining({ code: 'invalid_leaf_node_source' }),
    );
    const x509 = { ...kp, credential: { credentialType: CredentialType.x509, certificates: [] } };
    expect(() => validateLeafNodeForTree(t, x509, N, LeafNodeSource.keyPackage, group)).toThrow(
      expect.objectContaining({ code: 'credential_type_unsupported' }),
    );
  });

  it('an Update may keep its own signature key but not its encryption key', () => {
    const t = base.tree;
    const own = t.leafNode(2)!;
    const sk = base.signatureKeys.get(2)!;
    const fresh = signLeafNode(
      suite,
      {
        ...own,
        encryptionKey: suite.generateHpkeKeyPair().publicKey,
        leafNodeSource: LeafNodeSource.update,
      },
      sk,
      { groupId, leafIndex: 2 },
    );
    validateLeafNodeForTree(t, fresh, 2, LeafNodeSource.update, group);
    const same = signLeafNode(suite, { ...own, leafNodeSource: LeafNodeSource.update }, sk, {
      groupId,
      leafIndex: 2,
    });
    expect(() => validateLeafNodeForTree(t, same, 2, LeafNodeSource.update, group)).toThrow(
      expect.objectContaining({ code: 'duplicate_encryption_key' }),
    );
  });
});
