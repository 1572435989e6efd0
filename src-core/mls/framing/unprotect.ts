import { CryptoError } from '../../crypto/errors.js';
import type { CipherSuite } from '../../crypto/types.js';
import { MlsError } from '../errors.js';
import type { AuthenticatedContent } from './authenticatedContent.js';
import { verifyFramedContentSignature } from './authenticatedContent.js';
import type { FramedContent } from './framedContent.js';
import { ContentType, WireFormat } from './framedContent.js';
import type { MlsMessage } from './mlsMessage.js';
import type { PrivateMessage } from './privateMessage.js';
import {
  applyReuseGuard,
  decodePrivateMessageContent,
  privateContentAAD,
} from './privateMessage.js';
import type { EpochFramingState } from './rules.js';
import { checkHeader, checkSenderContent, checkWireFormatContent } from './rules.js';
import type { PublicMessage } from './publicMessage.js';
import { verifyMembershipTag } from './publicMessage.js';
import type { Sender } from './sender.js';
import { memberSender } from './sender.js';
import type { SenderData } from './senderData.js';
import { decryptSenderData } from './senderData.js';

/**
 * The signature public key that must have signed a message from `sender` (§6.1): a member's leaf
 * signature key, an external sender's key from the external_senders extension, the LeafNode in a
 * new member's commit path, or the LeafNode in the KeyPackage of a new member's Add.
 * Returns undefined if there is no such key (a blank leaf, an unknown sender index), which rejects
 * the message with MlsError('invalid_sender').
 */
export type SignatureKeyLookup = (sender: Sender, content: FramedContent) => Uint8Array | undefined;

export function verifySignature(
  state: EpochFramingState,
  authenticated: AuthenticatedContent,
  lookup: SignatureKeyLookup,
): void {
  const key = lookup(authenticated.content.sender, authenticated.content);
  if (key === undefined) throw new MlsError('invalid_sender', 'no signature key for the sender');
  if (!verifyFramedContentSignature(state.suite, key, authenticated, state.groupContext)) {
    throw new MlsError('invalid_signature', 'content signature does not verify');
  }
}

/**
 * Checks a PublicMessage and returns the AuthenticatedContent it carries: group and epoch, sender
 * and content type, the membership tag (member senders) and the signature. A commit's
 * confirmation tag needs the next epoch's confirmation key, so the caller checks it
 * (`verifyConfirmationTag`) after running the key schedule. Changes no state.
 */
export function unprotectPublicMessage(
  state: EpochFramingState,
  message: PublicMessage,
  lookup: SignatureKeyLookup,
): AuthenticatedContent {
  const { content } = message;
  checkHeader(state, content.groupId, content.epoch);
  checkWireFormatContent(WireFormat.publicMessage, content);
  checkSenderContent(content);
  verifyMembershipTag(state.suite, message, state.membershipKey, state.groupContext);
  const authenticated: AuthenticatedContent = {
    wireFormat: WireFormat.publicMessage,
    content,
    auth: message.auth,
  };
  verifySignature(state, authenticated, lookup);
  return authenticated;
}

/**
 * Decrypts and checks a PrivateMessage: group and epoch, sender data, content decryption,
 * padding, and the signature. The secret tree's key for (sender, generation) is consumed only once
 * everything has verified: a forged or damaged message costs a recipient no keys, and the genuine
 * message with the same generation still decrypts afterwards.
 *
 * `accept`, when given, runs on the verified content before the key is consumed, and its result is
 * returned: a caller whose own checks come after framing (a commit's proposals, path and
 * confirmation tag) throws from it to leave the key unconsumed as well.
 */
export function unprotectPrivateMessage(
  state: EpochFramingState,
  message: PrivateMessage,
  lookup: SignatureKeyLookup,
): AuthenticatedContent;
export function unprotectPrivateMessage<T>(
  state: EpochFramingState,
  message: PrivateMessage,
  lookup: SignatureKeyLookup,
  accept: (authenticated: AuthenticatedContent) => T,
): T;
export function unprotectPrivateMessage<T>(
  state: EpochFramingState,
  message: PrivateMessage,
  lookup: SignatureKeyLookup,
  accept?: (authenticated: AuthenticatedContent) => T,
): T | AuthenticatedContent {
  const { suite } = state;
  checkHeader(state, message.groupId, message.epoch);
  const senderData = decryptSenderData(
    suite,
    state.senderDataSecret,
    message.ciphertext,
    message,
    message.encryptedSenderData,
  );
  const kind = message.contentType === ContentType.application ? 'application' : 'handshake';
  // withKey consumes the key only if the callback returns: every check below happens inside it.
  return state.secretTree.withKey(
    senderData.leafIndex,
    kind,
    senderData.generation,
    (key, nonce) => {
      const authenticated = openPrivateContent(suite, message, senderData, key, nonce);
      verifySignature(state, authenticated, lookup);
      return accept === undefined ? authenticated : accept(authenticated);
    },
  );
}

/**
 * Decrypts a PrivateMessage's content with its secret-tree key and nonce and frames it as the
 * AuthenticatedContent its signature covers (signature not yet checked). Throws
 * MlsError('decryption_failed'), ('decode_failed') or ('invalid_padding').
 */
export function openPrivateContent(
  suite: CipherSuite,
  message: PrivateMessage,
  senderData: SenderData,
  key: Uint8Array,
  nonce: Uint8Array,
): AuthenticatedContent {
  const guardedNonce = applyReuseGuard(nonce, senderData.reuseGuard);
  let plaintext: Uint8Array;
  try {
    plaintext = suite.aead.open(key, guardedNonce, privateContentAAD(message), message.ciphertext);
  } catch (e) {
    if (!(e instanceof CryptoError)) throw e;
    throw new MlsError('decryption_failed', 'content does not decrypt', { cause: e });
  } finally {
    guardedNonce.fill(0);
  }
  try {
    const { body, auth } = decodePrivateMessageContent(plaintext, message.contentType);
    const content: FramedContent = {
      groupId: message.groupId,
      epoch: message.epoch,
      sender: memberSender(senderData.leafIndex),
      authenticatedData: message.authenticatedData,
      ...body,
    };
    return { wireFormat: WireFormat.privateMessage, content, auth };
  } finally {
    plaintext.fill(0);
  }
}

/** Unprotects a PublicMessage or PrivateMessage; other wire formats carry no framed content. */
export function unprotectMessage(
  state: EpochFramingState,
  message: MlsMessage,
  lookup: SignatureKeyLookup,
): AuthenticatedContent {
  switch (message.wireFormat) {
    case WireFormat.publicMessage:
      return unprotectPublicMessage(state, message.publicMessage, lookup);
    case WireFormat.privateMessage:
      return unprotectPrivateMessage(state, message.privateMessage, lookup);
    default:
      throw new MlsError('invalid_wire_format', 'message carries no framed content');
  }
}
