/**
 * A commit that was created or processed but not yet adopted (as OpenMLS stages commits): the next
 * epoch's state is fully computed and verified, and the current state is untouched. The caller
 * merges it once the delivery layer has accepted the commit, or discards it (another commit won
 * the epoch). RFC 9420 §14: creating or processing a commit must not change the state, because
 * the commit may conflict with another one.
 */
import type { Extension } from '../extension.js';
import type { Sender } from '../framing/sender.js';
import type { GroupContext } from '../groupContext.js';
import type { EpochSecrets } from '../keySchedule.js';
import type { CustomProposal, ReInit } from '../proposal.js';
import type { PreSharedKeyID } from '../psk.js';
import type { RatchetTree } from '../ratchetTree/ratchetTree.js';
import type { PrivatePath } from '../treekem/privatePath.js';
import type { LeafIndex } from '../treeMath.js';
import { MlsError } from '../errors.js';
import type { EpochReceiver } from './epochReceiver.js';
import { keptResumptionPsks } from './epochTransition.js';
import type { GroupState, GroupStatus } from './groupState.js';
import { GroupState as GroupStateClass } from './groupState.js';
import type { CachedProposal } from './proposals/cache.js';
import type { AddedMember, AppliedProposals, UpdatedMember } from './proposals/apply.js';
import type { ListEntry } from './proposals/validate.js';

/** What a staged commit is made of; the staged commit owns the new secrets and keys. */
export interface StagedCommitParts {
  readonly base: GroupState;
  readonly committer: Sender;
  readonly groupContext: GroupContext;
  readonly tree: RatchetTree;
  /** Our private keys in the new tree (none once removed). */
  readonly privatePath: PrivatePath;
  readonly signaturePrivateKey: Uint8Array;
  readonly interimTranscriptHash: Uint8Array;
  readonly confirmationTag: Uint8Array;
  /** Absent when the commit removes us (we cannot derive the new epoch). */
  readonly epochSecrets: EpochSecrets | undefined;
  readonly receiver: EpochReceiver | undefined;
  readonly added: readonly AddedMember[];
  readonly removed: readonly LeafIndex[];
  readonly updated: readonly UpdatedMember[];
  readonly psks: readonly PreSharedKeyID[];
  readonly custom: readonly CustomProposal[];
  readonly reInit: ReInit | undefined;
  /** An external commit's new member: the leaf it took (§12.4.3.2). */
  readonly joinerLeaf?: LeafIndex | undefined;
  /** Whether the commit carried an UpdatePath. */
  readonly hasPath: boolean;
  /** The proposals (by reference) the commit covered. */
  readonly committedRefs: ReadonlySet<CachedProposal>;
}

/** What a commit's proposal list did, as the staged commit reports it: the same on both sides. */
export type CommitOutcome = Pick<
  StagedCommitParts,
  'added' | 'removed' | 'updated' | 'psks' | 'custom' | 'reInit' | 'committedRefs' | 'joinerLeaf'
>;

export function commitOutcome(
  applied: AppliedProposals,
  list: readonly ListEntry[],
): CommitOutcome {
  return {
    added: applied.added,
    removed: applied.removed,
    updated: applied.updated,
    psks: applied.psks,
    custom: applied.custom,
    reInit: applied.reInit,
    joinerLeaf: applied.joinerLeaf,
    committedRefs: new Set(list.flatMap((e) => (e.cached === undefined ? [] : [e.cached]))),
  };
}

export interface MergeOptions {
  /**
   * Keep the previous state usable, as a snapshot to roll back to if the commit turns out to be
   * on a losing branch. The caller then calls its `destroy()` once it is no longer needed;
   * until then its secrets (including the consumed init secret) stay in memory.
   */
  readonly keepPrevious?: boolean;
}

export class StagedCommit {
  private done = false;
  private readonly baseKeys: PrivatePath;

  /** Internal: staged commits come from `createCommit` and `processCommit`. */
  constructor(private readonly parts: StagedCommitParts) {
    this.baseKeys = parts.base.privatePath;
  }

  /** The epoch the commit starts. */
  get epoch(): bigint {
    return this.parts.groupContext.epoch;
  }

  get groupContext(): GroupContext {
    return this.parts.groupContext;
  }

  get extensions(): readonly Extension[] {
    return this.parts.groupContext.extensions;
  }

  /** The tree of the new epoch. */
  get tree(): RatchetTree {
    return this.parts.tree;
  }

  get committer(): Sender {
    return this.parts.committer;
  }

  get added(): readonly AddedMember[] {
    return this.parts.added;
  }

  get removed(): readonly LeafIndex[] {
    return this.parts.removed;
  }

  get updated(): readonly UpdatedMember[] {
    return this.parts.updated;
  }

  get psks(): readonly PreSharedKeyID[] {
    return this.parts.psks;
  }

  /** Committed proposals of types this implementation does not define. */
  get customProposals(): readonly CustomProposal[] {
    return this.parts.custom;
  }

  get reInit(): ReInit | undefined {
    return this.parts.reInit;
  }

  /** An external commit's new member's leaf; undefined for a member's commit. */
  get joinerLeaf(): LeafIndex | undefined {
    return this.parts.joinerLeaf;
  }

  get hasPath(): boolean {
    return this.parts.hasPath;
  }

  get confirmationTag(): Uint8Array {
    return this.parts.confirmationTag;
  }

  /** Whether this commit removes us from the group. */
  get selfRemoved(): boolean {
    return this.parts.epochSecrets === undefined;
  }

  /** The new epoch's authenticator (§8.7), to compare out of band before merging. */
  epochAuthenticator(): Uint8Array {
    this.checkPending();
    if (this.parts.epochSecrets === undefined) {
      throw new MlsError('group_inactive', 'the commit removes us: no new epoch secrets');
    }
    return this.parts.epochSecrets.epochAuthenticator.slice();
  }

  /**
   * Proposals cached in the epoch that this commit did not cover: their senders may want to
   * propose them again in the new epoch (§12.4).
   */
  uncommittedProposals(): CachedProposal[] {
    return this.parts.base.proposals.list().filter((c) => !this.parts.committedRefs.has(c));
  }

  private checkPending(): void {
    if (this.done) {
      throw new MlsError('staged_commit_consumed', 'this staged commit was merged or discarded');
    }
  }

  /**
   * Adopts the commit: returns the new epoch's state. Unless `keepPrevious`, the previous state
   * is destroyed (its init secret, epoch secrets, private keys no longer in the tree, cached
   * proposals), except what the new state keeps: the past epochs' receive keys within the window
   * and the resumption PSKs. Throws 'state_superseded' if the previous state was already
   * superseded (another commit of the same epoch was merged).
   */
  merge(options: MergeOptions = {}): GroupState {
    this.checkPending();
    const { base } = this.parts;
    base.checkLive();
    const config = base.config;
    const secrets = this.parts.epochSecrets;
    const epoch = this.epoch;

    const past = base
      .receivers()
      .slice(0, config.pastEpochs)
      .map((r) => r.retain());
    const resumptionPsks = keptResumptionPsks(config, epoch, secrets, base.resumptionPsks());

    let privatePath = this.parts.privatePath;
    if (options.keepPrevious === true) privatePath = ownCopy(privatePath, this.baseKeys);
    const status: GroupStatus =
      secrets === undefined ? 'removed' : this.parts.reInit !== undefined ? 'reinit' : 'active';
    const next = GroupStateClass.fromParts({
      suite: base.suite,
      config,
      groupContext: this.parts.groupContext,
      tree: this.parts.tree,
      ownLeaf: base.ownLeaf,
      privatePath,
      signaturePrivateKey: this.parts.signaturePrivateKey,
      interimTranscriptHash: this.parts.interimTranscriptHash,
      confirmationTag: this.parts.confirmationTag,
      epochSecrets: secrets,
      receiver: this.parts.receiver,
      pastReceivers: past,
      resumptionPsks,
      status,
      ...(this.parts.reInit === undefined ? {} : { reInit: this.parts.reInit }),
    });
    this.done = true;
    if (options.keepPrevious !== true) base.supersede(next);
    return next;
  }

  /** Drops the commit: wipes the new epoch's secrets and the private keys only it held. */
  discard(): void {
    if (this.done) return;
    this.done = true;
    this.parts.epochSecrets?.destroy();
    this.parts.receiver?.release();
    this.parts.privatePath.retire(this.baseKeys);
  }
}

/** `path` with the key pairs it shares with `base` copied, so that each state owns its keys. */
function ownCopy(path: PrivatePath, base: PrivatePath): PrivatePath {
  const copies: [number, { publicKey: Uint8Array; privateKey: Uint8Array }][] = [];
  for (const x of path.nodes()) {
    const kp = path.keyPair(x)!;
    if (base.keyPair(x) === kp) {
      copies.push([x, { publicKey: kp.publicKey, privateKey: kp.privateKey.slice() }]);
    }
  }
  return copies.length === 0 ? path : path.with(copies);
}
