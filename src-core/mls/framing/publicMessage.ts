import { CodecError, Writer, opaque } from '../../codec/index.js';
import type { Codec } from '../../codec/index.js';
import type { CipherSuite } from '../../crypto/types.js';
import { MlsError } from '../errors.js';
import type { GroupContext } from '../groupContext.js';
import type { AuthenticatedContent, FramedContentAuthData } from './authenticatedContent.js';
import { framedContentAuthDataCodec, framedContentTBS } from './authenticatedContent.js';
import type { FramedContent } from './framedContent.js';
import { WireFormat, framedContentCodec, framedContentTBSCodec } from './framedContent.js';
import { mac, verifyMac } from './mac.js';
import { SenderType } from './sender.js';

/**
 * ```
 * struct {
 *     FramedContent content;
 *     FramedContentAuthData auth;
 *     select (PublicMessage.content.sender.sender_type) {
 *         case member:
 *             MAC membership_tag;
 *         case external:
 *         case new_member_commit:
 *         case new_member_proposal:
 *             struct{};
 *     };
 * } PublicMessage;
 * ```
 * `membershipTag` is set exactly when the sender is a member.
 */
export interface PublicMessage {
  readonly content: FramedContent;
  readonly auth: FramedContentAuthData;
  readonly membershipTag?: Uint8Array;
}

export const publicMessageCodec: Codec<PublicMessage> = {
  encode(w, v) {
    framedContentCodec.encode(w, v.content);
    framedContentAuthDataCodec(v.content.contentType).encode(w, v.auth);
    const isMember = v.content.sender.senderType === SenderType.member;
    if (isMember !== (v.membershipTag !== undefined)) {
      throw new CodecError(
        'invalid_value',
        isMember ? 'a member message needs a membership tag' : 'only a member message has one',
      );
    }
    if (v.membershipTag !== undefined) opaque.encode(w, v.membershipTag);
  },
  decode(r) {
    const content = framedContentCodec.decode(r);
    const auth = framedContentAuthDataCodec(content.contentType).decode(r);
    if (content.sender.senderType !== SenderType.member) return { content, auth };
    return { content, auth, membershipTag: opaque.decode(r) };
  },
};

/**
 * ```
 * struct {
 *   FramedContentTBS content_tbs;
 *   FramedContentAuthData auth;
 * } AuthenticatedContentTBM;
 * ```
 */
export function encodeAuthenticatedContentTBM(
  content: FramedContent,
  auth: FramedContentAuthData,
  groupContext: GroupContext,
): Uint8Array {
  const w = new Writer();
  framedContentTBSCodec.encode(
    w,
    framedContentTBS(WireFormat.publicMessage, content, groupContext),
  );
  framedContentAuthDataCodec(content.contentType).encode(w, auth);
  return w.finish();
}

/** `membership_tag = MAC(membership_key, AuthenticatedContentTBM)` */
export function computeMembershipTag(
  suite: CipherSuite,
  membershipKey: Uint8Array,
  content: FramedContent,
  auth: FramedContentAuthData,
  groupContext: GroupContext,
): Uint8Array {
  return mac(suite, membershipKey, encodeAuthenticatedContentTBM(content, auth, groupContext));
}

/** Wraps signed content as a PublicMessage, adding the membership tag for a member sender. */
export function toPublicMessage(
  suite: CipherSuite,
  authenticated: AuthenticatedContent,
  membershipKey: Uint8Array,
  groupContext: GroupContext,
): PublicMessage {
  if (authenticated.wireFormat !== WireFormat.publicMessage) {
    throw new MlsError('invalid_wire_format', 'content was signed for a PrivateMessage');
  }
  const { content, auth } = authenticated;
  if (content.sender.senderType !== SenderType.member) return { content, auth };
  const membershipTag = computeMembershipTag(suite, membershipKey, content, auth, groupContext);
  return { content, auth, membershipTag };
}

/**
 * Checks the membership tag of a member's PublicMessage; non-member senders carry none.
 * Throws MlsError('invalid_membership_tag').
 */
export function verifyMembershipTag(
  suite: CipherSuite,
  message: PublicMessage,
  membershipKey: Uint8Array,
  groupContext: GroupContext,
): void {
  if (message.content.sender.senderType !== SenderType.member) return;
  const tag = message.membershipTag;
  const tbm = encodeAuthenticatedContentTBM(message.content, message.auth, groupContext);
  if (tag === undefined || !verifyMac(suite, membershipKey, tbm, tag)) {
    throw new MlsError('invalid_membership_tag', 'membership tag does not match');
  }
}
