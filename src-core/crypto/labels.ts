/**
 * The structures MLS feeds to its hash, KDF, signature and HPKE so that no value can be mistaken
 * for another: RFC 9420 §5.1.2 (SignContent), §5.1.3 (EncryptContext), §5.2 (RefHashInput) and
 * §8 (KDFLabel).
 */
import { opaque, struct, uint16 } from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import { concat, utf8 } from './bytes.js';

const MLS_10 = utf8('MLS 1.0 ');

/** `"MLS 1.0 " + Label`, the label of KDFLabel, SignContent and EncryptContext. */
export function mlsLabel(label: string): Uint8Array {
  return concat(MLS_10, utf8(label));
}

/**
 * ```
 * struct {
 *     uint16 length;
 *     opaque label<V>;
 *     opaque context<V>;
 * } KDFLabel;
 * ```
 */
export interface KdfLabel {
  readonly length: number;
  readonly label: Uint8Array;
  readonly context: Uint8Array;
}

export const kdfLabelCodec: Codec<KdfLabel> = struct<KdfLabel>({
  length: uint16,
  label: opaque,
  context: opaque,
});

/**
 * ```
 * struct {
 *     opaque label<V>;
 *     opaque content<V>;
 * } SignContent;
 * ```
 */
export interface SignContent {
  readonly label: Uint8Array;
  readonly content: Uint8Array;
}

export const signContentCodec: Codec<SignContent> = struct<SignContent>({
  label: opaque,
  content: opaque,
});

/**
 * ```
 * struct {
 *   opaque label<V>;
 *   opaque context<V>;
 * } EncryptContext;
 * ```
 */
export interface EncryptContext {
  readonly label: Uint8Array;
  readonly context: Uint8Array;
}

export const encryptContextCodec: Codec<EncryptContext> = struct<EncryptContext>({
  label: opaque,
  context: opaque,
});

/**
 * ```
 * struct {
 *   opaque label<V>;
 *   opaque value<V>;
 * } RefHashInput;
 * ```
 */
export interface RefHashInput {
  readonly label: Uint8Array;
  readonly value: Uint8Array;
}

export const refHashInputCodec: Codec<RefHashInput> = struct<RefHashInput>({
  label: opaque,
  value: opaque,
});
