import { encode, opaque, struct } from '../../codec/index.js';
import type { Codec } from '../../codec/index.js';
import type { CipherSuite } from '../../crypto/types.js';
import { MlsError } from '../errors.js';
import type { AuthenticatedContent } from './authenticatedContent.js';
import type { FramedContent, FramingWireFormat } from './framedContent.js';
import { ContentType, framedContentCodec, framingWireFormatCodec } from './framedContent.js';

/**
 * ```
 * struct {
 *     WireFormat wire_format;
 *     FramedContent content; // with content_type == commit
 *     opaque signature<V>;
 * } ConfirmedTranscriptHashInput;
 * ```
 */
export interface ConfirmedTranscriptHashInput {
  readonly wireFormat: FramingWireFormat;
  readonly content: FramedContent;
  readonly signature: Uint8Array;
}

export const confirmedTranscriptHashInputCodec: Codec<ConfirmedTranscriptHashInput> =
  struct<ConfirmedTranscriptHashInput>({
    wireFormat: framingWireFormatCodec,
    content: framedContentCodec,
    signature: opaque,
  });

/**
 * ```
 * struct {
 *     MAC confirmation_tag;
 * } InterimTranscriptHashInput;
 * ```
 */
export interface InterimTranscriptHashInput {
  readonly confirmationTag: Uint8Array;
}

export const interimTranscriptHashInputCodec: Codec<InterimTranscriptHashInput> =
  struct<InterimTranscriptHashInput>({ confirmationTag: opaque });

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/**
 * `confirmed_transcript_hash_[epoch] =
 *     Hash(interim_transcript_hash_[epoch - 1] || ConfirmedTranscriptHashInput_[epoch])`
 */
export function updateConfirmedTranscriptHash(
  suite: CipherSuite,
  interimTranscriptHashBefore: Uint8Array,
  input: ConfirmedTranscriptHashInput,
): Uint8Array {
  if (input.content.contentType !== ContentType.commit) {
    throw new MlsError('invalid_content_type', 'only a commit enters the transcript hash');
  }
  return suite.hash.digest(
    concat(interimTranscriptHashBefore, encode(confirmedTranscriptHashInputCodec, input)),
  );
}

/**
 * `interim_transcript_hash_[epoch] =
 *     Hash(confirmed_transcript_hash_[epoch] || InterimTranscriptHashInput_[epoch])`
 */
export function updateInterimTranscriptHash(
  suite: CipherSuite,
  confirmedTranscriptHash: Uint8Array,
  confirmationTag: Uint8Array,
): Uint8Array {
  return suite.hash.digest(
    concat(confirmedTranscriptHash, encode(interimTranscriptHashInputCodec, { confirmationTag })),
  );
}

export interface TranscriptHashes {
  readonly confirmedTranscriptHash: Uint8Array;
  readonly interimTranscriptHash: Uint8Array;
}

/** Both transcript hashes after the commit in `commit` (which must carry its confirmation tag). */
export function nextTranscriptHashes(
  suite: CipherSuite,
  interimTranscriptHashBefore: Uint8Array,
  commit: AuthenticatedContent,
): TranscriptHashes {
  const tag = commit.auth.confirmationTag;
  if (commit.content.contentType !== ContentType.commit || tag === undefined) {
    throw new MlsError('invalid_content_type', 'transcript hashes advance only with a commit');
  }
  const confirmedTranscriptHash = updateConfirmedTranscriptHash(
    suite,
    interimTranscriptHashBefore,
    {
      wireFormat: commit.wireFormat,
      content: commit.content,
      signature: commit.auth.signature,
    },
  );
  return {
    confirmedTranscriptHash,
    interimTranscriptHash: updateInterimTranscriptHash(suite, confirmedTranscriptHash, tag),
  };
}
