/**
 * Pre-shared keys in commits and Welcomes (RFC 9420 §8.4, §12.1.4): which PreSharedKeyIDs an
 * ordinary commit may carry, and finding the value of each.
 */
import { encode } from '../../codec/index.js';
import type { CipherSuite } from '../../crypto/types.js';
import { MlsError } from '../errors.js';
import type { PreSharedKeyID, PskInput } from '../psk.js';
import { PSKType, ResumptionPSKUsage, checkPskNonce, preSharedKeyIdCodec } from '../psk.js';
import { equalBytes } from '../ratchetTree/treeReader.js';
import type { ResolvedGroupConfig } from './config.js';

/**
 * §12.1.4: the nonce is KDF.Nh bytes, and a resumption PSK outside a reinitialization or a
 * branch has usage `application`. Throws MlsError('psk_invalid' | 'psk_usage_invalid').
 */
export function checkPskProposalId(suite: CipherSuite, id: PreSharedKeyID): void {
  checkPskNonce(suite, id);
  if (id.pskType === PSKType.resumption && id.usage !== ResumptionPSKUsage.application) {
    throw new MlsError(
      'psk_usage_invalid',
      `resumption PSK with usage ${id.usage} outside a reinit or branch`,
    );
  }
}

/** Where PSK values come from. */
export interface PskSource {
  readonly config: ResolvedGroupConfig;
  /** This group's id and its kept resumption PSKs (absent when joining). */
  readonly own?: {
    readonly groupId: Uint8Array;
    resumptionPsk(epoch: bigint): Uint8Array | undefined;
  };
  /** A PSK whose value the caller holds: the reinit or branch PSK of a new group's first commit. */
  readonly given?: PskInput;
}

/**
 * The value of each PSK, in order, for `computePskSecret`. Throws MlsError('psk_not_found') for
 * the first one we do not have (§12.4.2: all must be available).
 */
export function resolvePsks(source: PskSource, ids: readonly PreSharedKeyID[]): PskInput[] {
  return ids.map((id) => {
    let psk: Uint8Array | undefined;
    if (source.given !== undefined && samePskId(id, source.given.id)) {
      psk = source.given.psk;
    } else if (id.pskType === PSKType.external) {
      psk = source.config.externalPsk(id.pskId);
    } else if (source.own !== undefined && equalBytes(id.pskGroupId, source.own.groupId)) {
      psk = source.own.resumptionPsk(id.pskEpoch);
    } else {
      psk = source.config.resumptionPsk(id.pskGroupId, id.pskEpoch);
    }
    if (psk === undefined) {
      throw new MlsError(
        'psk_not_found',
        id.pskType === PSKType.external
          ? 'external PSK not available'
          : `resumption PSK of epoch ${id.pskEpoch} not available`,
      );
    }
    return { id, psk };
  });
}

function samePskId(a: PreSharedKeyID, b: PreSharedKeyID): boolean {
  return equalBytes(encode(preSharedKeyIdCodec, a), encode(preSharedKeyIdCodec, b));
}
