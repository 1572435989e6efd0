/**
 * How a group behaves where RFC 9420 leaves the choice to the application: wire format of
 * handshake messages, padding, how long old keys are kept, time, and the two hooks through which
 * the identity layer and the application's policy decide who and what is acceptable.
 *
 * A config is not part of the group's shared state: members may differ in it (one pads more,
 * another keeps fewer old epochs) as long as their policies accept each other's messages.
 */
import type { Credential } from '../credential.js';
import { CredentialType } from '../credential.js';
import { MlsError } from '../errors.js';
import type { PaddingPolicy } from '../framing/padding.js';
import { DEFAULT_PADDING } from '../framing/padding.js';
import type { Sender } from '../framing/sender.js';
import type { Proposal } from '../proposal.js';
import { DEFAULT_MAX_FORWARD_DISTANCE, DEFAULT_OUT_OF_ORDER_WINDOW } from '../secretTree.js';
import type { GroupState } from './groupState.js';

/** PrivateMessage hides handshake content from the network; PublicMessage lets a DS read it. */
export type HandshakeWireFormat = 'private' | 'public';

/** Where a credential was met, so the identity layer can apply the right rule. */
export interface CredentialContext {
  /**
   * - `add`: in a KeyPackage of an Add; `update`: in an Update proposal; `commit`: in the leaf of
   *   an UpdatePath; `external_commit`: in the leaf of a new member's commit;
   * - `tree`: a member of a tree received on joining; `external_sender`: in external_senders.
   */
  readonly kind: 'add' | 'update' | 'commit' | 'external_commit' | 'tree' | 'external_sender';
  readonly groupId: Uint8Array;
  /** The leaf the credential is for, when it has one. */
  readonly leafIndex?: number;
  /**
   * The credential this one replaces (update, commit, and an external commit that removes the
   * joiner's old leaf): RFC 9420 §5.3.1 asks that it present the same identity.
   */
  readonly previous?: Credential;
}

/**
 * Decides whether a credential binds `signatureKey` to an acceptable identity (§5.3.1). Returns
 * false to reject; the message or commit carrying it is then rejected as 'credential_rejected'.
 */
export type CredentialValidator = (
  credential: Credential,
  signatureKey: Uint8Array,
  context: CredentialContext,
) => boolean;

/**
 * The application's rules on top of §12.2 (who may add or remove whom, which custom proposal
 * types are welcome). Called for every proposal received and every proposal in a commit, with the
 * proposal's sender and the state of the epoch it belongs to. Returns false to reject.
 */
export type ProposalPolicy = (proposal: Proposal, sender: Sender, state: GroupState) => boolean;

export interface KeyPackageLifetimePolicy {
  /** How long our own KeyPackages (and a new group's first leaf) are valid, in seconds. */
  readonly validFor?: bigint;
  /** The longest total lifetime accepted in a received KeyPackage (§7.2 asks for a cap). */
  readonly maxAccepted?: bigint;
}

export interface GroupConfig {
  /** The wire format of handshake messages we send. Default 'private'. */
  readonly handshakeWireFormat?: HandshakeWireFormat;
  /** The wire formats accepted for handshake messages. Default both. */
  readonly acceptedHandshakeWireFormats?: readonly HandshakeWireFormat[];
  /** Padding of PrivateMessages we send. */
  readonly padding?: PaddingPolicy;
  /** Secret tree: generations below the highest one seen that may still be decrypted. */
  readonly outOfOrderWindow?: number;
  /** Secret tree: how far ahead of the next expected generation a message may be. */
  readonly maxForwardDistance?: number;
  /**
   * How many past epochs' application messages still decrypt (late messages). Their other
   * secrets are gone; past this window their keys are deleted too. Default 2.
   */
  readonly pastEpochs?: number;
  /** How many recent epochs' resumption PSKs are kept for PSK proposals. Default 2. */
  readonly resumptionPskEpochs?: number;
  /** Seconds since the Unix epoch. Default: the system clock. */
  readonly now?: () => bigint;
  readonly keyPackageLifetime?: KeyPackageLifetimePolicy;
  /**
   * Check the lifetime of key_package leaves in a tree received on joining (§7.3 recommends it).
   * Off by default: a member added long ago who has not committed since keeps its KeyPackage
   * leaf, whose lifetime may have run out although the member is fine.
   */
  readonly checkTreeLifetimes?: boolean;
  /** Default: accept basic credentials, reject every other type (nothing to check them with). */
  readonly validateCredential?: CredentialValidator;
  /** Default: allow every proposal that RFC 9420 allows. */
  readonly proposalPolicy?: ProposalPolicy;
  /** The value of an external PSK by its psk_id, or undefined if we do not have it. */
  readonly externalPsk?: (pskId: Uint8Array) => Uint8Array | undefined;
  /**
   * The resumption_psk of another group's epoch (§8.6), or undefined. This group's own recent
   * epochs are kept by the state (`resumptionPskEpochs`); joining, reinitialization and branching
   * need the other group's.
   */
  readonly resumptionPsk?: (groupId: Uint8Array, epoch: bigint) => Uint8Array | undefined;
  /** Put the ratchet_tree extension in Welcome messages' GroupInfo. Default true. */
  readonly ratchetTreeInWelcome?: boolean;
  /**
   * §12.4: a member that has seen valid proposals MUST commit before sending application data.
   * Default true: sending then fails with 'pending_proposals'.
   */
  readonly requireCommitBeforeSend?: boolean;
  /** Most proposals kept per epoch, against a flood of proposals. Default 10,000. */
  readonly maxStoredProposals?: number;
}

export interface ResolvedGroupConfig {
  readonly handshakeWireFormat: HandshakeWireFormat;
  readonly acceptedHandshakeWireFormats: readonly HandshakeWireFormat[];
  readonly padding: PaddingPolicy;
  readonly outOfOrderWindow: number;
  readonly maxForwardDistance: number;
  readonly pastEpochs: number;
  readonly resumptionPskEpochs: number;
  readonly now: () => bigint;
  readonly keyPackageValidFor: bigint;
  readonly keyPackageMaxLifetime: bigint | undefined;
  readonly checkTreeLifetimes: boolean;
  readonly validateCredential: CredentialValidator;
  readonly proposalPolicy: ProposalPolicy;
  readonly externalPsk: (pskId: Uint8Array) => Uint8Array | undefined;
  readonly resumptionPsk: (groupId: Uint8Array, epoch: bigint) => Uint8Array | undefined;
  readonly ratchetTreeInWelcome: boolean;
  readonly requireCommitBeforeSend: boolean;
  readonly maxStoredProposals: number;
}

/** 90 days: long enough for an offline contact's KeyPackages, short enough to rotate init keys. */
export const DEFAULT_KEY_PACKAGE_VALIDITY = 90n * 24n * 3600n;
export const DEFAULT_PAST_EPOCHS = 2;
export const DEFAULT_RESUMPTION_PSK_EPOCHS = 2;
export const DEFAULT_MAX_STORED_PROPOSALS = 10_000;

export const acceptBasicCredentials: CredentialValidator = (credential) =>
  credential.credentialType === CredentialType.basic;

export function systemNow(): bigint {
  return BigInt(Math.floor(Date.now() / 1000));
}

function count(value: number | undefined, fallback: number, name: string, max: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 0 || v > max) {
    throw new MlsError('invalid_argument', `${name} ${v} outside 0..${max}`);
  }
  return v;
}

export function resolveGroupConfig(config: GroupConfig = {}): ResolvedGroupConfig {
  const accepted = config.acceptedHandshakeWireFormats ?? ['private', 'public'];
  if (accepted.length === 0) {
    throw new MlsError('invalid_argument', 'no handshake wire format accepted');
  }
  const validFor = config.keyPackageLifetime?.validFor ?? DEFAULT_KEY_PACKAGE_VALIDITY;
  if (validFor <= 0n) throw new MlsError('invalid_argument', 'key package validity must be > 0');
  return {
    handshakeWireFormat: config.handshakeWireFormat ?? 'private',
    acceptedHandshakeWireFormats: accepted,
    padding: config.padding ?? DEFAULT_PADDING,
    outOfOrderWindow: count(
      config.outOfOrderWindow,
      DEFAULT_OUT_OF_ORDER_WINDOW,
      'outOfOrderWindow',
      0xffffffff,
    ),
    maxForwardDistance: count(
      config.maxForwardDistance,
      DEFAULT_MAX_FORWARD_DISTANCE,
      'maxForwardDistance',
      0xffffffff,
    ),
    pastEpochs: count(config.pastEpochs, DEFAULT_PAST_EPOCHS, 'pastEpochs', 1024),
    resumptionPskEpochs: count(
      config.resumptionPskEpochs,
      DEFAULT_RESUMPTION_PSK_EPOCHS,
      'resumptionPskEpochs',
      1024,
    ),
    now: config.now ?? systemNow,
    keyPackageValidFor: validFor,
    keyPackageMaxLifetime: config.keyPackageLifetime?.maxAccepted,
    checkTreeLifetimes: config.checkTreeLifetimes ?? false,
    validateCredential: config.validateCredential ?? acceptBasicCredentials,
    proposalPolicy: config.proposalPolicy ?? (() => true),
    externalPsk: config.externalPsk ?? (() => undefined),
    resumptionPsk: config.resumptionPsk ?? (() => undefined),
    ratchetTreeInWelcome: config.ratchetTreeInWelcome ?? true,
    requireCommitBeforeSend: config.requireCommitBeforeSend ?? true,
    maxStoredProposals: count(
      config.maxStoredProposals,
      DEFAULT_MAX_STORED_PROPOSALS,
      'maxStoredProposals',
      1_000_000,
    ),
  };
}

/** The lifetime policy for received key_package leaves. */
export function lifetimePolicy(config: ResolvedGroupConfig): {
  now: bigint;
  maxLifetime?: bigint;
} {
  const now = config.now();
  return config.keyPackageMaxLifetime === undefined
    ? { now }
    : { now, maxLifetime: config.keyPackageMaxLifetime };
}

/** Throws MlsError('credential_rejected') unless the validator accepts the credential. */
export function requireCredential(
  config: ResolvedGroupConfig,
  credential: Credential,
  signatureKey: Uint8Array,
  context: CredentialContext,
): void {
  if (!config.validateCredential(credential, signatureKey, context)) {
    const where = context.leafIndex === undefined ? '' : ` for leaf ${context.leafIndex}`;
    throw new MlsError(
      'credential_rejected',
      `credential of type ${credential.credentialType}${where} (${context.kind}) rejected`,
    );
  }
}
