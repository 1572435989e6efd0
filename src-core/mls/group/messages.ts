/**
 * Sending and receiving within an epoch (RFC 9420 §6, §12.1, §15): application data, proposals,
 * and dispatching received messages (commits go to `processCommit`). Application messages of
 * the few past epochs the state keeps still decrypt (§15.3).
 *
 * Leaving: §12.2 forbids a committer to remove itself, so a member leaves by proposing its own
 * removal (`leaveGroup`), which another member commits.
 */
import { encode } from '../../codec/index.js';
import type { KeyPair } from '../../crypto/types.js';
import type { Capabilities } from '../capabilities.js';
import type { Credential } from '../credential.js';
import { MlsError } from '../errors.js';
import type { Extension } from '../extension.js';
import { authenticatedContentCodec } from '../framing/authenticatedContent.js';
import type { AuthenticatedContent } from '../framing/authenticatedContent.js';
import { ContentType, WireFormat } from '../framing/framedContent.js';
import type { FramedMlsMessage, MlsMessage } from '../framing/mlsMessage.js';
import { decodeMlsMessage } from '../framing/mlsMessage.js';
import type { PrivateMessage } from '../framing/privateMessage.js';
import { protectApplicationData, protectProposal } from '../framing/protect.js';
import type { Sender } from '../framing/sender.js';
import { SenderType, memberSender } from '../framing/sender.js';
import { unprotectPrivateMessage, unprotectPublicMessage } from '../framing/unprotect.js';
import type { KeyPackage } from '../keyPackage.js';
import { LeafNodeSource, signLeafNode } from '../leafNode.js';
import type { Proposal } from '../proposal.js';
import { ProposalType, isCustomProposal } from '../proposal.js';
import type { PreSharedKeyID } from '../psk.js';
import { bytesEqual } from '../framing/rules.js';
import type { LeafIndex } from '../treeMath.js';
import type { GroupState } from './groupState.js';
import { processCommit } from './processCommit.js';
import { checkProposal } from './proposals/validate.js';
import { checkHandshakeWireFormat, memberLookup, signatureKeyLookup } from './senders.js';
import type { StagedCommit } from './stagedCommit.js';

export interface SendOptions {
  /** Sent in the clear and authenticated (§6). */
  readonly authenticatedData?: Uint8Array;
}

/** A proposal we sent: the message, and the ref a commit will use for it. */
export interface SentProposal {
  readonly message: FramedMlsMessage;
  readonly ref: Uint8Array;
}

export type ReceivedMessage =
  | {
      readonly kind: 'application';
      readonly data: Uint8Array;
      readonly sender: LeafIndex;
      readonly epoch: bigint;
      readonly authenticatedData: Uint8Array;
    }
  | {
      readonly kind: 'proposal';
      readonly ref: Uint8Array;
      readonly proposal: Proposal;
      readonly sender: Sender;
    }
  | { readonly kind: 'commit'; readonly staged: StagedCommit };

function me(state: GroupState): { leafIndex: LeafIndex; signaturePrivateKey: Uint8Array } {
  return { leafIndex: state.ownLeaf, signaturePrivateKey: state.signaturePrivateKey };
}

/** Encrypts application data for the group in the current epoch. */
export function sendApplicationMessage(
  state: GroupState,
  data: Uint8Array,
  options: SendOptions = {},
): FramedMlsMessage {
  state.requireActive();
  if (state.config.requireCommitBeforeSend && state.proposals.size > 0) {
    throw new MlsError(
      'pending_proposals',
      `${state.proposals.size} proposals pending: commit before sending (§12.4)`,
    );
  }
  return protectApplicationData(state.framing(), me(state), data, {
    padding: state.config.padding,
    ...(options.authenticatedData === undefined
      ? {}
      : { authenticatedData: options.authenticatedData }),
  }).message;
}

function sendCheckedProposal(
  state: GroupState,
  proposal: Proposal,
  options: SendOptions,
  updateKeyPair?: KeyPair,
): SentProposal {
  const wireFormat =
    state.config.handshakeWireFormat === 'private'
      ? WireFormat.privateMessage
      : WireFormat.publicMessage;
  const { message, authenticated } = protectProposal(
    state.framing(),
    me(state),
    proposal,
    wireFormat,
    {
      padding: state.config.padding,
      ...(options.authenticatedData === undefined
        ? {}
        : { authenticatedData: options.authenticatedData }),
    },
  );
  const ref = proposalRef(state, authenticated);
  state.proposals.add({
    ref,
    proposal,
    sender: memberSender(state.ownLeaf),
    own: true,
    ...(updateKeyPair === undefined ? {} : { updateKeyPair }),
  });
  return { message, ref };
}

/**
 * Sends a proposal (kept in our own cache too, so our commit can reference it). Updates go
 * through `proposeUpdate`, which makes the new leaf's key; ExternalInit only exists in external
 * commits.
 */
export function sendProposal(
  state: GroupState,
  proposal: Proposal,
  options: SendOptions = {},
): SentProposal {
  state.requireActive();
  if (!isCustomProposal(proposal)) {
    if (proposal.proposalType === ProposalType.update) {
      throw new MlsError('invalid_argument', 'use proposeUpdate to propose an Update');
    }
    if (proposal.proposalType === ProposalType.externalInit) {
      throw new MlsError('external_init_not_allowed', 'ExternalInit is not sent as a proposal');
    }
  }
  checkProposal(state, proposal, memberSender(state.ownLeaf));
  return sendCheckedProposal(state, proposal, options);
}

export function proposeAdd(
  state: GroupState,
  keyPackage: KeyPackage,
  options?: SendOptions,
): SentProposal {
  return sendProposal(state, { proposalType: ProposalType.add, add: { keyPackage } }, options);
}

export function proposeRemove(
  state: GroupState,
  removed: LeafIndex,
  options?: SendOptions,
): SentProposal {
  return sendProposal(state, { proposalType: ProposalType.remove, remove: { removed } }, options);
}

/** Leaving the group: a Remove of our own leaf, for another member to commit (§12.1.3). */
export function leaveGroup(state: GroupState, options?: SendOptions): SentProposal {
  return proposeRemove(state, state.ownLeaf, options);
}

export function proposePsk(
  state: GroupState,
  psk: PreSharedKeyID,
  options?: SendOptions,
): SentProposal {
  return sendProposal(state, { proposalType: ProposalType.psk, psk: { psk } }, options);
}

export function proposeGroupContextExtensions(
  state: GroupState,
  extensions: readonly Extension[],
  options?: SendOptions,
): SentProposal {
  return sendProposal(
    state,
    { proposalType: ProposalType.groupContextExtensions, groupContextExtensions: { extensions } },
    options,
  );
}

export interface UpdateOptions extends SendOptions {
  readonly credential?: Credential;
  readonly capabilities?: Capabilities;
  readonly extensions?: readonly Extension[];
}

/**
 * Proposes an Update of our leaf with a fresh encryption key (§12.1.2). The new key's private
 * half stays in the proposal cache until a commit covers the Update or the epoch ends.
 */
export function proposeUpdate(state: GroupState, options: UpdateOptions = {}): SentProposal {
  state.requireActive();
  const current = state.ownLeafNode;
  const keyPair = state.suite.generateHpkeKeyPair();
  const leafNode = signLeafNode(
    state.suite,
    {
      encryptionKey: keyPair.publicKey,
      signatureKey: current.signatureKey,
      credential: options.credential ?? current.credential,
      capabilities: options.capabilities ?? current.capabilities,
      leafNodeSource: LeafNodeSource.update,
      extensions: options.extensions ?? current.extensions,
    },
    state.signaturePrivateKey,
    { groupId: state.groupId, leafIndex: state.ownLeaf },
  );
  const proposal: Proposal = { proposalType: ProposalType.update, update: { leafNode } };
  try {
    checkProposal(state, proposal, memberSender(state.ownLeaf));
    return sendCheckedProposal(state, proposal, options, keyPair);
  } catch (e) {
    keyPair.privateKey.fill(0);
    throw e;
  }
}

/** MakeProposalRef of the AuthenticatedContent that carries a proposal (§5.2). */
export function proposalRef(state: GroupState, authenticated: AuthenticatedContent): Uint8Array {
  return state.suite.makeProposalRef(encode(authenticatedContentCodec, authenticated));
}

function header(message: FramedMlsMessage): {
  groupId: Uint8Array;
  epoch: bigint;
  contentType: ContentType;
} {
  if (message.wireFormat === WireFormat.privateMessage) return message.privateMessage;
  const c = message.publicMessage.content;
  return { groupId: c.groupId, epoch: c.epoch, contentType: c.contentType };
}

function asFramed(input: MlsMessage | Uint8Array): FramedMlsMessage {
  const message = input instanceof Uint8Array ? decodeMlsMessage(input) : input;
  if (
    message.wireFormat !== WireFormat.publicMessage &&
    message.wireFormat !== WireFormat.privateMessage
  ) {
    throw new MlsError('invalid_wire_format', 'not a group message (Welcome, GroupInfo, ...)');
  }
  return message;
}

function notFromUs(state: GroupState, sender: Sender): void {
  if (sender.senderType === SenderType.member && sender.leafIndex === state.ownLeaf) {
    throw new MlsError('own_message', 'a message from our own leaf');
  }
}

function application(ac: AuthenticatedContent): ReceivedMessage {
  const c = ac.content;
  if (c.contentType !== ContentType.application || c.sender.senderType !== SenderType.member) {
    throw new MlsError('invalid_content_type', 'not application data');
  }
  return {
    kind: 'application',
    data: c.applicationData,
    sender: c.sender.leafIndex,
    epoch: c.epoch,
    authenticatedData: c.authenticatedData,
  };
}

function pastApplication(state: GroupState, message: PrivateMessage): ReceivedMessage {
  const receiver = state.pastReceiver(message.epoch);
  if (receiver === undefined) {
    throw new MlsError(
      message.epoch < state.epoch ? 'epoch_too_old' : 'wrong_epoch',
      `no keys for epoch ${message.epoch} (current ${state.epoch})`,
    );
  }
  return unprotectPrivateMessage(receiver.framing(), message, memberLookup(receiver.tree), (ac) => {
    notFromUs(state, ac.content.sender);
    return application(ac);
  });
}

function receiveProposal(state: GroupState, message: FramedMlsMessage): ReceivedMessage {
  state.requireActive();
  checkHandshakeWireFormat(state.config, message.wireFormat);
  const accept = (ac: AuthenticatedContent): ReceivedMessage => {
    const c = ac.content;
    if (c.contentType !== ContentType.proposal) {
      throw new MlsError('invalid_content_type', 'not a proposal');
    }
    notFromUs(state, c.sender);
    if (!isCustomProposal(c.proposal) && c.proposal.proposalType === ProposalType.externalInit) {
      throw new MlsError('external_init_not_allowed', 'ExternalInit sent as a proposal');
    }
    checkProposal(state, c.proposal, c.sender);
    const ref = proposalRef(state, ac);
    state.proposals.add({ ref, proposal: c.proposal, sender: c.sender, own: false });
    return { kind: 'proposal', ref, proposal: c.proposal, sender: c.sender };
  };
  const framing = state.framing();
  const lookup = signatureKeyLookup(state);
  if (message.wireFormat === WireFormat.publicMessage) {
    return accept(unprotectPublicMessage(framing, message.publicMessage, lookup));
  }
  return unprotectPrivateMessage(framing, message.privateMessage, lookup, accept);
}

/**
 * Processes a message for this group: application data (current or a kept past epoch), a
 * proposal (verified, checked and cached), or a commit (returned staged: merge or discard it).
 * Throws MlsError naming the rule a bad message breaks; the state is then unchanged.
 */
export function processMessage(state: GroupState, input: MlsMessage | Uint8Array): ReceivedMessage {
  state.checkLive();
  const message = asFramed(input);
  const { groupId, epoch, contentType } = header(message);
  if (!bytesEqual(groupId, state.groupId)) {
    throw new MlsError('wrong_group', 'message is for another group');
  }
  if (epoch !== state.epoch || state.status === 'removed') {
    if (
      contentType === ContentType.application &&
      message.wireFormat === WireFormat.privateMessage
    ) {
      return pastApplication(state, message.privateMessage);
    }
    throw new MlsError('wrong_epoch', `a handshake message for epoch ${epoch}`);
  }
  switch (contentType) {
    case ContentType.application: {
      if (message.wireFormat !== WireFormat.privateMessage) {
        throw new MlsError('invalid_content_type', 'application data must be a PrivateMessage');
      }
      return unprotectPrivateMessage(
        state.framing(),
        message.privateMessage,
        signatureKeyLookup(state),
        (ac) => {
          notFromUs(state, ac.content.sender);
          return application(ac);
        },
      );
    }
    case ContentType.proposal:
      return receiveProposal(state, message);
    case ContentType.commit:
      return { kind: 'commit', staged: processCommit(state, message) };
  }
}
