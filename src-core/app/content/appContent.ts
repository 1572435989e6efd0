/**
 * What the app puts inside an MLS application message (the `data` of the delivery layer's
 * ApplicationFrame): one versioned, bounded, TLS-encoded AppContent. The network sees none of it;
 * every member decodes it after MLS authenticated the sender, so a content never names its own
 * author (the MLS leaf does).
 *
 * ```
 * enum { text(1), reply(2), edit(3), delete(4), reaction(5), read_up_to(6), attachment(7),
 *        rename(8), role(9), policy(10), (255) } ContentType;
 *
 * struct {
 *   uint16 version = 1;
 *   opaque message_id[16];       // chosen at random by the sender; edits and replies name it
 *   uint64 sent_at_ms;           // the sender's clock (display only, never trusted for order)
 *   ContentType type;
 *   select (type) {
 *     case text:       utf8 text<V>;
 *     case reply:      opaque ref[16]; utf8 text<V>;
 *     case edit:       opaque ref[16]; utf8 text<V>;
 *     case delete:     opaque ref[16];
 *     case reaction:   opaque ref[16]; utf8 emoji<V>; bool on;
 *     case read_up_to: opaque ref[16];
 *     case attachment: AttachmentManifest manifest; utf8 caption<V>;
 *     case rename:     utf8 name<V>;
 *     case role:       opaque user_id<V>; uint8 role;          // 1 admin, 2 member
 *     case policy:     PolicyBody policy;
 *   };
 * } AppContent;
 *
 * struct {
 *   opaque file_key[32];         // the per-file key of every chunk (attachmentCrypto.ts)
 *   uint64 size;                 // plaintext bytes
 *   uint32 chunk_size;           // plaintext bytes per chunk (the last one may be shorter)
 *   opaque chunk_hashes<V>;      // SHA-256 of each encrypted chunk, 32 bytes each, in order
 *   utf8 name<V>; utf8 mime<V>;
 * } AttachmentManifest;
 *
 * struct {
 *   uint8 membership;            // 1 admins, 2 everyone
 *   uint64 key_update_after_ms; uint32 key_update_after_messages;
 *   optional<uint64> remove_idle_after_ms; optional<uint64> disappear_after_ms;
 * } PolicyBody;
 * ```
 * Bounds (checked both ways): text 64 KiB, emoji 64 bytes, names 256 bytes, mime 128 bytes,
 * caption 4 KiB, chunk size 4 KiB..4 MiB, at most 16,384 chunks (4 GiB at 256 KiB chunks), and
 * the chunk count must match size and chunk size.
 */
import {
  bool,
  decode,
  encode,
  enumOf,
  fixedBytes,
  opaque,
  optional,
  refine,
  struct,
  uint16,
  uint32,
  uint64,
  uint8,
  utf8String,
  variant,
} from '../../codec/index.js';
import type { Codec } from '../../codec/index.js';
import { ContentError } from './contentError.js';

export const APP_CONTENT_VERSION = 1;
export const CONTENT_ID_BYTES = 16;
export const FILE_KEY_BYTES = 32;
export const CHUNK_HASH_BYTES = 32;

export const CONTENT_LIMITS = {
  textBytes: 64 * 1024,
  emojiBytes: 64,
  nameBytes: 256,
  mimeBytes: 128,
  captionBytes: 4 * 1024,
  userIdBytes: 64,
  minChunkSize: 4 * 1024,
  maxChunkSize: 4 * 1024 * 1024,
  maxChunks: 16_384,
} as const;

export const ContentType = {
  text: 1,
  reply: 2,
  edit: 3,
  delete: 4,
  reaction: 5,
  readUpTo: 6,
  attachment: 7,
  rename: 8,
  role: 9,
  policy: 10,
} as const;
export type ContentType = (typeof ContentType)[keyof typeof ContentType];

export const RoleCode = { admin: 1, member: 2 } as const;
export const MembershipRuleCode = { admins: 1, everyone: 2 } as const;

export interface AttachmentManifest {
  readonly fileKey: Uint8Array;
  readonly size: bigint;
  readonly chunkSize: number;
  /** Concatenated SHA-256 hashes of the encrypted chunks. */
  readonly chunkHashes: Uint8Array;
  readonly name: string;
  readonly mime: string;
}

export interface PolicyBody {
  readonly membership: number;
  readonly keyUpdateAfterMs: bigint;
  readonly keyUpdateAfterMessages: number;
  readonly removeIdleAfterMs: bigint | undefined;
  readonly disappearAfterMs: bigint | undefined;
}

export type ContentBody =
  | { readonly type: typeof ContentType.text; readonly text: string }
  | { readonly type: typeof ContentType.reply; readonly ref: Uint8Array; readonly text: string }
  | { readonly type: typeof ContentType.edit; readonly ref: Uint8Array; readonly text: string }
  | { readonly type: typeof ContentType.delete; readonly ref: Uint8Array }
  | {
      readonly type: typeof ContentType.reaction;
      readonly ref: Uint8Array;
      readonly emoji: string;
      readonly on: boolean;
    }
  | { readonly type: typeof ContentType.readUpTo; readonly ref: Uint8Array }
  | {
      readonly type: typeof ContentType.attachment;
      readonly manifest: AttachmentManifest;
      readonly caption: string;
    }
  | { readonly type: typeof ContentType.rename; readonly name: string }
  | { readonly type: typeof ContentType.role; readonly userId: string; readonly role: number }
  | { readonly type: typeof ContentType.policy; readonly policy: PolicyBody };

export interface AppContent {
  readonly messageId: Uint8Array;
  readonly sentAtMs: bigint;
  readonly body: ContentBody;
}

const utf8 = new TextEncoder();

function boundedString(limit: number, what: string, nonEmpty = false): Codec<string> {
  return refine(utf8String, (s) => {
    const n = utf8.encode(s).length;
    if (n > limit) return `${what} of ${n} bytes (limit ${limit})`;
    if (nonEmpty && n === 0) return `empty ${what}`;
    return undefined;
  });
}

const ref = fixedBytes(CONTENT_ID_BYTES);
const text = boundedString(CONTENT_LIMITS.textBytes, 'text');

/** The number of chunks a file of `size` bytes has at `chunkSize` (an empty file has none). */
export function chunkCount(size: bigint, chunkSize: number): number {
  return Number((size + BigInt(chunkSize) - 1n) / BigInt(chunkSize));
}

/** Why a manifest breaks the bounds, or undefined. */
export function manifestProblem(m: AttachmentManifest): string | undefined {
  if (m.fileKey.length !== FILE_KEY_BYTES) return 'file key length';
  if (m.chunkSize < CONTENT_LIMITS.minChunkSize || m.chunkSize > CONTENT_LIMITS.maxChunkSize) {
    return `chunk size ${m.chunkSize}`;
  }
  if (m.chunkHashes.length % CHUNK_HASH_BYTES !== 0) return 'chunk hashes length';
  const count = m.chunkHashes.length / CHUNK_HASH_BYTES;
  if (count > CONTENT_LIMITS.maxChunks) return `${count} chunks`;
  if (count !== chunkCount(m.size, m.chunkSize)) return 'chunk count does not match the size';
  return undefined;
}

export const manifestCodec: Codec<AttachmentManifest> = refine(
  struct<AttachmentManifest>({
    fileKey: fixedBytes(FILE_KEY_BYTES),
    size: uint64,
    chunkSize: uint32,
    chunkHashes: opaque,
    name: boundedString(CONTENT_LIMITS.nameBytes, 'file name', true),
    mime: boundedString(CONTENT_LIMITS.mimeBytes, 'mime type'),
  }),
  manifestProblem,
);

export const policyBodyCodec: Codec<PolicyBody> = struct<PolicyBody>({
  membership: enumOf(uint8, [MembershipRuleCode.admins, MembershipRuleCode.everyone], 'rule'),
  keyUpdateAfterMs: uint64,
  keyUpdateAfterMessages: uint32,
  removeIdleAfterMs: optional(uint64),
  disappearAfterMs: optional(uint64),
});

const bodyCodec: Codec<ContentBody> = variant<ContentType, ContentBody, 'type'>(
  'type',
  enumOf(uint8, Object.values(ContentType), 'content type'),
  {
    [ContentType.text]: struct({ text }),
    [ContentType.reply]: struct({ ref, text }),
    [ContentType.edit]: struct({ ref, text }),
    [ContentType.delete]: struct({ ref }),
    [ContentType.reaction]: struct({
      ref,
      emoji: boundedString(CONTENT_LIMITS.emojiBytes, 'emoji', true),
      on: bool,
    }),
    [ContentType.readUpTo]: struct({ ref }),
    [ContentType.attachment]: struct({
      manifest: manifestCodec,
      caption: boundedString(CONTENT_LIMITS.captionBytes, 'caption'),
    }),
    [ContentType.rename]: struct({ name: boundedString(CONTENT_LIMITS.nameBytes, 'name', true) }),
    [ContentType.role]: struct({
      userId: boundedString(CONTENT_LIMITS.userIdBytes, 'user id', true),
      role: enumOf(uint8, [RoleCode.admin, RoleCode.member], 'role'),
    }),
    [ContentType.policy]: struct({ policy: policyBodyCodec }),
  },
);

const contentCodec: Codec<AppContent & { version: number }> = struct({
  version: uint16,
  messageId: fixedBytes(CONTENT_ID_BYTES),
  sentAtMs: uint64,
  body: bodyCodec,
});

/** Encodes a content; one that breaks a bound is ContentError `too_large` or `malformed`. */
export function encodeAppContent(content: AppContent): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = encode(contentCodec, { version: APP_CONTENT_VERSION, ...content });
  } catch (cause) {
    throw new ContentError('malformed', 'the content does not encode', { cause });
  }
  // Encoding does not run the decode-side checks: run them, so we never send what peers refuse.
  decodeAppContent(bytes);
  return bytes;
}

/** Decodes received content. Any bad input is a ContentError; nothing else escapes. */
export function decodeAppContent(bytes: Uint8Array): AppContent {
  if (bytes.length >= 2 && ((bytes[0]! << 8) | bytes[1]!) !== APP_CONTENT_VERSION) {
    throw new ContentError(
      'unsupported_version',
      `content version ${(bytes[0]! << 8) | bytes[1]!}`,
    );
  }
  try {
    const { messageId, sentAtMs, body } = decode(contentCodec, bytes);
    return { messageId, sentAtMs, body };
  } catch (cause) {
    throw new ContentError('malformed', 'the content does not parse', { cause });
  }
}

/** The i-th chunk hash of a manifest. */
export function chunkHash(m: AttachmentManifest, index: number): Uint8Array {
  return m.chunkHashes.subarray(index * CHUNK_HASH_BYTES, (index + 1) * CHUNK_HASH_BYTES);
}
