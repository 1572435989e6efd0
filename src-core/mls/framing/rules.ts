import type { CipherSuite } from '../../crypto/types.js';
import { MlsError } from '../errors.js';
import type { GroupContext } from '../groupContext.js';
import { EXTERNAL_SENDER_PROPOSAL_TYPES, ProposalType, isCustomProposal } from '../proposal.js';
import type { SecretTree } from '../secretTree.js';
import type { FramedContent, FramingWireFormat } from './framedContent.js';
import { ContentType, WireFormat } from './framedContent.js';
import { SenderType } from './sender.js';

/**
 * The slice of one epoch's state that framing needs. Protecting a PrivateMessage advances the
 * sender's ratchet in `secretTree`; nothing else is changed.
 */
export interface EpochFramingState {
  readonly suite: CipherSuite;
  readonly groupContext: GroupContext;
  readonly membershipKey: Uint8Array;
  readonly senderDataSecret: Uint8Array;
  readonly secretTree: SecretTree;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function checkHeader(state: EpochFramingState, groupId: Uint8Array, epoch: bigint): void {
  if (!bytesEqual(groupId, state.groupContext.groupId)) {
    throw new MlsError('wrong_group', 'message is for another group');
  }
  if (epoch !== state.groupContext.epoch) {
    throw new MlsError('wrong_epoch', `message is for epoch ${epoch}`);
  }
}

/**
 * §6.1: which content each sender type may carry. An external sender may send the proposal types
 * marked "Ext" in the registry; custom types are left to the group's policy, which decides whether
 * the group uses them at all. A new member's proposal can only be its own Add.
 */
export function checkSenderContent(content: FramedContent): void {
  const t = content.sender.senderType;
  let ok: boolean;
  switch (t) {
    case SenderType.member:
      ok = true;
      break;
    case SenderType.external:
      ok =
        content.contentType === ContentType.proposal &&
        (isCustomProposal(content.proposal) ||
          EXTERNAL_SENDER_PROPOSAL_TYPES.has(content.proposal.proposalType));
      break;
    case SenderType.newMemberProposal:
      ok =
        content.contentType === ContentType.proposal &&
        content.proposal.proposalType === ProposalType.add;
      break;
    case SenderType.newMemberCommit:
      ok = content.contentType === ContentType.commit;
      break;
  }
  if (!ok) throw new MlsError('invalid_sender', `sender type ${t} cannot send this content`);
}

/** §6: application data MUST be encrypted, so it never travels as a PublicMessage. */
export function checkWireFormatContent(
  wireFormat: FramingWireFormat,
  content: FramedContent,
): void {
  if (wireFormat === WireFormat.publicMessage && content.contentType === ContentType.application) {
    throw new MlsError('invalid_content_type', 'application data must be sent as a PrivateMessage');
  }
}
