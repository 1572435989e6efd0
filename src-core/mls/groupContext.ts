import { opaque, struct, uint16, uint64 } from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import type { Extension } from './extension.js';
import { extensionsCodec } from './extension.js';

/** `ProtocolVersion`: only mls10 (1) exists. */
export const PROTOCOL_VERSION_MLS10 = 1;

/**
 * ```
 * struct {
 *     ProtocolVersion version = mls10;
 *     CipherSuite cipher_suite;
 *     opaque group_id<V>;
 *     uint64 epoch;
 *     opaque tree_hash<V>;
 *     opaque confirmed_transcript_hash<V>;
 *     Extension extensions<V>;
 * } GroupContext;
 * ```
 */
export interface GroupContext {
  readonly version: number;
  readonly cipherSuite: number;
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
  readonly treeHash: Uint8Array;
  readonly confirmedTranscriptHash: Uint8Array;
  readonly extensions: readonly Extension[];
}

export const groupContextCodec: Codec<GroupContext> = struct<GroupContext>({
  version: uint16,
  cipherSuite: uint16,
  groupId: opaque,
  epoch: uint64,
  treeHash: opaque,
  confirmedTranscriptHash: opaque,
  extensions: extensionsCodec as Codec<readonly Extension[]>,
});
