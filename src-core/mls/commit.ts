import { enumOf, opaque, optional, struct, uint8, variant, vector } from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import type { Proposal } from './proposal.js';
import { proposalCodec } from './proposal.js';
import type { UpdatePath } from './updatePath.js';
import { updatePathCodec } from './updatePath.js';

/** `enum { reserved(0), proposal(1), reference(2), (255) } ProposalOrRefType;` */
export const ProposalOrRefType = { proposal: 1, reference: 2 } as const;
export type ProposalOrRefType = (typeof ProposalOrRefType)[keyof typeof ProposalOrRefType];

/**
 * ```
 * struct {
 *   ProposalOrRefType type;
 *   select (ProposalOrRef.type) {
 *     case proposal:  Proposal proposal;
 *     case reference: ProposalRef reference;
 *   };
 * } ProposalOrRef;
 * ```
 * A ProposalRef is `opaque HashReference<V>`: MakeProposalRef of the AuthenticatedContent that
 * carried the proposal (§5.2).
 */
export type ProposalOrRef =
  | { readonly type: typeof ProposalOrRefType.proposal; readonly proposal: Proposal }
  | { readonly type: typeof ProposalOrRefType.reference; readonly reference: Uint8Array };

export const proposalOrRefCodec: Codec<ProposalOrRef> = variant<
  ProposalOrRefType,
  ProposalOrRef,
  'type'
>(
  'type',
  enumOf<ProposalOrRefType>(
    uint8,
    [ProposalOrRefType.proposal, ProposalOrRefType.reference],
    'ProposalOrRefType',
  ),
  {
    [ProposalOrRefType.proposal]: struct<{ proposal: Proposal }>({ proposal: proposalCodec }),
    [ProposalOrRefType.reference]: struct<{ reference: Uint8Array }>({ reference: opaque }),
  },
);

/**
 * ```
 * struct {
 *     ProposalOrRef proposals<V>;
 *     optional<UpdatePath> path;
 * } Commit;
 * ```
 * Whether `path` may be absent depends on the proposals, some of them only known by reference:
 * that rule (§12.4) is checked when the Commit is validated against the group, not here.
 */
export interface Commit {
  readonly proposals: readonly ProposalOrRef[];
  readonly path: UpdatePath | undefined;
}

export const commitCodec: Codec<Commit> = struct<Commit>({
  proposals: vector(proposalOrRefCodec) as Codec<readonly ProposalOrRef[]>,
  path: optional(updatePathCodec),
});
