/**
 * Subgroup branching (RFC 9420 §11.3): some members of a group start a new group with the same
 * version and cipher suite, its first commit injecting a resumption PSK of the old group (usage
 * branch, fresh nonce). The old group goes on. A member joins the branch only after checking
 * that version and suite are the old group's and that every member of the branch was a member of
 * the old group.
 */
import { MlsError } from '../errors.js';
import type { Extension } from '../extension.js';
import type { KeyPackage } from '../keyPackage.js';
import { ResumptionPSKUsage } from '../psk.js';
import type { GroupState } from './groupState.js';
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

export interface BranchOptions extends NewLeafOptions {
  /** KeyPackages of the other members of the branch (members of the old group). */
  readonly keyPackages: readonly KeyPackage[];
  /** Default: KDF.Nh fresh random bytes. */
  readonly groupId?: Uint8Array;
  /** Default: the old group's GroupContext extensions. */
  readonly extensions?: readonly Extension[];
  /** The old group's epoch whose resumption PSK is used (default the current one). */
  readonly pskEpoch?: bigint;
  readonly memberIdentity?: MemberIdentity;
}

/**
 * Starts a branch of `old` with the members of `keyPackages`. Merge `staged` (epoch 1) and send
 * `welcome` to them. Throws MlsError('resumption_member_mismatch') if one of them was not a
 * member of `old`.
 */
export function branchGroup(old: GroupState, options: BranchOptions): ResumedGroupCommit {
  old.requireActive();
  if (options.keyPackages.length === 0) {
    throw new MlsError('invalid_argument', 'a branch needs at least one other member');
  }
  for (const kp of options.keyPackages) {
    if (kp.cipherSuite !== old.suite.id) {
      throw new MlsError('unsupported_cipher_suite', `KeyPackage for suite ${kp.cipherSuite}`);
    }
  }
  const identity = options.memberIdentity ?? credentialIdentity;
  return createResumedGroup(old, {
    ...options,
    suite: old.suite,
    groupId: options.groupId ?? old.suite.randomBytes(old.suite.kdf.size),
    extensions: options.extensions ?? old.groupContext.extensions,
    usage: ResumptionPSKUsage.branch,
    pskEpoch: options.pskEpoch ?? old.epoch,
    checkMembers: (leaves) => checkResumedMembers(old, leaves, identity, false),
  });
}

/**
 * Joins a branch of `old` from its Welcome. Throws MlsError('branch_mismatch') if the Welcome is
 * not a branch of `old` in its version and suite, ('resumption_member_mismatch') if a member of
 * the branch was not a member of `old`.
 */
export function joinBranch(old: GroupState, options: ResumedJoinOptions): GroupState {
  const identity = options.memberIdentity ?? credentialIdentity;
  return joinResumedGroup(old, options, (psk, groupInfo, tree) => {
    if (psk.usage !== ResumptionPSKUsage.branch) {
      throw new MlsError('branch_mismatch', `the Welcome's PSK has usage ${psk.usage}`);
    }
    const gc = groupInfo.groupContext;
    if (gc.version !== old.groupContext.version || gc.cipherSuite !== old.suite.id) {
      throw new MlsError('branch_mismatch', 'a branch keeps the version and suite of its group');
    }
    checkResumedMembers(old, leavesOf(tree), identity, false);
  });
}
