/**
 * Whose signature a message must carry (RFC 9420 §6.1), and which handshake wire formats the
 * group accepts.
 */
import type { SignatureKeyLookup } from '../framing/unprotect.js';
import { ContentType, WireFormat } from '../framing/framedContent.js';
import { SenderType } from '../framing/sender.js';
import { MlsError } from '../errors.js';
import { ProposalType, isCustomProposal } from '../proposal.js';
import type { TreeReader } from '../ratchetTree/treeReader.js';
import type { ResolvedGroupConfig } from './config.js';
import type { GroupState } from './groupState.js';

function memberKey(tree: TreeReader, leafIndex: number): Uint8Array | undefined {
  if (!Number.isInteger(leafIndex) || leafIndex < 0 || leafIndex >= tree.leafCount) {
    return undefined;
  }
  return tree.leafNode(leafIndex)?.signatureKey;
}

/**
 * The signature key for each sender type in `state`'s epoch: a member's leaf; an external sender
 * from the external_senders extension; the KeyPackage leaf of a new member's own Add; the path
 * leaf of a new member's external commit.
 */
export function signatureKeyLookup(state: GroupState): SignatureKeyLookup {
  return (sender, content) => {
    switch (sender.senderType) {
      case SenderType.member:
        return memberKey(state.tree, sender.leafIndex);
      case SenderType.external:
        return state.externalSenders()[sender.senderIndex]?.signatureKey;
      case SenderType.newMemberProposal:
        if (
          content.contentType === ContentType.proposal &&
          !isCustomProposal(content.proposal) &&
          content.proposal.proposalType === ProposalType.add
        ) {
          return content.proposal.add.keyPackage.leafNode.signatureKey;
        }
        return undefined;
      case SenderType.newMemberCommit:
        return content.contentType === ContentType.commit
          ? content.commit.path?.leafNode.signatureKey
          : undefined;
    }
  };
}

/** Members of the tree of a past epoch: the only senders of its application messages. */
export function memberLookup(tree: TreeReader): SignatureKeyLookup {
  return (sender) =>
    sender.senderType === SenderType.member ? memberKey(tree, sender.leafIndex) : undefined;
}

/** Throws MlsError('invalid_wire_format') unless the group accepts handshakes in `wireFormat`. */
export function checkHandshakeWireFormat(config: ResolvedGroupConfig, wireFormat: number): void {
  const name =
    wireFormat === WireFormat.privateMessage
      ? 'private'
      : wireFormat === WireFormat.publicMessage
        ? 'public'
        : undefined;
  if (name === undefined || !config.acceptedHandshakeWireFormats.includes(name)) {
    throw new MlsError('invalid_wire_format', `handshake messages in wire format ${wireFormat}`);
  }
}
