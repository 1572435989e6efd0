import { decode, encode } from '../../../src-core/codec/index.js';
import { cipherSuite } from '../../../src-core/crypto/index.js';
import type { CipherSuiteId } from '../../../src-core/crypto/types.js';
import { ProposalType, isCustomProposal, proposalCodec } from '../../../src-core/mls/proposal.js';
import {
  RatchetTree,
  applyAdd,
  applyRemove,
  applyUpdate,
} from '../../../src-core/mls/ratchetTree/index.js';
import { ratchetTreeCodec } from '../../../src-core/mls/ratchetTreeExtension.js';
import { hex, toHex } from '../../support/shared.js';
import type { VectorCheck } from '../registry.js';

interface Case {
  cipher_suite: number;
  tree_before: string;
  proposal: string;
  proposal_sender: number;
  tree_hash_before: string;
  tree_after: string;
  tree_hash_after: string;
}

const check: VectorCheck<Case> = {
  file: 'mls-test-vectors/tree-operations.json',
  label: (tc, i) => `#${i} proposal type ${tc.proposal.slice(0, 4)} from ${tc.proposal_sender}`,
  check(tc) {
    const suite = cipherSuite(tc.cipher_suite as CipherSuiteId);
    const before = RatchetTree.fromNodes(suite, decode(ratchetTreeCodec, hex(tc.tree_before)));
    if (toHex(before.treeHash()) !== tc.tree_hash_before)
      throw new Error('tree_hash_before differs');
    const proposal = decode(proposalCodec, hex(tc.proposal));
    if (isCustomProposal(proposal)) throw new Error(`unexpected proposal ${proposal.proposalType}`);
    const diff = before.stage();
    switch (proposal.proposalType) {
      case ProposalType.add:
        applyAdd(diff, proposal.add.keyPackage.leafNode);
        break;
      case ProposalType.update:
        applyUpdate(diff, tc.proposal_sender, proposal.update.leafNode);
        break;
      case ProposalType.remove:
        applyRemove(diff, proposal.remove.removed);
        break;
      default:
        throw new Error(`unexpected proposal type ${proposal.proposalType}`);
    }
    const after = diff.commit();
    const got = toHex(encode(ratchetTreeCodec, after.toNodes()));
    if (got !== tc.tree_after) throw new Error('tree_after differs');
    if (toHex(after.treeHash()) !== tc.tree_hash_after) throw new Error('tree_hash_after differs');
    // The version the change was staged on is untouched.
    if (toHex(encode(ratchetTreeCodec, before.toNodes())) !== tc.tree_before) {
      throw new Error('staging changed the original tree');
    }
    if (toHex(before.treeHash()) !== tc.tree_hash_before) throw new Error('original hash changed');
  },
};

export default check;
