import { decode } from '../../../src-core/codec/index.js';
import { cipherSuite } from '../../../src-core/crypto/index.js';
import type { CipherSuiteId } from '../../../src-core/crypto/types.js';
import {
  RatchetTree,
  resolution,
  validateRatchetTree,
} from '../../../src-core/mls/ratchetTree/index.js';
import { ratchetTreeCodec } from '../../../src-core/mls/ratchetTreeExtension.js';
import { hex, toHex } from '../../support/shared.js';
import type { VectorCheck } from '../registry.js';

interface Case {
  cipher_suite: number;
  tree: string;
  group_id: string;
  resolutions: number[][];
  tree_hashes: string[];
}

const check: VectorCheck<Case> = {
  file: 'mls-test-vectors/tree-validation.json',
  label: (tc, i) => `#${i} suite ${tc.cipher_suite}, ${tc.tree_hashes.length} nodes`,
  check(tc) {
    const suite = cipherSuite(tc.cipher_suite as CipherSuiteId);
    const tree = RatchetTree.fromNodes(suite, decode(ratchetTreeCodec, hex(tc.tree)));
    if (tree.nodeCount !== tc.tree_hashes.length) {
      throw new Error(`${tree.nodeCount} nodes, want ${tc.tree_hashes.length}`);
    }
    for (let x = 0; x < tree.nodeCount; x++) {
      const got = resolution(tree, x).join(',');
      const want = tc.resolutions[x]!.join(',');
      if (got !== want) throw new Error(`resolution(${x}) = [${got}], want [${want}]`);
      const h = toHex(tree.nodeTreeHash(x));
      if (h !== tc.tree_hashes[x]) throw new Error(`tree hash of node ${x} differs`);
    }
    // Parent hashes, leaf signatures under group_id, and the rest of the join-time checks.
    validateRatchetTree(tree, {
      groupId: hex(tc.group_id),
      treeHash: hex(tc.tree_hashes[tree.root]!),
      extensions: [],
    });
  },
};

export default check;
