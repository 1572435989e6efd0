import { CodecError, encode, opaque } from '../../codec/index.js';
import type { Codec } from '../../codec/index.js';
import type { CipherSuite } from '../../crypto/types.js';
import { MlsError } from '../errors.js';
import type { GroupContext } from '../groupContext.js';
import type { FramedContent, FramedContentTBS, FramingWireFormat } from './framedContent.js';
import {
  ContentType,
  framedContentCodec,
  framedContentTBSCodec,
  framingWireFormatCodec,
} from './framedContent.js';
import { mac, verifyMac } from './mac.js';
import { senderCoversGroupContext } from './sender.js';

/** The label of SignWithLabel for framed content (RFC 9420 §6.1, §17.6). */
export const FRAMED_CONTENT_SIGN_LABEL = 'FramedContentTBS';

/**
 * ```
 * opaque MAC<V>;
 *
 * struct {
 *     // SignWithLabel(., "FramedContentTBS", FramedContentTBS)
 *     opaque signature<V>;
 *     select (FramedContent.content_type) {
 *         case commit:
 *             // MAC(confirmation_key, GroupContext.confirmed_transcript_hash)
 *             MAC confirmation_tag;
 *         case application:
 *         case proposal:
 *             struct{};
 *     };
 * } FramedContentAuthData;
 * ```
 * `confirmationTag` is set exactly for commits.
 */
export interface FramedContentAuthData {
  readonly signature: Uint8Array;
  readonly confirmationTag?: Uint8Array;
}

export function framedContentAuthDataCodec(contentType: ContentType): Codec<FramedContentAuthData> {
  const isCommit = contentType === ContentType.commit;
  return {
    encode(w, v) {
      opaque.encode(w, v.signature);
      if (isCommit !== (v.confirmationTag !== undefined)) {
        throw new CodecError(
          'invalid_value',
          isCommit ? 'a commit needs a confirmation tag' : 'only a commit has a confirmation tag',
        );
      }
      if (v.confirmationTag !== undefined) opaque.encode(w, v.confirmationTag);
    },
    decode(r) {
      const signature = opaque.decode(r);
      if (!isCommit) return { signature };
      return { signature, confirmationTag: opaque.decode(r) };
    },
  };
}

/**
 * ```
 * struct {
 *     WireFormat wire_format;
 *     FramedContent content;
 *     FramedContentAuthData auth;
 * } AuthenticatedContent;
 * ```
 */
export interface AuthenticatedContent {
  readonly wireFormat: FramingWireFormat;
  readonly content: FramedContent;
  readonly auth: FramedContentAuthData;
}

export const authenticatedContentCodec: Codec<AuthenticatedContent> = {
  encode(w, v) {
    framingWireFormatCodec.encode(w, v.wireFormat);
    framedContentCodec.encode(w, v.content);
    framedContentAuthDataCodec(v.content.contentType).encode(w, v.auth);
  },
  decode(r) {
    const wireFormat = framingWireFormatCodec.decode(r);
    const content = framedContentCodec.decode(r);
    const auth = framedContentAuthDataCodec(content.contentType).decode(r);
    return { wireFormat, content, auth };
  },
};

/** FramedContentTBS for a content, taking the GroupContext only for senders it binds. */
export function framedContentTBS(
  wireFormat: FramingWireFormat,
  content: FramedContent,
  groupContext: GroupContext,
): FramedContentTBS {
  return {
    wireFormat,
    content,
    context: senderCoversGroupContext(content.sender) ? groupContext : undefined,
  };
}

export function signFramedContent(
  suite: CipherSuite,
  signaturePrivateKey: Uint8Array,
  wireFormat: FramingWireFormat,
  content: FramedContent,
  groupContext: GroupContext,
): Uint8Array {
  const tbs = encode(framedContentTBSCodec, framedContentTBS(wireFormat, content, groupContext));
  return suite.signWithLabel(signaturePrivateKey, FRAMED_CONTENT_SIGN_LABEL, tbs);
}

/** True if `auth.signature` is the sender's signature over this content in this group context. */
export function verifyFramedContentSignature(
  suite: CipherSuite,
  signaturePublicKey: Uint8Array,
  authenticated: AuthenticatedContent,
  groupContext: GroupContext,
): boolean {
  const tbs = encode(
    framedContentTBSCodec,
    framedContentTBS(authenticated.wireFormat, authenticated.content, groupContext),
  );
  return suite.verifyWithLabel(
    signaturePublicKey,
    FRAMED_CONTENT_SIGN_LABEL,
    tbs,
    authenticated.auth.signature,
  );
}

export interface AuthenticateOptions {
  readonly signaturePrivateKey: Uint8Array;
  readonly wireFormat: FramingWireFormat;
  readonly content: FramedContent;
  /** The current epoch's GroupContext (ignored for senders whose signature does not bind it). */
  readonly groupContext: GroupContext;
}

/** Signs an application message or a proposal. Commits go through `authenticateCommit`. */
export function authenticateContent(
  suite: CipherSuite,
  o: AuthenticateOptions,
): AuthenticatedContent {
  if (o.content.contentType === ContentType.commit) {
    throw new MlsError(
      'invalid_content_type',
      'a commit needs a confirmation tag: use authenticateCommit',
    );
  }
  const signature = signFramedContent(
    suite,
    o.signaturePrivateKey,
    o.wireFormat,
    o.content,
    o.groupContext,
  );
  return { wireFormat: o.wireFormat, content: o.content, auth: { signature } };
}

/**
 * Signs a commit. The confirmation tag depends on the signature (through the confirmed transcript
 * hash) and on the next epoch's key schedule, so the caller computes it from the signature.
 */
export function authenticateCommit(
  suite: CipherSuite,
  o: AuthenticateOptions,
  confirmationTagFor: (signature: Uint8Array) => Uint8Array,
): AuthenticatedContent {
  if (o.content.contentType !== ContentType.commit) {
    throw new MlsError('invalid_content_type', 'authenticateCommit takes a commit');
  }
  const signature = signFramedContent(
    suite,
    o.signaturePrivateKey,
    o.wireFormat,
    o.content,
    o.groupContext,
  );
  const confirmationTag = confirmationTagFor(signature);
  return { wireFormat: o.wireFormat, content: o.content, auth: { signature, confirmationTag } };
}

/** `confirmation_tag = MAC(confirmation_key, GroupContext.confirmed_transcript_hash)` (§8.1). */
export function computeConfirmationTag(
  suite: CipherSuite,
  confirmationKey: Uint8Array,
  confirmedTranscriptHash: Uint8Array,
): Uint8Array {
  return mac(suite, confirmationKey, confirmedTranscriptHash);
}

/** Throws MlsError('invalid_confirmation_tag') unless the tag matches; compares in constant time. */
export function verifyConfirmationTag(
  suite: CipherSuite,
  confirmationKey: Uint8Array,
  confirmedTranscriptHash: Uint8Array,
  confirmationTag: Uint8Array | undefined,
): void {
  if (
    confirmationTag === undefined ||
    !verifyMac(suite, confirmationKey, confirmedTranscriptHash, confirmationTag)
  ) {
    throw new MlsError('invalid_confirmation_tag', 'confirmation tag does not match');
  }
}
