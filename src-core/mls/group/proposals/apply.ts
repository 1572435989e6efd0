/**
 * Applying a validated proposal list to a staged tree and the GroupContext (RFC 9420 §12.3), in
 * the RFC's order: GroupContextExtensions, Updates, Removes, Adds (in list order), then noting
 * the PSKs, the ExternalInit and the ReInit. Each new leaf is checked against the tree as it
 * stands when it enters, under the new extensions.
 */
import { MlsError } from '../../errors.js';
import type { Extension } from '../../extension.js';
import { SenderType } from '../../framing/sender.js';
import type { KeyPackage } from '../../keyPackage.js';
import type { CustomProposal, ExternalInit, ReInit } from '../../proposal.js';
import { PATH_REQUIRED_PROPOSAL_TYPES, ProposalType, isCustomProposal } from '../../proposal.js';
import type { PreSharedKeyID } from '../../psk.js';
import { applyAdd, applyRemove, applyUpdate } from '../../ratchetTree/treeOperations.js';
import type { TreeDiff } from '../../ratchetTree/treeDiff.js';
import type { LeafNode } from '../../leafNode.js';
import type { LeafIndex } from '../../treeMath.js';
import type { GroupState } from '../groupState.js';
import { checkLeafAgainstGroup, checkMembersSupportExtensions } from '../leafChecks.js';
import type { Committer, ListEntry } from './validate.js';

export interface AddedMember {
  readonly leafIndex: LeafIndex;
  readonly keyPackage: KeyPackage;
}

export interface UpdatedMember {
  readonly leafIndex: LeafIndex;
  readonly leafNode: LeafNode;
}

/** The result of applying a proposal list: the staged tree and what the commit changes. */
export interface AppliedProposals {
  /** The tree after the proposals, not yet committed. */
  readonly diff: TreeDiff;
  /** The GroupContext extensions of the new epoch. */
  readonly extensions: readonly Extension[];
  readonly updated: readonly UpdatedMember[];
  readonly removed: readonly LeafIndex[];
  readonly added: readonly AddedMember[];
  /** In list order: the order of psk_secret's chain (§8.4). */
  readonly psks: readonly PreSharedKeyID[];
  readonly externalInit: ExternalInit | undefined;
  readonly reInit: ReInit | undefined;
  /** Proposals of types this implementation does not define, for the application to act on. */
  readonly custom: readonly CustomProposal[];
  /** §12.4: an UpdatePath is needed (custom types count as needing one). */
  readonly pathRequired: boolean;
  /** External commit: the leaf the joiner takes (§12.4.3.2). */
  readonly joinerLeaf: LeafIndex | undefined;
}

/**
 * Applies `list` (already checked by `validateProposalList`) on a diff of `state`'s tree.
 * Throws MlsError when a new leaf does not fit the group (required capabilities, extensions,
 * credential types, duplicate keys) or a member does not support new GroupContext extensions.
 */
export function applyProposals(
  state: GroupState,
  list: readonly ListEntry[],
  committer: Committer,
): AppliedProposals {
  const diff = state.tree.stage();
  let extensions = state.groupContext.extensions;
  let gceApplied = false;
  const updates: UpdatedMember[] = [];
  const removes: LeafIndex[] = [];
  const adds: KeyPackage[] = [];
  const psks: PreSharedKeyID[] = [];
  const custom: CustomProposal[] = [];
  let externalInit: ExternalInit | undefined;
  let reInit: ReInit | undefined;
  let pathRequired = list.length === 0;

  for (const { proposal: p, sender } of list) {
    if (isCustomProposal(p)) {
      custom.push(p);
      pathRequired = true;
      continue;
    }
    if (PATH_REQUIRED_PROPOSAL_TYPES.has(p.proposalType)) pathRequired = true;
    switch (p.proposalType) {
      case ProposalType.add:
        adds.push(p.add.keyPackage);
        break;
      case ProposalType.update:
        // The list check made sure the sender is a member.
        if (sender.senderType === SenderType.member) {
          updates.push({ leafIndex: sender.leafIndex, leafNode: p.update.leafNode });
        }
        break;
      case ProposalType.remove:
        removes.push(p.remove.removed);
        break;
      case ProposalType.psk:
        psks.push(p.psk.psk);
        break;
      case ProposalType.reinit:
        reInit = p.reInit;
        break;
      case ProposalType.externalInit:
        externalInit = p.externalInit;
        break;
      case ProposalType.groupContextExtensions:
        extensions = p.groupContextExtensions.extensions;
        gceApplied = true;
        break;
    }
  }

  for (const u of updates) {
    checkLeafAgainstGroup(diff, u.leafNode, u.leafIndex, extensions);
    applyUpdate(diff, u.leafIndex, u.leafNode);
  }
  for (const r of removes) applyRemove(diff, r);
  // §12.1.7: the members that stay support the new extensions; Adds are checked one by one below.
  if (gceApplied) checkMembersSupportExtensions(diff, extensions);
  const added: AddedMember[] = [];
  for (const kp of adds) {
    const target = diff.leftmostBlankLeaf() ?? diff.leafCount;
    checkLeafAgainstGroup(diff, kp.leafNode, target, extensions);
    const leafIndex = applyAdd(diff, kp.leafNode);
    if (leafIndex !== target) {
      throw new MlsError('invalid_tree', `Add placed at leaf ${leafIndex}, expected ${target}`);
    }
    added.push({ leafIndex, keyPackage: kp });
  }

  let joinerLeaf: LeafIndex | undefined;
  if (committer.kind === 'external') {
    // §12.4.2: the joiner takes the leftmost blank leaf, the tree growing by one leaf if full.
    joinerLeaf = diff.leftmostBlankLeaf();
    if (joinerLeaf === undefined) {
      joinerLeaf = diff.leafCount;
      diff.extend();
    }
    pathRequired = true;
  }

  return {
    diff,
    extensions,
    updated: updates,
    removed: removes,
    added,
    psks,
    externalInit,
    reInit,
    custom,
    pathRequired,
    joinerLeaf,
  };
}
