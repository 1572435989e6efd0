import type { Commit } from '../commit.js';
import { MlsError } from '../errors.js';
import { PROTOCOL_VERSION_MLS10 } from '../groupContext.js';
import type { Proposal } from '../proposal.js';
import type { AuthenticatedContent } from './authenticatedContent.js';
import { authenticateCommit, authenticateContent } from './authenticatedContent.js';
import type { ContentBody, FramedContent, FramingWireFormat } from './framedContent.js';
import { ContentType, WireFormat } from './framedContent.js';
import type { FramedMlsMessage } from './mlsMessage.js';
import type { PaddingPolicy } from './padding.js';
import { DEFAULT_PADDING, paddedLength } from './padding.js';
import type { PrivateMessage } from './privateMessage.js';
import {
  applyReuseGuard,
  encodePrivateMessageContentUnpadded,
  padPlaintext,
  privateContentAAD,
} from './privateMessage.js';
import { toPublicMessage } from './publicMessage.js';
import type { EpochFramingState } from './rules.js';
import { checkHeader, checkSenderContent, checkWireFormatContent } from './rules.js';
import { freshReuseGuard } from './reuseGuard.js';
import { REUSE_GUARD_LENGTH, encryptSenderData } from './senderData.js';
import { SenderType, memberSender } from './sender.js';

export type { EpochFramingState };

/** The local member sending: its leaf and its leaf's signature private key. */
export interface SendingMember {
  readonly leafIndex: number;
  readonly signaturePrivateKey: Uint8Array;
}

export interface ProtectOptions {
  /** `authenticated_data`: sent in the clear, covered by the signature (and the AEAD). */
  readonly authenticatedData?: Uint8Array;
  /** PrivateMessage only. */
  readonly padding?: PaddingPolicy;
  /** PrivateMessage only; fresh random bytes unless given (tests pin it). */
  readonly reuseGuard?: Uint8Array;
}

/** A protected message, and the AuthenticatedContent it carries (for proposal refs and transcripts). */
export interface ProtectedMessage {
  readonly message: FramedMlsMessage;
  readonly authenticated: AuthenticatedContent;
}

function memberContent(
  state: EpochFramingState,
  me: SendingMember,
  body: ContentBody,
  options: ProtectOptions,
): FramedContent {
  return {
    groupId: state.groupContext.groupId,
    epoch: state.groupContext.epoch,
    sender: memberSender(me.leafIndex),
    authenticatedData: options.authenticatedData ?? new Uint8Array(0),
    ...body,
  };
}

/** Application data always travels as a PrivateMessage (§6: applications MUST encrypt it). */
export function protectApplicationData(
  state: EpochFramingState,
  me: SendingMember,
  applicationData: Uint8Array,
  options: ProtectOptions = {},
): ProtectedMessage {
  const content = memberContent(
    state,
    me,
    { contentType: ContentType.application, applicationData },
    options,
  );
  const authenticated = authenticateContent(state.suite, {
    signaturePrivateKey: me.signaturePrivateKey,
    wireFormat: WireFormat.privateMessage,
    content,
    groupContext: state.groupContext,
  });
  return { message: protectAuthenticated(state, authenticated, options), authenticated };
}

export function protectProposal(
  state: EpochFramingState,
  me: SendingMember,
  proposal: Proposal,
  wireFormat: FramingWireFormat,
  options: ProtectOptions = {},
): ProtectedMessage {
  const content = memberContent(
    state,
    me,
    { contentType: ContentType.proposal, proposal },
    options,
  );
  const authenticated = authenticateContent(state.suite, {
    signaturePrivateKey: me.signaturePrivateKey,
    wireFormat,
    content,
    groupContext: state.groupContext,
  });
  return { message: protectAuthenticated(state, authenticated, options), authenticated };
}

/**
 * Frames a commit. `confirmationTagFor` receives the signature and returns the confirmation tag,
 * which the caller derives from the next epoch's key schedule (see transcriptHash.ts).
 */
export function protectCommit(
  state: EpochFramingState,
  me: SendingMember,
  commit: Commit,
  wireFormat: FramingWireFormat,
  confirmationTagFor: (signature: Uint8Array) => Uint8Array,
  options: ProtectOptions = {},
): ProtectedMessage {
  const content = memberContent(state, me, { contentType: ContentType.commit, commit }, options);
  const authenticated = authenticateCommit(
    state.suite,
    {
      signaturePrivateKey: me.signaturePrivateKey,
      wireFormat,
      content,
      groupContext: state.groupContext,
    },
    confirmationTagFor,
  );
  return { message: protectAuthenticated(state, authenticated, options), authenticated };
}

/** Wraps already signed content in the wire format it was signed for. */
export function protectAuthenticated(
  state: EpochFramingState,
  authenticated: AuthenticatedContent,
  options: ProtectOptions = {},
): FramedMlsMessage {
  const { content } = authenticated;
  const ctx = state.groupContext;
  checkHeader(state, content.groupId, content.epoch);
  checkSenderContent(content);
  checkWireFormatContent(authenticated.wireFormat, content);
  if (authenticated.wireFormat === WireFormat.publicMessage) {
    const publicMessage = toPublicMessage(state.suite, authenticated, state.membershipKey, ctx);
    return { version: PROTOCOL_VERSION_MLS10, wireFormat: WireFormat.publicMessage, publicMessage };
  }
  return {
    version: PROTOCOL_VERSION_MLS10,
    wireFormat: WireFormat.privateMessage,
    privateMessage: encryptPrivateMessage(state, authenticated, options),
  };
}

/**
 * PrivateMessage encryption (§6.3): pad the content, encrypt it with the next key of the sender's
 * handshake or application ratchet and the reuse-guarded nonce, then encrypt the sender data.
 */
function encryptPrivateMessage(
  state: EpochFramingState,
  authenticated: AuthenticatedContent,
  options: ProtectOptions,
): PrivateMessage {
  const { suite } = state;
  const { content, auth } = authenticated;
  if (content.sender.senderType !== SenderType.member) {
    throw new MlsError('invalid_sender', 'only members can send a PrivateMessage');
  }
  const leafIndex = content.sender.leafIndex;
  const reuseGuard = options.reuseGuard ?? freshReuseGuard();
  if (reuseGuard.length !== REUSE_GUARD_LENGTH) {
    throw new MlsError('invalid_argument', 'reuse guard must be 4 bytes');
  }

  const unpadded = encodePrivateMessageContentUnpadded({ body: content, auth });
  const plaintext = padPlaintext(
    unpadded,
    paddedLength(options.padding ?? DEFAULT_PADDING, unpadded.length),
  );
  const header = {
    groupId: content.groupId,
    epoch: content.epoch,
    contentType: content.contentType,
    authenticatedData: content.authenticatedData,
  };
  const kind = content.contentType === ContentType.application ? 'application' : 'handshake';
  const { generation, key, nonce } = state.secretTree.nextSendKey(leafIndex, kind);
  const guardedNonce = applyReuseGuard(nonce, reuseGuard);
  let ciphertext: Uint8Array;
  try {
    ciphertext = suite.aead.seal(key, guardedNonce, privateContentAAD(header), plaintext);
  } finally {
    key.fill(0);
    nonce.fill(0);
    guardedNonce.fill(0);
    plaintext.fill(0);
    unpadded.fill(0);
  }
  const encryptedSenderData = encryptSenderData(suite, state.senderDataSecret, ciphertext, header, {
    leafIndex,
    generation,
    reuseGuard,
  });
  return { ...header, encryptedSenderData, ciphertext };
}
