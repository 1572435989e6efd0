/**
 * Pre-shared keys (RFC 9420 §8.4): the PreSharedKeyID wire structure and the chaining of a list of
 * PSKs into the `psk_secret` input of the key schedule.
 */
import { encode, enumOf, opaque, struct, uint16, uint64, uint8, variant } from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import type { CipherSuite } from '../crypto/types.js';
import { MlsError } from './errors.js';

/** `enum { reserved(0), external(1), resumption(2), (255) } PSKType;` */
export const PSKType = { external: 1, resumption: 2 } as const;
export type PSKType = (typeof PSKType)[keyof typeof PSKType];

/** `enum { reserved(0), application(1), reinit(2), branch(3), (255) } ResumptionPSKUsage;` */
export const ResumptionPSKUsage = { application: 1, reinit: 2, branch: 3 } as const;
export type ResumptionPSKUsage = (typeof ResumptionPSKUsage)[keyof typeof ResumptionPSKUsage];

const pskTypeCodec: Codec<PSKType> = enumOf<PSKType>(
  uint8,
  [PSKType.external, PSKType.resumption],
  'PSKType',
);
const resumptionPskUsageCodec: Codec<ResumptionPSKUsage> = enumOf<ResumptionPSKUsage>(
  uint8,
  [ResumptionPSKUsage.application, ResumptionPSKUsage.reinit, ResumptionPSKUsage.branch],
  'ResumptionPSKUsage',
);

/** An external PSK, provided by the application and named by `pskId`. */
export interface ExternalPreSharedKeyID {
  readonly pskType: typeof PSKType.external;
  readonly pskId: Uint8Array;
  readonly pskNonce: Uint8Array;
}

/** A resumption PSK: the `resumption_psk` of group `pskGroupId` at epoch `pskEpoch`. */
export interface ResumptionPreSharedKeyID {
  readonly pskType: typeof PSKType.resumption;
  readonly usage: ResumptionPSKUsage;
  readonly pskGroupId: Uint8Array;
  readonly pskEpoch: bigint;
  readonly pskNonce: Uint8Array;
}

/**
 * ```
 * struct {
 *   PSKType psktype;
 *   select (PreSharedKeyID.psktype) {
 *     case external:
 *       opaque psk_id<V>;
 *
 *     case resumption:
 *       ResumptionPSKUsage usage;
 *       opaque psk_group_id<V>;
 *       uint64 psk_epoch;
 *   };
 *   opaque psk_nonce<V>;
 * } PreSharedKeyID;
 * ```
 */
export type PreSharedKeyID = ExternalPreSharedKeyID | ResumptionPreSharedKeyID;

// psk_nonce follows the select on the wire; putting it last in each case gives the same bytes.
export const preSharedKeyIdCodec: Codec<PreSharedKeyID> = variant<
  PSKType,
  PreSharedKeyID,
  'pskType'
>('pskType', pskTypeCodec, {
  [PSKType.external]: struct<Omit<ExternalPreSharedKeyID, 'pskType'>>({
    pskId: opaque,
    pskNonce: opaque,
  }),
  [PSKType.resumption]: struct<Omit<ResumptionPreSharedKeyID, 'pskType'>>({
    usage: resumptionPskUsageCodec,
    pskGroupId: opaque,
    pskEpoch: uint64,
    pskNonce: opaque,
  }),
});

/**
 * ```
 * struct {
 *     PreSharedKeyID id;
 *     uint16 index;
 *     uint16 count;
 * } PSKLabel;
 * ```
 */
export interface PSKLabel {
  readonly id: PreSharedKeyID;
  readonly index: number;
  readonly count: number;
}

export const pskLabelCodec: Codec<PSKLabel> = struct<PSKLabel>({
  id: preSharedKeyIdCodec,
  index: uint16,
  count: uint16,
});

/** A PSK to inject: its identifier (as sent in a proposal or GroupSecrets) and its value. */
export interface PskInput {
  readonly id: PreSharedKeyID;
  readonly psk: Uint8Array;
}

/** PSKLabel counts in a uint16. */
export const MAX_PSKS = 0xffff;

/** A fresh psk_nonce: KDF.Nh random bytes (§8.4). */
export function newPskNonce(suite: CipherSuite): Uint8Array {
  return suite.randomBytes(suite.kdf.size);
}

/** §12.1.4: a psk_nonce must be KDF.Nh bytes long. Throws MlsError('psk_invalid') otherwise. */
export function checkPskNonce(suite: CipherSuite, id: PreSharedKeyID): void {
  if (id.pskNonce.length !== suite.kdf.size) {
    throw new MlsError(
      'psk_invalid',
      `psk_nonce of ${id.pskNonce.length} bytes, want ${suite.kdf.size}`,
    );
  }
}

/**
 * psk_secret (§8.4): the PSKs chained in order through Extract, each first bound to its
 * PreSharedKeyID and position by ExpandWithLabel("derived psk", PSKLabel). With no PSKs the
 * result is the all-zero vector of length KDF.Nh.
 *
 * Intermediate secrets are zeroized; the callers' `psk` values are left alone (they own them).
 */
export function computePskSecret(suite: CipherSuite, psks: readonly PskInput[]): Uint8Array {
  const nh = suite.kdf.size;
  if (psks.length > MAX_PSKS)
    throw new MlsError('psk_invalid', `${psks.length} PSKs, at most ${MAX_PSKS}`);
  for (const { id } of psks) checkPskNonce(suite, id);
  const zero = new Uint8Array(nh);
  let secret: Uint8Array = new Uint8Array(nh);
  psks.forEach(({ id, psk }, index) => {
    const extracted = suite.kdf.extract(zero, psk);
    const label = encode(pskLabelCodec, { id, index, count: psks.length });
    const input = suite.expandWithLabel(extracted, 'derived psk', label, nh);
    const next = suite.kdf.extract(input, secret);
    extracted.fill(0);
    input.fill(0);
    secret.fill(0);
    secret = next;
  });
  return secret;
}
