/**
 * Application messages of the current epoch received together (a catch-up, a burst): the checks
 * and outcome of `processMessage` on each in order, with the signature checks on worker threads
 * (see framing/unprotectBatch.ts). Handshake messages and past epochs go one by one.
 */
import { MlsError } from '../errors.js';
import type { AuthenticatedContent } from '../framing/authenticatedContent.js';
import { ContentType, WireFormat } from '../framing/framedContent.js';
import type { MlsMessage } from '../framing/mlsMessage.js';
import type { PrivateMessage } from '../framing/privateMessage.js';
import { bytesEqual } from '../framing/rules.js';
import { SenderType } from '../framing/sender.js';
import type { UnprotectBatchOptions, UnprotectResult } from '../framing/unprotectBatch.js';
import { unprotectPrivateMessages } from '../framing/unprotectBatch.js';
import type { LeafNode } from '../leafNode.js';
import type { LeafIndex } from '../treeMath.js';
import type { GroupState } from './groupState.js';
import { signatureKeyLookup } from './senders.js';

/** Application data that decrypted and verified, with the sender's leaf as the tree shows it. */
export interface ReceivedApplication {
  readonly data: Uint8Array;
  readonly sender: LeafIndex;
  readonly senderLeaf: LeafNode;
  readonly epoch: bigint;
  readonly authenticatedData: Uint8Array;
}

/**
 * The PrivateMessage inside `message` if `receiveApplicationBatch` can take it: application data
 * for this group's current epoch while we are a member. Anything else goes to `processMessage`.
 */
export function batchableApplication(
  state: GroupState,
  message: MlsMessage,
): PrivateMessage | undefined {
  if (message.wireFormat !== WireFormat.privateMessage) return undefined;
  const m = message.privateMessage;
  const ours =
    m.contentType === ContentType.application &&
    m.epoch === state.epoch &&
    state.status !== 'removed' &&
    bytesEqual(m.groupId, state.groupId);
  return ours ? m : undefined;
}

/**
 * Unprotects application messages of the current epoch (each one `batchableApplication`) as
 * `processMessage` would one by one, in order; one result per message. A message from our own
 * leaf, or whose sender leaf is blank, is rejected before its key is consumed.
 */
export async function receiveApplicationBatch(
  state: GroupState,
  messages: readonly PrivateMessage[],
  options: UnprotectBatchOptions = {},
): Promise<UnprotectResult<ReceivedApplication>[]> {
  state.checkLive();
  const accept = (ac: AuthenticatedContent): ReceivedApplication => {
    const c = ac.content;
    if (c.contentType !== ContentType.application || c.sender.senderType !== SenderType.member) {
      throw new MlsError('invalid_content_type', 'not application data');
    }
    if (c.sender.leafIndex === state.ownLeaf) {
      throw new MlsError('own_message', 'a message from our own leaf');
    }
    const senderLeaf = state.tree.leafNode(c.sender.leafIndex);
    if (senderLeaf === undefined) throw new MlsError('invalid_sender', 'sender leaf is blank');
    return {
      data: c.applicationData,
      sender: c.sender.leafIndex,
      senderLeaf,
      epoch: c.epoch,
      authenticatedData: c.authenticatedData,
    };
  };
  return unprotectPrivateMessages(
    state.framing(),
    messages,
    signatureKeyLookup(state),
    accept,
    options,
  );
}
