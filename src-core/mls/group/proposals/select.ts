/**
 * Which cached proposals a committer includes (RFC 9420 §12.4: it SHOULD include every valid
 * proposal received in the epoch, as long as the list stays valid). Conflicts are settled as
 * §12.2 recommends: a Remove wins over Updates of the same leaf, the most recent Update wins over
 * older ones, and a ReInit is left out when anything else can be committed.
 */
import { supportsProposal } from '../../capabilities.js';
import { MlsError } from '../../errors.js';
import { SenderType } from '../../framing/sender.js';
import { ProposalType, isCustomProposal } from '../../proposal.js';
import type { LeafIndex } from '../../treeMath.js';
import type { GroupState } from '../groupState.js';
import { checkLeafAgainstGroup } from '../leafChecks.js';
import type { CachedProposal } from './cache.js';
import type { ListEntry } from './validate.js';
import { ProposalListCheck } from './validate.js';

function rank(c: CachedProposal): number {
  const p = c.proposal;
  if (isCustomProposal(p)) return 2;
  if (p.proposalType === ProposalType.remove) return 0;
  if (p.proposalType === ProposalType.update) return 1;
  if (p.proposalType === ProposalType.reinit) return 3;
  return 2;
}

/**
 * Whether a cached Add or Update still fits the current tree (its keys unique, its capabilities
 * enough). Such a conflict would make the whole commit fail when applied, so the proposal is left
 * out instead.
 */
function fitsTree(state: GroupState, c: CachedProposal): boolean {
  const p = c.proposal;
  if (isCustomProposal(p)) {
    let supported = true;
    state.tree.forEachMember((leaf) => {
      supported &&= supportsProposal(leaf.capabilities, p.proposalType);
    });
    return supported;
  }
  try {
    if (p.proposalType === ProposalType.add) {
      const target = state.tree.leftmostBlankLeaf() ?? state.tree.leafCount;
      checkLeafAgainstGroup(
        state.tree,
        p.add.keyPackage.leafNode,
        target,
        state.groupContext.extensions,
      );
    } else if (
      p.proposalType === ProposalType.update &&
      c.sender.senderType === SenderType.member
    ) {
      checkLeafAgainstGroup(
        state.tree,
        p.update.leafNode,
        c.sender.leafIndex,
        state.groupContext.extensions,
      );
    }
    return true;
  } catch (e) {
    if (e instanceof MlsError) return false;
    throw e;
  }
}

/**
 * The list to commit: the cached proposals that fit (in the order received), then `extra` (the
 * committer's own proposals by value, which must all fit: an error names the first that does not).
 */
export function selectProposals(
  state: GroupState,
  committer: LeafIndex,
  extra: readonly ListEntry[],
): ListEntry[] {
  const check = new ProposalListCheck(state, { kind: 'member', leafIndex: committer });
  for (const e of extra) check.add(e);
  const cached = state.proposals.list();
  // Newest first within a rank, so that the latest Update of a leaf is the one taken.
  const order = cached.map((c, i) => ({ c, i })).sort((a, b) => rank(a.c) - rank(b.c) || b.i - a.i);
  const taken = new Set<CachedProposal>();
  for (const { c } of order) {
    if (!fitsTree(state, c)) continue;
    if (check.tryAdd({ proposal: c.proposal, sender: c.sender, cached: c })) taken.add(c);
  }
  check.finish();
  const list: ListEntry[] = [];
  for (const c of cached) {
    if (taken.has(c)) list.push({ proposal: c.proposal, sender: c.sender, cached: c });
  }
  return [...list, ...extra];
}
