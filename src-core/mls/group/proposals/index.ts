/** Proposals (RFC 9420 §12.1–§12.3): the epoch's cache, validation, selection and application. */
export { ProposalCache } from './cache.js';
export type { CachedProposal } from './cache.js';
export {
  ProposalListCheck,
  checkGroupContextExtensions,
  checkKeyPackage,
  checkProposal,
  checkUpdateLeaf,
  validateProposalList,
} from './validate.js';
export type { Committer, ListEntry } from './validate.js';
export { applyProposals } from './apply.js';
export type { AddedMember, AppliedProposals, UpdatedMember } from './apply.js';
export { selectProposals } from './select.js';
