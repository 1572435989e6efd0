/**
 * The step shared by creating and processing a commit once the tree is settled (RFC 9420 §8,
 * §8.2, §12.4.1–§12.4.2): the confirmed transcript hash and new GroupContext, the key schedule,
 * and the new epoch's secret tree.
 */
import { encode } from '../../codec/index.js';
import type { CipherSuite } from '../../crypto/types.js';
import type { FramedContent, FramingWireFormat } from '../framing/framedContent.js';
import { updateConfirmedTranscriptHash } from '../framing/transcriptHash.js';
import type { GroupContext } from '../groupContext.js';
import { groupContextCodec } from '../groupContext.js';
import type { EpochSecrets, NewEpoch } from '../keySchedule.js';
import { deriveEpoch } from '../keySchedule.js';
import type { RatchetTree } from '../ratchetTree/ratchetTree.js';
import { SecretTree } from '../secretTree.js';
import type { ResolvedGroupConfig } from './config.js';
import { EpochReceiver } from './epochReceiver.js';

export interface NextEpochInput {
  readonly suite: CipherSuite;
  readonly interimTranscriptHash: Uint8Array;
  /** The provisional GroupContext: new epoch, tree hash and extensions, old transcript hash. */
  readonly provisional: GroupContext;
  readonly initSecret: Uint8Array;
  readonly commitSecret: Uint8Array;
  readonly pskSecret: Uint8Array;
  readonly wireFormat: FramingWireFormat;
  readonly content: FramedContent;
  readonly signature: Uint8Array;
}

export interface NextEpoch {
  readonly groupContext: GroupContext;
  readonly keys: NewEpoch;
}

/** The new GroupContext (with the commit in its transcript) and the new epoch's secrets. */
export function nextEpoch(input: NextEpochInput): NextEpoch {
  const confirmedTranscriptHash = updateConfirmedTranscriptHash(
    input.suite,
    input.interimTranscriptHash,
    { wireFormat: input.wireFormat, content: input.content, signature: input.signature },
  );
  const groupContext: GroupContext = { ...input.provisional, confirmedTranscriptHash };
  const keys = deriveEpoch(input.suite, {
    initSecret: input.initSecret,
    commitSecret: input.commitSecret,
    pskSecret: input.pskSecret,
    groupContext: encode(groupContextCodec, groupContext),
  });
  return { groupContext, keys };
}

/**
 * The receiver of a new epoch: its secret tree takes the encryption secret and the receiver the
 * sender data secret, both leaving `secrets`.
 */
export function epochReceiver(
  suite: CipherSuite,
  config: ResolvedGroupConfig,
  groupContext: GroupContext,
  tree: RatchetTree,
  secrets: EpochSecrets,
): EpochReceiver {
  const secretTree = new SecretTree(suite, secrets.take('encryption'), tree.leafCount, {
    outOfOrderWindow: config.outOfOrderWindow,
    maxForwardDistance: config.maxForwardDistance,
  });
  return new EpochReceiver(suite, groupContext, tree, secretTree, secrets.take('senderData'));
}

/** Wipes the secrets of a NewEpoch that will not be used. */
export function wipeNewEpoch(keys: NewEpoch | undefined): void {
  if (keys === undefined) return;
  keys.joinerSecret.fill(0);
  keys.welcomeSecret.fill(0);
  keys.epoch.destroy();
}

/**
 * The resumption PSKs a new state keeps (§8.6): this epoch's, taken out of `secrets`, and those of
 * `previous` that are still within the window. The confirmation key leaves `secrets` too: the tag
 * it made is verified and kept.
 */
export function keptResumptionPsks(
  config: ResolvedGroupConfig,
  epoch: bigint,
  secrets: EpochSecrets | undefined,
  previous: ReadonlyMap<bigint, Uint8Array> = new Map(),
): Map<bigint, Uint8Array> {
  const keep = BigInt(config.resumptionPskEpochs);
  const out = new Map<bigint, Uint8Array>();
  if (secrets !== undefined) {
    const psk = secrets.take('resumption');
    if (keep > 0n) out.set(epoch, psk);
    else psk.fill(0);
    secrets.forget('confirmation');
  }
  for (const [e, psk] of previous) {
    if (e > epoch - keep && e < epoch) out.set(e, psk.slice());
  }
  return out;
}
