// A bad UpdatePath is rejected with the code of the rule it breaks, and rejecting it changes
// nothing: the tree version and the receiver's private keys stay as they were.
import { describe, expect, it } from 'vitest';
import { encode } from '../../src-core/codec/index.js';
import { cipherSuite } from '../../src-core/crypto/index.js';
import type { MlsErrorCode } from '../../src-core/mls/errors.js';
import { PROTOCOL_VERSION_MLS10, groupContextCodec } from '../../src-core/mls/groupContext.js';
import type { GroupContext } from '../../src-core/mls/groupContext.js';
import { LeafNodeSource, signLeafNode } from '../../src-core/mls/leafNode.js';
import type { LeafNodeContent } from '../../src-core/mls/leafNode.js';
import { filteredDirectPath, resolution } from '../../src-core/mls/ratchetTree/index.js';
import {
  PrivatePath,
  createUpdatePath,
  mergePathPublic,
  processUpdatePath,
} from '../../src-core/mls/treekem/index.js';
import type { UpdatePath, UpdatePathNode } from '../../src-core/mls/updatePath.js';
import { buildPopulatedTree } from '../support/populatedTree.js';
import { toHex } from '../support/shared.js';

const suite = cipherSuite(1);
const groupId = new TextEncoder().encode('treekem negative');
const N = 6;
const { tree, privatePaths, signatureKeys } = buildPopulatedTree(suite, N, {
  groupId,
  withKeys: Array.from({ length: N }, (_, i) => i),
});
const ctx: Omit<GroupContext, 'treeHash'> = {
  version: PROTOCOL_VERSION_MLS10,
  cipherSuite: suite.id,
  groupId,
  epoch: 8n,
  confirmedTranscriptHash: new Uint8Array(32).fill(1),
  extensions: [],
};
const SENDER = 0;
const RECEIVER = 5;
const created = createUpdatePath({
  tree,
  leafIndex: SENDER,
  groupContext: ctx,
  leafNode: tree.leafNode(SENDER)!,
  signaturePrivateKey: signatureKeys.get(SENDER)!,
});
const good = created.updatePath;

function process(
  updatePath: UpdatePath,
  privatePath = privatePaths.get(RECEIVER)!,
  sender = SENDER,
) {
  return processUpdatePath({ tree, sender, updatePath, groupContext: ctx, privatePath });
}

function expectCode(f: () => unknown, code: MlsErrorCode): void {
  expect(f).toThrow(expect.objectContaining({ code }));
}

function withNode(i: number, node: Partial<UpdatePathNode>): UpdatePath {
  const nodes = good.nodes.map((n, k) => (k === i ? { ...n, ...node } : n));
  return { ...good, nodes };
}

/** The committer's leaf re-signed over `content` (what a malicious committer can do). */
function resignedLeaf(content: LeafNodeContent) {
  return signLeafNode(suite, content, signatureKeys.get(SENDER)!, { groupId, leafIndex: SENDER });
}

describe('processUpdatePath rejects', () => {
  const hashBefore = toHex(tree.treeHash());
  const receiverKeys = () =>
    privatePaths
      .get(RECEIVER)!
      .nodes()
      .map((x) => toHex(privatePaths.get(RECEIVER)!.keyPair(x)!.privateKey));
  const keysBefore = receiverKeys();

  it('the good path is accepted (the baseline for the cases below)', () => {
    expect(good.nodes).toHaveLength(3); // nodes 1, 3, 7
    const got = process(good);
    expect(toHex(got.commitSecret)).toBe(toHex(created.commitSecret));
  });

  it('update_path_length', () => {
    expectCode(() => process({ ...good, nodes: good.nodes.slice(0, 2) }), 'update_path_length');
  });

  it('update_path_ciphertext_count', () => {
    expectCode(
      () => process(withNode(0, { encryptedPathSecret: [] })),
      'update_path_ciphertext_count',
    );
  });

  it('duplicate_encryption_key: a key already in the tree, or twice in the path', () => {
    expectCode(
      () => process(withNode(1, { encryptionKey: tree.leafNode(3)!.encryptionKey })),
      'duplicate_encryption_key',
    );
    expectCode(
      () => process(withNode(0, { encryptionKey: good.nodes[1]!.encryptionKey })),
      'duplicate_encryption_key',
    );
  });

  it('parent_hash_invalid: a path key that the signed leaf does not cover', () => {
    const fresh = suite.generateHpkeKeyPair().publicKey;
    expectCode(() => process(withNode(2, { encryptionKey: fresh })), 'parent_hash_invalid');
  });

  it('update_path_key_mismatch: a signed path whose key does not come from the secret', () => {
    // A malicious committer publishes another key for the root, signs the matching parent hash
    // and encrypts the real path secrets under the resulting GroupContext.
    const keys = good.nodes.map((n) => n.encryptionKey);
    keys[2] = suite.generateHpkeKeyPair().publicKey;
    const steps = filteredDirectPath(tree, SENDER);
    const diff = tree.stage();
    const ph = mergePathPublic(tree, diff, SENDER, steps, keys);
    const leafNode = resignedLeaf({ ...good.leafNode, parentHash: ph } as LeafNodeContent);
    diff.setLeaf(SENDER, leafNode);
    const context = encode(groupContextCodec, { ...ctx, treeHash: diff.commit().treeHash() });
    const nodes = steps.map((step, i) => ({
      encryptionKey: keys[i]!,
      encryptedPathSecret: resolution(tree, step.copathChild).map((y) =>
        suite.encryptWithLabel(
          tree.encryptionKey(y)!,
          'UpdatePathNode',
          context,
          created.pathSecrets.get(step.node)!,
        ),
      ),
    }));
    expectCode(() => process({ leafNode, nodes }), 'update_path_key_mismatch');
  });

  it('decryption_failed: a tampered ciphertext', () => {
    const ct = good.nodes[2]!.encryptedPathSecret[0]!;
    const bad = Uint8Array.from(ct.ciphertext);
    bad[0]! ^= 1;
    expectCode(
      () => process(withNode(2, { encryptedPathSecret: [{ ...ct, ciphertext: bad }] })),
      'decryption_failed',
    );
  });

  it('no_private_key_for_path: keys that do not match the tree', () => {
    const stranger = PrivatePath.forLeaf(RECEIVER, suite.generateHpkeKeyPair());
    expectCode(() => process(good, stranger), 'no_private_key_for_path');
  });

  it('invalid_signature and invalid_leaf_node_source on the new leaf', () => {
    const sig = Uint8Array.from(good.leafNode.signature);
    sig[0]! ^= 1;
    expectCode(
      () => process({ ...good, leafNode: { ...good.leafNode, signature: sig } }),
      'invalid_signature',
    );
    const { parentHash: _ph, ...rest } = good.leafNode as LeafNodeContent & {
      parentHash: Uint8Array;
    };
    const update = resignedLeaf({
      ...rest,
      leafNodeSource: LeafNodeSource.update,
    } as LeafNodeContent);
    expectCode(() => process({ ...good, leafNode: update }), 'invalid_leaf_node_source');
  });

  it('leaf_out_of_range and our own path', () => {
    expectCode(() => process(good, undefined, 99), 'leaf_out_of_range');
    expectCode(() => process(good, privatePaths.get(SENDER)!), 'invalid_argument');
  });

  it('and none of this changed the tree or the receiver keys', () => {
    expect(toHex(tree.treeHash())).toBe(hashBefore);
    expect(receiverKeys()).toEqual(keysBefore);
    const got = process(good);
    expect(toHex(got.commitSecret)).toBe(toHex(created.commitSecret));
  });
});

describe('PrivatePath', () => {
  it('withWelcomePathSecret rejects a secret that does not give the tree keys', () => {
    expect(() =>
      PrivatePath.forLeaf(RECEIVER, suite.generateHpkeKeyPair()).withWelcomePathSecret(
        created.tree,
        7,
        suite.randomBytes(32),
      ),
    ).toThrow(expect.objectContaining({ code: 'private_key_mismatch' }));
    const fromWelcome = PrivatePath.forLeaf(
      RECEIVER,
      suite.generateHpkeKeyPair(),
    ).withWelcomePathSecret(created.tree, 7, created.pathSecrets.get(7)!);
    expect(toHex(fromWelcome.keyPair(7)!.privateKey)).toBe(
      toHex(created.privatePath.keyPair(7)!.privateKey),
    );
  });

  it('refuses keys for nodes off its leaf path', () => {
    expect(() =>
      PrivatePath.forLeaf(0, suite.generateHpkeKeyPair()).with([[5, suite.generateHpkeKeyPair()]]),
    ).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
  });
});
