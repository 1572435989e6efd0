/**
 * Proposal validation (RFC 9420 §12.1, §12.2).
 *
 * Two levels:
 * - `checkProposal`: one proposal on its own in this epoch (a KeyPackage's validity, an Update's
 *   leaf and sender, a PSK's nonce and usage, ...) and the application's policy. Run once: when a
 *   proposal message arrives (before it is cached) or, for a proposal sent by value, when its
 *   commit is created or processed.
 * - `ProposalListCheck`: the rules on the list a commit covers (§12.2), entry by entry, then the
 *   rules that need the whole list. Whatever depends on the tree as the list changes it (unique
 *   keys, capabilities of new leaves) is checked while the list is applied (apply.ts).
 *
 * Each broken rule throws MlsError with its own code.
 */
import { encode } from '../../../codec/index.js';
import { supportsProposal } from '../../capabilities.js';
import { MlsError } from '../../errors.js';
import type { Extension } from '../../extension.js';
import { ExtensionType } from '../../extension.js';
import type { Sender } from '../../framing/sender.js';
import { SenderType } from '../../framing/sender.js';
import type { KeyPackage } from '../../keyPackage.js';
import { verifyKeyPackage } from '../../keyPackage.js';
import type { LeafNode } from '../../leafNode.js';
import { LeafNodeSource, checkDistinctExtensions, verifyLeafNode } from '../../leafNode.js';
import type { Proposal } from '../../proposal.js';
import { ProposalType, isCustomProposal } from '../../proposal.js';
import type { PreSharedKeyID } from '../../psk.js';
import { preSharedKeyIdCodec } from '../../psk.js';
import { keyString } from '../../ratchetTree/keyIndex.js';
import { requiredCapabilitiesOf } from '../../ratchetTree/leafValidation.js';
import type { LeafIndex } from '../../treeMath.js';
import type { ResolvedGroupConfig } from '../config.js';
import { lifetimePolicy, requireCredential } from '../config.js';
import type { GroupState } from '../groupState.js';
import { decodeExternalSenders } from '../groupState.js';
import { checkHpkePublicKey } from '../leafChecks.js';
import { checkPskProposalId } from '../psks.js';
import type { CachedProposal } from './cache.js';

/** One proposal of a commit's list, with who proposed it. */
export interface ListEntry {
  readonly proposal: Proposal;
  /** The proposal's sender: the committer for a proposal sent by value. */
  readonly sender: Sender;
  /** Set for a proposal included by reference. */
  readonly cached?: CachedProposal;
}

/** Who commits: a member at a leaf, or a new member joining by external commit (§12.4.3.2). */
export type Committer =
  { readonly kind: 'member'; readonly leafIndex: LeafIndex } | { readonly kind: 'external' };

function leafOf(state: GroupState, leaf: LeafIndex, what: string): LeafNode {
  if (!Number.isInteger(leaf) || leaf < 0 || leaf >= state.tree.leafCount) {
    throw new MlsError('leaf_out_of_range', `${what}: leaf ${leaf} outside the tree`);
  }
  const node = state.tree.leafNode(leaf);
  if (node === undefined) throw new MlsError('blank_leaf', `${what}: leaf ${leaf} is blank`);
  return node;
}

/** §12.1.1 with §10.1: the KeyPackage of an Add, on its own. */
export function checkKeyPackage(state: GroupState, kp: KeyPackage): void {
  verifyKeyPackage(state.suite, kp, lifetimePolicy(state.config));
  checkHpkePublicKey(state.suite, kp.initKey, 'KeyPackage init_key');
  checkHpkePublicKey(state.suite, kp.leafNode.encryptionKey, 'KeyPackage encryption_key');
  requireCredential(state.config, kp.leafNode.credential, kp.leafNode.signatureKey, {
    kind: 'add',
    groupId: state.groupId,
  });
}

/** §12.1.2: the LeafNode of an Update from the member at `leafIndex`, on its own. */
export function checkUpdateLeaf(state: GroupState, leaf: LeafNode, leafIndex: LeafIndex): void {
  const current = leafOf(state, leafIndex, 'Update');
  verifyLeafNode(state.suite, leaf, {
    source: LeafNodeSource.update,
    binding: { groupId: state.groupId, leafIndex },
  });
  checkHpkePublicKey(state.suite, leaf.encryptionKey, 'Update encryption_key');
  requireCredential(state.config, leaf.credential, leaf.signatureKey, {
    kind: 'update',
    groupId: state.groupId,
    leafIndex,
    previous: current.credential,
  });
}

/**
 * §12.1.7, §13.4: a GroupContext extension list on its own: no type twice, required_capabilities
 * and external_senders well-formed, external senders' credentials acceptable. Whether members
 * support the extensions is checked where the members are known.
 */
export function checkGroupContextExtensions(
  config: ResolvedGroupConfig,
  groupId: Uint8Array,
  extensions: readonly Extension[],
): void {
  checkDistinctExtensions(extensions, 'GroupContext extensions');
  requiredCapabilitiesOf(extensions);
  if (extensions.some((e) => e.extensionType === ExtensionType.externalSenders)) {
    for (const s of decodeExternalSenders(extensions)) {
      requireCredential(config, s.credential, s.signatureKey, { kind: 'external_sender', groupId });
    }
  }
}

/**
 * One proposal on its own in `state`'s epoch (§12.1), then the application's policy. Throws
 * MlsError naming the broken rule.
 */
export function checkProposal(state: GroupState, proposal: Proposal, sender: Sender): void {
  if (!isCustomProposal(proposal)) {
    switch (proposal.proposalType) {
      case ProposalType.add:
        checkKeyPackage(state, proposal.add.keyPackage);
        break;
      case ProposalType.update:
        if (sender.senderType !== SenderType.member) {
          throw new MlsError('invalid_sender', 'only a member can propose an Update');
        }
        checkUpdateLeaf(state, proposal.update.leafNode, sender.leafIndex);
        break;
      case ProposalType.remove:
        leafOf(state, proposal.remove.removed, 'Remove');
        break;
      case ProposalType.psk:
        checkPskProposalId(state.suite, proposal.psk.psk);
        break;
      case ProposalType.reinit:
        if (proposal.reInit.version < state.groupContext.version) {
          throw new MlsError(
            'invalid_reinit',
            `ReInit to version ${proposal.reInit.version} below the group's`,
          );
        }
        break;
      case ProposalType.externalInit:
        // Only valid inside an external commit: the list check decides.
        break;
      case ProposalType.groupContextExtensions:
        checkGroupContextExtensions(
          state.config,
          state.groupId,
          proposal.groupContextExtensions.extensions,
        );
        break;
    }
  }
  if (!state.config.proposalPolicy(proposal, sender, state)) {
    throw new MlsError(
      'proposal_rejected_by_policy',
      `proposal of type ${proposal.proposalType} rejected by the group's policy`,
    );
  }
}

/**
 * The list rules of §12.2, entry by entry: `add` checks an entry against those before it and
 * records it only if it passes (so a committer can try entries and skip those that do not fit);
 * `finish` checks what needs the whole list.
 */
export class ProposalListCheck {
  private readonly leafChanges = new Set<LeafIndex>();
  private readonly removed = new Set<LeafIndex>();
  private readonly addKeys = new Map<string, LeafIndex | undefined>();
  private readonly psks = new Set<string>();
  private readonly customTypes = new Set<number>();
  private count = 0;
  private gce = 0;
  private reInit = 0;
  private externalInit = 0;
  private removes = 0;

  constructor(
    private readonly state: GroupState,
    private readonly committer: Committer,
  ) {}

  get size(): number {
    return this.count;
  }

  /** Checks `entry` against the entries accepted so far and records it; throws if it breaks a rule. */
  add(entry: ListEntry): void {
    const commit = this.check(entry);
    commit();
    this.count++;
  }

  /** `add` that reports a broken rule as false instead of throwing. */
  tryAdd(entry: ListEntry): boolean {
    try {
      this.add(entry);
      return true;
    } catch (e) {
      if (e instanceof MlsError) return false;
      throw e;
    }
  }

  private check(entry: ListEntry): () => void {
    if (this.committer.kind === 'external') return this.checkExternal(entry);
    const me = this.committer.leafIndex;
    const p = entry.proposal;
    if (this.reInit > 0) throw new MlsError('reinit_not_alone', 'ReInit with another proposal');
    if (isCustomProposal(p)) return () => this.customTypes.add(p.proposalType);
    switch (p.proposalType) {
      case ProposalType.add: {
        const k = keyString(p.add.keyPackage.leafNode.signatureKey);
        if (this.addKeys.has(k)) {
          throw new MlsError('duplicate_add', 'two Adds for the same signature key');
        }
        const existing = this.state.tree.findSignatureKey(p.add.keyPackage.leafNode.signatureKey);
        return () => this.addKeys.set(k, existing);
      }
      case ProposalType.update: {
        if (entry.sender.senderType !== SenderType.member) {
          throw new MlsError('invalid_sender', 'an Update from a non-member');
        }
        const leaf = entry.sender.leafIndex;
        if (leaf === me)
          throw new MlsError('update_by_committer', 'the committer proposed an Update');
        if (this.leafChanges.has(leaf)) {
          throw new MlsError('duplicate_leaf_change', `leaf ${leaf} is updated or removed twice`);
        }
        return () => this.leafChanges.add(leaf);
      }
      case ProposalType.remove: {
        const leaf = p.remove.removed;
        if (leaf === me) throw new MlsError('remove_committer', 'the committer removes itself');
        if (this.leafChanges.has(leaf)) {
          throw new MlsError('duplicate_leaf_change', `leaf ${leaf} is updated or removed twice`);
        }
        return () => {
          this.leafChanges.add(leaf);
          this.removed.add(leaf);
        };
      }
      case ProposalType.psk:
        return this.checkPsk(p.psk.psk);
      case ProposalType.reinit:
        if (this.count > 0) throw new MlsError('reinit_not_alone', 'ReInit with another proposal');
        return () => this.reInit++;
      case ProposalType.externalInit:
        throw new MlsError('external_init_not_allowed', 'ExternalInit outside an external commit');
      case ProposalType.groupContextExtensions:
        if (this.gce > 0) {
          throw new MlsError(
            'multiple_group_context_extensions',
            'more than one GroupContextExtensions',
          );
        }
        return () => this.gce++;
    }
  }

  private checkPsk(id: PreSharedKeyID): () => void {
    const k = keyString(encode(preSharedKeyIdCodec, id));
    if (this.psks.has(k)) throw new MlsError('duplicate_psk', 'the same PSK twice');
    return () => this.psks.add(k);
  }

  /** §12.2 for external commits: one ExternalInit, at most one Remove, PSKs, all by value. */
  private checkExternal(entry: ListEntry): () => void {
    const p = entry.proposal;
    if (entry.cached !== undefined) {
      throw new MlsError('invalid_external_commit', 'an external commit includes a reference');
    }
    if (isCustomProposal(p)) {
      throw new MlsError('invalid_external_commit', `proposal type ${p.proposalType}`);
    }
    switch (p.proposalType) {
      case ProposalType.externalInit:
        if (this.externalInit > 0) {
          throw new MlsError('invalid_external_commit', 'more than one ExternalInit');
        }
        return () => this.externalInit++;
      case ProposalType.remove:
        if (this.removes > 0) {
          throw new MlsError('invalid_external_commit', 'more than one Remove');
        }
        return () => {
          this.removes++;
          this.removed.add(p.remove.removed);
        };
      case ProposalType.psk:
        return this.checkPsk(p.psk.psk);
      default:
        throw new MlsError('invalid_external_commit', `proposal type ${p.proposalType}`);
    }
  }

  /** The rules that need the whole list. */
  finish(): void {
    if (this.committer.kind === 'external') {
      if (this.externalInit !== 1) {
        throw new MlsError('invalid_external_commit', 'an external commit needs one ExternalInit');
      }
      return;
    }
    // An Add of a client already in the group, unless the list removes it (§12.2).
    for (const existing of this.addKeys.values()) {
      if (existing !== undefined && !this.removed.has(existing)) {
        throw new MlsError('add_existing_member', `Add of the client at leaf ${existing}`);
      }
    }
    // Custom proposal types must be supported by every member that processes the commit.
    if (this.customTypes.size > 0) {
      this.state.tree.forEachMember((leaf, i) => {
        if (this.removed.has(i)) return;
        for (const t of this.customTypes) {
          if (!supportsProposal(leaf.capabilities, t)) {
            throw new MlsError(
              'unsupported_proposal_type',
              `member ${i} does not support proposal type ${t}`,
            );
          }
        }
      });
    }
  }
}

/** §12.2 on a whole list. Throws MlsError naming the first broken rule. */
export function validateProposalList(
  state: GroupState,
  list: readonly ListEntry[],
  committer: Committer,
): void {
  const check = new ProposalListCheck(state, committer);
  for (const entry of list) check.add(entry);
  check.finish();
}
