import { struct, uint32, uint8, variant } from '../../codec/index.js';
import type { Codec } from '../../codec/index.js';

/**
 * ```
 * enum {
 *     reserved(0),
 *     member(1),
 *     external(2),
 *     new_member_proposal(3),
 *     new_member_commit(4),
 *     (255)
 * } SenderType;
 * ```
 */
export const SenderType = {
  member: 1,
  external: 2,
  newMemberProposal: 3,
  newMemberCommit: 4,
} as const;
export type SenderType = (typeof SenderType)[keyof typeof SenderType];

/**
 * ```
 * struct {
 *     SenderType sender_type;
 *     select (Sender.sender_type) {
 *         case member:
 *             uint32 leaf_index;
 *         case external:
 *             uint32 sender_index;
 *         case new_member_commit:
 *         case new_member_proposal:
 *             struct{};
 *     };
 * } Sender;
 * ```
 */
export type Sender =
  | { readonly senderType: typeof SenderType.member; readonly leafIndex: number }
  | { readonly senderType: typeof SenderType.external; readonly senderIndex: number }
  | { readonly senderType: typeof SenderType.newMemberProposal }
  | { readonly senderType: typeof SenderType.newMemberCommit };

export type MemberSender = Extract<Sender, { senderType: typeof SenderType.member }>;

const senderTypeCodec = uint8 as Codec<SenderType>;

export const senderCodec: Codec<Sender> = variant<SenderType, Sender, 'senderType'>(
  'senderType',
  senderTypeCodec,
  {
    [SenderType.member]: struct({ leafIndex: uint32 }),
    [SenderType.external]: struct({ senderIndex: uint32 }),
    [SenderType.newMemberProposal]: struct({}),
    [SenderType.newMemberCommit]: struct({}),
  },
);

export function memberSender(leafIndex: number): MemberSender {
  return { senderType: SenderType.member, leafIndex };
}

/**
 * The senders whose signature covers the GroupContext (FramedContentTBS) and the sender types
 * that exist inside the group's current epoch.
 */
export function senderCoversGroupContext(sender: Sender): boolean {
  return (
    sender.senderType === SenderType.member || sender.senderType === SenderType.newMemberCommit
  );
}
