import { CodecError, opaque, struct, uint16, uint64, uint8, variant } from '../../codec/index.js';
import type { Codec, Reader, Writer } from '../../codec/index.js';
import type { Commit } from '../commit.js';
import { commitCodec } from '../commit.js';
import type { GroupContext } from '../groupContext.js';
import { PROTOCOL_VERSION_MLS10, groupContextCodec } from '../groupContext.js';
import type { Proposal } from '../proposal.js';
import { proposalCodec } from '../proposal.js';
import type { Sender } from './sender.js';
import { senderCodec, senderCoversGroupContext } from './sender.js';

/**
 * ```
 * enum {
 *     reserved(0),
 *     application(1),
 *     proposal(2),
 *     commit(3),
 *     (255)
 * } ContentType;
 * ```
 */
export const ContentType = { application: 1, proposal: 2, commit: 3 } as const;
export type ContentType = (typeof ContentType)[keyof typeof ContentType];

/** Decodes only the three defined content types: reserved(0) and unknown values are rejected. */
export const contentTypeCodec: Codec<ContentType> = {
  encode: (w, v) => uint8.encode(w, v),
  decode(r) {
    const v = uint8.decode(r);
    if (v !== ContentType.application && v !== ContentType.proposal && v !== ContentType.commit) {
      throw new CodecError('invalid_value', `unknown content type ${v}`);
    }
    return v;
  },
};

/**
 * `uint16 WireFormat;` values from the "MLS Wire Formats" registry (RFC 9420 §17.2).
 */
export const WireFormat = {
  publicMessage: 1,
  privateMessage: 2,
  welcome: 3,
  groupInfo: 4,
  keyPackage: 5,
} as const;
export type WireFormat = (typeof WireFormat)[keyof typeof WireFormat];

/** The two wire formats that carry a FramedContent. */
export type FramingWireFormat = typeof WireFormat.publicMessage | typeof WireFormat.privateMessage;

export const framingWireFormatCodec: Codec<FramingWireFormat> = {
  encode: (w, v) => uint16.encode(w, v),
  decode(r) {
    const v = uint16.decode(r);
    if (v !== WireFormat.publicMessage && v !== WireFormat.privateMessage) {
      throw new CodecError('invalid_value', `wire format ${v} carries no framed content`);
    }
    return v;
  },
};

/**
 * The `select (content_type)` part of FramedContent and PrivateMessageContent:
 * ```
 * select (FramedContent.content_type) {
 *     case application:
 *       opaque application_data<V>;
 *     case proposal:
 *       Proposal proposal;
 *     case commit:
 *       Commit commit;
 * };
 * ```
 */
export type ContentBody =
  | { readonly contentType: typeof ContentType.application; readonly applicationData: Uint8Array }
  | { readonly contentType: typeof ContentType.proposal; readonly proposal: Proposal }
  | { readonly contentType: typeof ContentType.commit; readonly commit: Commit };

const bodyCases = {
  [ContentType.application]: struct({ applicationData: opaque }),
  [ContentType.proposal]: struct({ proposal: proposalCodec }),
  [ContentType.commit]: struct({ commit: commitCodec }),
} as const;

/** The content type, then the selected body. */
export const contentBodyCodec: Codec<ContentBody> = variant<
  ContentType,
  ContentBody,
  'contentType'
>('contentType', contentTypeCodec, bodyCases);

/** The selected body alone, for PrivateMessageContent where the tag travels outside it. */
export function encodeContentBodyUntagged(w: Writer, body: ContentBody): void {
  switch (body.contentType) {
    case ContentType.application:
      return bodyCases[ContentType.application].encode(w, body);
    case ContentType.proposal:
      return bodyCases[ContentType.proposal].encode(w, body);
    case ContentType.commit:
      return bodyCases[ContentType.commit].encode(w, body);
  }
}

export function decodeContentBodyUntagged(r: Reader, contentType: ContentType): ContentBody {
  switch (contentType) {
    case ContentType.application:
      return { contentType, ...bodyCases[ContentType.application].decode(r) };
    case ContentType.proposal:
      return { contentType, ...bodyCases[ContentType.proposal].decode(r) };
    case ContentType.commit:
      return { contentType, ...bodyCases[ContentType.commit].decode(r) };
  }
}

/**
 * ```
 * struct {
 *     opaque group_id<V>;
 *     uint64 epoch;
 *     Sender sender;
 *     opaque authenticated_data<V>;
 *
 *     ContentType content_type;
 *     select (FramedContent.content_type) {
 *         case application:
 *           opaque application_data<V>;
 *         case proposal:
 *           Proposal proposal;
 *         case commit:
 *           Commit commit;
 *     };
 * } FramedContent;
 * ```
 */
export type FramedContent = {
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
  readonly sender: Sender;
  readonly authenticatedData: Uint8Array;
} & ContentBody;

export const framedContentCodec: Codec<FramedContent> = {
  encode(w, v) {
    opaque.encode(w, v.groupId);
    uint64.encode(w, v.epoch);
    senderCodec.encode(w, v.sender);
    opaque.encode(w, v.authenticatedData);
    contentBodyCodec.encode(w, v);
  },
  decode(r) {
    const groupId = opaque.decode(r);
    const epoch = uint64.decode(r);
    const sender = senderCodec.decode(r);
    const authenticatedData = opaque.decode(r);
    const body = contentBodyCodec.decode(r);
    return { groupId, epoch, sender, authenticatedData, ...body };
  },
};

/**
 * ```
 * struct {
 *     ProtocolVersion version = mls10;
 *     WireFormat wire_format;
 *     FramedContent content;
 *     select (FramedContentTBS.content.sender.sender_type) {
 *         case member:
 *         case new_member_commit:
 *             GroupContext context;
 *         case external:
 *         case new_member_proposal:
 *             struct{};
 *     };
 * } FramedContentTBS;
 * ```
 * `context` is present exactly when the sender is a member or a new member committing: those
 * signatures are then bound to one group and epoch.
 */
export interface FramedContentTBS {
  readonly wireFormat: FramingWireFormat;
  readonly content: FramedContent;
  readonly context: GroupContext | undefined;
}

export const framedContentTBSCodec: Codec<FramedContentTBS> = {
  encode(w, v) {
    const needsContext = senderCoversGroupContext(v.content.sender);
    if (needsContext !== (v.context !== undefined)) {
      throw new CodecError(
        'invalid_value',
        needsContext
          ? 'FramedContentTBS needs the GroupContext'
          : 'FramedContentTBS takes no GroupContext',
      );
    }
    uint16.encode(w, PROTOCOL_VERSION_MLS10);
    framingWireFormatCodec.encode(w, v.wireFormat);
    framedContentCodec.encode(w, v.content);
    if (v.context !== undefined) groupContextCodec.encode(w, v.context);
  },
  decode(r) {
    const version = uint16.decode(r);
    if (version !== PROTOCOL_VERSION_MLS10) {
      throw new CodecError('invalid_value', `protocol version ${version}`);
    }
    const wireFormat = framingWireFormatCodec.decode(r);
    const content = framedContentCodec.decode(r);
    const context = senderCoversGroupContext(content.sender)
      ? groupContextCodec.decode(r)
      : undefined;
    return { wireFormat, content, context };
  },
};
