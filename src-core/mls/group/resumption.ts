/**
 * Resumption PSKs (RFC 9420 §8.6) and what reinitialization (§11.2) and branching (§11.3) share:
 * a new group whose first commit adds members by KeyPackage and injects the `resumption_psk` of
 * an epoch of the old group (usage reinit or branch), and a join from its Welcome that checks the
 * new group against the old one before anything is adopted.
 *
 * A group keeps the resumption PSKs of its last `resumptionPskEpochs` epochs (config); a commit
 * may inject one of them with usage `application` (`resumptionPskId`). Another group's are found
 * through `config.resumptionPsk`, for which `resumptionPskLookup` searches a set of states.
 */
import { encode } from '../../codec/index.js';
import type { CipherSuite, KeyPair } from '../../crypto/types.js';
import type { Capabilities } from '../capabilities.js';
import type { Credential } from '../credential.js';
import { credentialCodec } from '../credential.js';
import { MlsError } from '../errors.js';
import type { Extension } from '../extension.js';
import type { GroupInfo } from '../groupInfo.js';
import type { KeyPackage } from '../keyPackage.js';
import type { LeafNode } from '../leafNode.js';
import { ProposalType } from '../proposal.js';
import type { ResumptionPreSharedKeyID } from '../psk.js';
import { PSKType, ResumptionPSKUsage, newPskNonce } from '../psk.js';
import { keyString } from '../ratchetTree/keyIndex.js';
import type { RatchetTree } from '../ratchetTree/ratchetTree.js';
import { equalBytes } from '../ratchetTree/treeReader.js';
import type { GroupConfig, ResolvedGroupConfig } from './config.js';
import type { CommitOptions, CreatedCommit } from './createCommit.js';
import { createCommit } from './createCommit.js';
import { createGroup } from './createGroup.js';
import type { GroupState } from './groupState.js';
import type { JoinOptions } from './join.js';
import { joinFromWelcome } from './join.js';

/**
 * Who a leaf belongs to, "according to the application" (§11.2, §11.3): two leaves of the old
 * and the new group are the same member when this gives the same string. The default is the
 * encoded credential; an application whose credentials differ per group (a per-group key
 * certified by a device key) maps them to the device instead.
 */
export type MemberIdentity = (leaf: LeafNode) => string;

export const credentialIdentity: MemberIdentity = (leaf) =>
  keyString(encode(credentialCodec, leaf.credential));

/**
 * A PreSharedKeyID naming `state`'s resumption PSK of `epoch` (default: the current one), with a
 * fresh nonce for `suite` (the suite of the group that will use it; default `state`'s). Throws
 * MlsError('psk_not_found') if that epoch's PSK is no longer kept.
 */
export function resumptionPskId(
  state: GroupState,
  options: { epoch?: bigint; usage?: ResumptionPSKUsage; suite?: CipherSuite } = {},
): ResumptionPreSharedKeyID {
  const epoch = options.epoch ?? state.epoch;
  if (state.resumptionPsk(epoch) === undefined) {
    throw new MlsError('psk_not_found', `resumption PSK of epoch ${epoch} not kept`);
  }
  return {
    pskType: PSKType.resumption,
    usage: options.usage ?? ResumptionPSKUsage.application,
    pskGroupId: state.groupId,
    pskEpoch: epoch,
    pskNonce: newPskNonce(options.suite ?? state.suite),
  };
}

/**
 * `config.resumptionPsk` over other groups' states: the kept resumption PSK of (group, epoch)
 * from the first live state of that group that still has it. `states` is called on each lookup,
 * so it may return the application's current states.
 */
export function resumptionPskLookup(
  states: () => Iterable<GroupState>,
): (groupId: Uint8Array, epoch: bigint) => Uint8Array | undefined {
  return (groupId, epoch) => {
    for (const s of states()) {
      if (s.isDestroyed || !equalBytes(s.groupId, groupId)) continue;
      const psk = s.resumptionPsk(epoch);
      if (psk !== undefined) return psk;
    }
    return undefined;
  };
}

/** The config a new group inherits from `config` unless given one. */
export function inheritedConfig(config: ResolvedGroupConfig): GroupConfig {
  return {
    ...config,
    keyPackageLifetime: {
      validFor: config.keyPackageValidFor,
      ...(config.keyPackageMaxLifetime === undefined
        ? {}
        : { maxAccepted: config.keyPackageMaxLifetime }),
    },
  };
}

/** Our leaf in the new group. */
export interface NewLeafOptions {
  /** A signature key pair for the new group (its suite's scheme; one per group is advised). */
  readonly signatureKeyPair: KeyPair;
  /** Default: the credential of our leaf in the old group. */
  readonly credential?: Credential;
  readonly capabilities?: Capabilities;
  readonly leafExtensions?: readonly Extension[];
  /** Default: the old group's config. */
  readonly config?: GroupConfig;
  /** Options of the new group's first commit. */
  readonly commit?: Pick<CommitOptions, 'path' | 'welcomeGroupInfo' | 'groupInfo'>;
}

/** The new group's first commit: merge `staged` to be in it, send `welcome` to the others. */
export type ResumedGroupCommit = Pick<CreatedCommit, 'welcome' | 'groupInfo' | 'staged'>;

export interface ResumedGroupParams extends NewLeafOptions {
  readonly suite: CipherSuite;
  readonly groupId: Uint8Array;
  readonly extensions: readonly Extension[];
  readonly usage: typeof ResumptionPSKUsage.reinit | typeof ResumptionPSKUsage.branch;
  /** The old group's epoch whose resumption PSK is injected. */
  readonly pskEpoch: bigint;
  /** The other members' KeyPackages, for the new group's suite. */
  readonly keyPackages: readonly KeyPackage[];
  /** Checks the new group's leaves (ours first) before anything is committed. */
  readonly checkMembers?: (leaves: readonly LeafNode[]) => void;
}

/**
 * Creates the new group with us alone and commits the Adds of `keyPackages` with the resumption
 * PSK of `old`'s epoch `pskEpoch`. Who may be added is for `checkMembers` to say: the callers
 * (`createReInitGroup`, `branchGroup`) pass their rule.
 */
export function createResumedGroup(old: GroupState, p: ResumedGroupParams): ResumedGroupCommit {
  const psk = old.resumptionPsk(p.pskEpoch);
  if (psk === undefined) {
    throw new MlsError('psk_not_found', `resumption PSK of epoch ${p.pskEpoch} not kept`);
  }
  const id: ResumptionPreSharedKeyID = {
    pskType: PSKType.resumption,
    usage: p.usage,
    pskGroupId: old.groupId,
    pskEpoch: p.pskEpoch,
    pskNonce: newPskNonce(p.suite),
  };
  const fresh = createGroup({
    suite: p.suite,
    credential: p.credential ?? old.ownLeafNode.credential,
    signatureKeyPair: p.signatureKeyPair,
    groupId: p.groupId,
    extensions: p.extensions,
    ...(p.capabilities === undefined ? {} : { capabilities: p.capabilities }),
    ...(p.leafExtensions === undefined ? {} : { leafExtensions: p.leafExtensions }),
    config: p.config ?? inheritedConfig(old.config),
  });
  try {
    p.checkMembers?.([fresh.ownLeafNode, ...p.keyPackages.map((kp) => kp.leafNode)]);
    const { welcome, groupInfo, staged } = createCommit(fresh, {
      ...p.commit,
      proposals: p.keyPackages.map((keyPackage) => ({
        proposalType: ProposalType.add,
        add: { keyPackage },
      })),
      byReference: 'none',
      resumption: { id, psk },
    });
    return { welcome, groupInfo, staged };
  } catch (e) {
    fresh.destroy();
    throw e;
  }
}

/**
 * Checks the new group's members against `old`'s: with `same`, the two sets are equal (§11.2);
 * otherwise the new one is a subset (§11.3). Throws MlsError('resumption_member_mismatch').
 */
export function checkResumedMembers(
  old: GroupState,
  newMembers: readonly LeafNode[],
  identity: MemberIdentity,
  same: boolean,
): void {
  const before = new Set<string>();
  old.tree.forEachMember((leaf) => before.add(identity(leaf)));
  const after = new Set<string>();
  newMembers.forEach((leaf, i) => {
    const who = identity(leaf);
    if (!before.has(who)) {
      throw new MlsError('resumption_member_mismatch', `new member ${i} was not in the old group`);
    }
    if (after.has(who)) {
      throw new MlsError('resumption_member_mismatch', `new member ${i} appears twice`);
    }
    after.add(who);
  });
  if (same && after.size !== before.size) {
    throw new MlsError(
      'resumption_member_mismatch',
      `${before.size - after.size} members of the old group are missing from the new one`,
    );
  }
}

/** The members of a tree, as leaves. */
export function leavesOf(tree: RatchetTree): LeafNode[] {
  const out: LeafNode[] = [];
  tree.forEachMember((leaf) => out.push(leaf));
  return out;
}

/** Join options without what `joinResumedGroup` sets itself. */
export type ResumedJoinOptions = Omit<JoinOptions, 'resumes'> & {
  /** Default `credentialIdentity`. */
  readonly memberIdentity?: MemberIdentity;
};

/**
 * Joins from a Welcome that resumes `old`, with `verify` checking the new group against it
 * (called with the GroupInfo and the tree once both are verified). The PSK is taken from `old`.
 */
export function joinResumedGroup(
  old: GroupState,
  options: ResumedJoinOptions,
  verify: (psk: ResumptionPreSharedKeyID, groupInfo: GroupInfo, tree: RatchetTree) => void,
): GroupState {
  old.checkLive();
  const { memberIdentity: _identity, ...join } = options;
  return joinFromWelcome({
    ...join,
    resumes: {
      groupId: old.groupId,
      resumptionPsk: (epoch) => old.resumptionPsk(epoch),
      verify(psk, groupInfo, tree) {
        if (!equalBytes(psk.pskGroupId, old.groupId)) {
          throw new MlsError(
            psk.usage === ResumptionPSKUsage.reinit ? 'reinit_mismatch' : 'branch_mismatch',
            'the Welcome resumes another group',
          );
        }
        verify(psk, groupInfo, tree);
      },
    },
  });
}
