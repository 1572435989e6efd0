/**
 * Reinitialization (RFC 9420 §11.2, §12.1.5): a ReInit proposal names a new group (id, version,
 * cipher suite, extensions); once a commit carrying it is merged the old group is frozen (status
 * 'reinit': nothing more is sent in it), and any member creates the new group with the same
 * members, its first commit injecting the old group's last resumption PSK (usage reinit). Each
 * member joins from the Welcome only after checking that the new group is the one the ReInit
 * named, that the PSK is of the epoch the ReInit started, and that the membership is the same.
 */
import { cipherSuite, isCipherSuiteId } from '../../crypto/index.js';
import type { CipherSuite } from '../../crypto/types.js';
import { MlsError } from '../errors.js';
import type { Extension } from '../extension.js';
import type { GroupContext } from '../groupContext.js';
import { PROTOCOL_VERSION_MLS10 } from '../groupContext.js';
import type { KeyPackage } from '../keyPackage.js';
import type { Proposal, ReInit } from '../proposal.js';
import { ProposalType } from '../proposal.js';
import { ResumptionPSKUsage } from '../psk.js';
import { equalBytes } from '../ratchetTree/treeReader.js';
import type { CommitOptions, CreatedCommit } from './createCommit.js';
import { createCommit } from './createCommit.js';
import type { GroupState } from './groupState.js';
import type { SendOptions, SentProposal } from './messages.js';
import { sendProposal } from './messages.js';
import type {
  MemberIdentity,
  NewLeafOptions,
  ResumedGroupCommit,
  ResumedJoinOptions,
} from './resumption.js';
import {
  checkResumedMembers,
  createResumedGroup,
  credentialIdentity,
  joinResumedGroup,
  leavesOf,
} from './resumption.js';

/** What the new group is to be; unset fields keep the current group's. */
export interface ReInitParams {
  readonly cipherSuite: number;
  /** Default: KDF.Nh fresh random bytes (of the current suite). */
  readonly groupId?: Uint8Array;
  readonly version?: number;
  readonly extensions?: readonly Extension[];
}

/** The ReInit proposal for `params` in `state`'s group. */
export function reInitProposal(state: GroupState, params: ReInitParams): Proposal {
  const reInit: ReInit = {
    groupId: params.groupId ?? state.suite.randomBytes(state.suite.kdf.size),
    version: params.version ?? state.groupContext.version,
    cipherSuite: params.cipherSuite,
    extensions: params.extensions ?? state.groupContext.extensions,
  };
  return { proposalType: ProposalType.reinit, reInit };
}

/** Proposes reinitializing the group, for another member to commit. */
export function proposeReInit(
  state: GroupState,
  params: ReInitParams,
  options?: SendOptions,
): SentProposal {
  return sendProposal(state, reInitProposal(state, params), options);
}

/**
 * Commits a ReInit of our own, alone (§12.2: a ReInit is the only proposal of its commit).
 * Merging the staged commit freezes the group; then `createReInitGroup`.
 */
export function commitReInit(
  state: GroupState,
  params: ReInitParams,
  options: Omit<CommitOptions, 'proposals' | 'byReference'> = {},
): CreatedCommit {
  return createCommit(state, {
    ...options,
    proposals: [reInitProposal(state, params)],
    byReference: 'none',
  });
}

/** The ReInit that froze `old`. Throws MlsError('reinit_not_committed') if none did. */
function committedReInit(old: GroupState): ReInit {
  old.checkLive();
  if (old.status !== 'reinit' || old.reInit === undefined) {
    throw new MlsError('reinit_not_committed', 'no ReInit was committed in this group');
  }
  return old.reInit;
}

function suiteFor(reInit: ReInit, given: CipherSuite | undefined): CipherSuite {
  if (reInit.version !== PROTOCOL_VERSION_MLS10) {
    throw new MlsError('unsupported_version', `ReInit to version ${reInit.version}`);
  }
  if (given !== undefined) {
    if (given.id !== reInit.cipherSuite) {
      throw new MlsError('unsupported_cipher_suite', `ReInit to suite ${reInit.cipherSuite}`);
    }
    return given;
  }
  if (!isCipherSuiteId(reInit.cipherSuite)) {
    throw new MlsError('unsupported_cipher_suite', `ReInit to suite ${reInit.cipherSuite}`);
  }
  return cipherSuite(reInit.cipherSuite);
}

export interface ReInitGroupOptions extends NewLeafOptions {
  /** A KeyPackage of every other member of the old group, in the ReInit's cipher suite. */
  readonly keyPackages: readonly KeyPackage[];
  /** The suite implementation (default `cipherSuite(reInit.cipher_suite)`). */
  readonly suite?: CipherSuite;
  readonly memberIdentity?: MemberIdentity;
}

/**
 * Step 3 of §11.2, by any member of the frozen group: the new group as the ReInit named it, the
 * same members (checked by `memberIdentity`), and the old group's resumption PSK of the ReInit's
 * epoch. Merge `staged` (epoch 1) and send `welcome` to the others.
 */
export function createReInitGroup(
  old: GroupState,
  options: ReInitGroupOptions,
): ResumedGroupCommit {
  const reInit = committedReInit(old);
  const suite = suiteFor(reInit, options.suite);
  for (const kp of options.keyPackages) {
    if (kp.cipherSuite !== reInit.cipherSuite) {
      throw new MlsError('unsupported_cipher_suite', `KeyPackage for suite ${kp.cipherSuite}`);
    }
  }
  const identity = options.memberIdentity ?? credentialIdentity;
  return createResumedGroup(old, {
    ...options,
    suite,
    groupId: reInit.groupId,
    extensions: reInit.extensions,
    usage: ResumptionPSKUsage.reinit,
    pskEpoch: old.epoch,
    checkMembers: (leaves) => checkResumedMembers(old, leaves, identity, true),
  });
}

function sameExtensions(a: readonly Extension[], b: readonly Extension[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (e, i) =>
        e.extensionType === b[i]!.extensionType && equalBytes(e.extensionData, b[i]!.extensionData),
    )
  );
}

/** §12.4.3.1 for usage reinit: the GroupContext is what the ReInit named. */
function checkMatchesReInit(reInit: ReInit, gc: GroupContext): void {
  if (
    !equalBytes(gc.groupId, reInit.groupId) ||
    gc.version !== reInit.version ||
    gc.cipherSuite !== reInit.cipherSuite ||
    !sameExtensions(gc.extensions, reInit.extensions)
  ) {
    throw new MlsError('reinit_mismatch', 'the new group is not the one the ReInit named');
  }
}

/**
 * Joins the group that reinitializes `old` from its Welcome. Throws MlsError('reinit_mismatch')
 * if the Welcome is for another group or PSK, ('resumption_member_mismatch') if the members
 * differ; `old` and our KeyPackages are then untouched.
 */
export function joinReInitGroup(old: GroupState, options: ResumedJoinOptions): GroupState {
  const reInit = committedReInit(old);
  const identity = options.memberIdentity ?? credentialIdentity;
  return joinResumedGroup(old, options, (psk, groupInfo, tree) => {
    if (psk.usage !== ResumptionPSKUsage.reinit) {
      throw new MlsError('reinit_mismatch', `the Welcome's PSK has usage ${psk.usage}`);
    }
    if (psk.pskEpoch !== old.epoch) {
      throw new MlsError(
        'reinit_mismatch',
        `the PSK is of epoch ${psk.pskEpoch}, the ReInit's is ${old.epoch}`,
      );
    }
    checkMatchesReInit(reInit, groupInfo.groupContext);
    checkResumedMembers(old, leavesOf(tree), identity, true);
  });
}
