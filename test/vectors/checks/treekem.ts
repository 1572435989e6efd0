import { decode } from '../../../src-core/codec/index.js';
import { cipherSuite } from '../../../src-core/crypto/index.js';
import type { CipherSuite, CipherSuiteId } from '../../../src-core/crypto/types.js';
import { PROTOCOL_VERSION_MLS10 } from '../../../src-core/mls/groupContext.js';
import type { GroupContext } from '../../../src-core/mls/groupContext.js';
import { RatchetTree } from '../../../src-core/mls/ratchetTree/index.js';
import { ratchetTreeCodec } from '../../../src-core/mls/ratchetTreeExtension.js';
import {
  PrivatePath,
  createUpdatePath,
  nodeKeyPair,
  processUpdatePath,
} from '../../../src-core/mls/treekem/index.js';
import { updatePathCodec } from '../../../src-core/mls/updatePath.js';
import { hex, toHex } from '../../support/shared.js';
import type { VectorCheck } from '../registry.js';

interface Case {
  cipher_suite: number;
  group_id: string;
  epoch: number;
  confirmed_transcript_hash: string;
  ratchet_tree: string;
  leaves_private: {
    index: number;
    encryption_priv: string;
    signature_priv: string;
    path_secrets: { node: number; path_secret: string }[];
  }[];
  update_paths: {
    sender: number;
    update_path: string;
    path_secrets: (string | null)[];
    commit_secret: string;
    tree_hash_after: string;
  }[];
}

function privateState(suite: CipherSuite, tree: RatchetTree, leaf: Case['leaves_private'][number]) {
  const priv = hex(leaf.encryption_priv);
  const state = PrivatePath.forLeaf(leaf.index, {
    privateKey: priv,
    publicKey: suite.hpke.kem.publicKeyFromPrivate(priv),
  }).withPathSecrets(
    suite,
    leaf.path_secrets.map((p) => [p.node, hex(p.path_secret)] as const),
  );
  // Every key of the private state matches a non-blank node of the public tree.
  state.checkConsistent(tree);
  return state;
}

const check: VectorCheck<Case> = {
  file: 'mls-test-vectors/treekem.json',
  label: (tc, i) => `#${i} suite ${tc.cipher_suite}, ${tc.update_paths.length} paths`,
  check(tc) {
    const suite = cipherSuite(tc.cipher_suite as CipherSuiteId);
    const tree = RatchetTree.fromNodes(suite, decode(ratchetTreeCodec, hex(tc.ratchet_tree)));
    const states = new Map(tc.leaves_private.map((l) => [l.index, privateState(suite, tree, l)]));
    const signers = new Map(tc.leaves_private.map((l) => [l.index, hex(l.signature_priv)]));
    const context: Omit<GroupContext, 'treeHash'> = {
      version: PROTOCOL_VERSION_MLS10,
      cipherSuite: tc.cipher_suite,
      groupId: hex(tc.group_id),
      epoch: BigInt(tc.epoch),
      confirmedTranscriptHash: hex(tc.confirmed_transcript_hash),
      extensions: [],
    };
    const members: number[] = [];
    tree.forEachMember((_, i) => members.push(i));

    for (const up of tc.update_paths) {
      const i = up.sender;
      const updatePath = decode(updatePathCodec, hex(up.update_path));
      for (const j of members) {
        if (j === i) continue;
        const state = states.get(j);
        if (state === undefined) throw new Error(`no private state for leaf ${j}`);
        const got = processUpdatePath({
          tree,
          sender: i,
          updatePath,
          groupContext: context,
          privatePath: state,
        });
        if (toHex(got.tree.treeHash()) !== up.tree_hash_after) {
          throw new Error(`sender ${i}: tree hash after merging differs (processed by ${j})`);
        }
        if (toHex(got.commitSecret) !== up.commit_secret) {
          throw new Error(`sender ${i}, receiver ${j}: commit secret differs`);
        }
        // The decrypted path secret gives exactly the key we now hold for that node.
        const want = up.path_secrets[j];
        if (want === null || want === undefined) throw new Error(`no path secret for ${j}`);
        const kp = got.privatePath.keyPair(got.decryptedAt);
        if (
          kp === undefined ||
          toHex(kp.privateKey) !== toHex(nodeKeyPair(suite, hex(want)).privateKey)
        ) {
          throw new Error(`sender ${i}, receiver ${j}: decrypted path secret differs`);
        }
        got.privatePath.checkConsistent(got.tree);
      }

      // A fresh UpdatePath from the same sender is understood by everyone else.
      const leaf = tree.leafNode(i);
      const signer = signers.get(i);
      if (leaf === undefined || signer === undefined) throw new Error(`sender ${i} unknown`);
      const created = createUpdatePath({
        tree,
        leafIndex: i,
        groupContext: context,
        leafNode: leaf,
        signaturePrivateKey: signer,
      });
      created.privatePath.checkConsistent(created.tree);
      for (const j of members) {
        if (j === i) continue;
        const got = processUpdatePath({
          tree,
          sender: i,
          updatePath: created.updatePath,
          groupContext: context,
          privatePath: states.get(j)!,
        });
        if (toHex(got.commitSecret) !== toHex(created.commitSecret)) {
          throw new Error(`new path from ${i}: receiver ${j} derives another commit secret`);
        }
        if (toHex(got.tree.treeHash()) !== toHex(created.tree.treeHash())) {
          throw new Error(`new path from ${i}: receiver ${j} has another tree`);
        }
      }
    }
  },
};

export default check;
