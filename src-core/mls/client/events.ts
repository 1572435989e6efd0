/**
 * What the client facade hands to the layers above: typed events for processed messages, and
 * commits that stay staged until the caller merges or discards them.
 */
import type { Credential } from '../credential.js';
import type { Extension } from '../extension.js';
import type { Sender } from '../framing/sender.js';
import type { StagedCommit } from '../group/stagedCommit.js';
import type { CustomProposal, Proposal, ReInit } from '../proposal.js';
import type { LeafIndex } from '../treeMath.js';

/** A member as the tree shows it. */
export interface GroupMember {
  readonly leafIndex: LeafIndex;
  readonly credential: Credential;
  readonly signatureKey: Uint8Array;
}

/**
 * A commit, ours or another member's, computed and verified but not adopted. The delivery layer
 * merges it (`Group.merge`) only once the sequencer's ordering record says this commit won the
 * epoch, or discards it (`Group.discard`) when another one did.
 */
export class PendingCommit {
  /** @internal Pending commits come from `Group`. */
  constructor(
    /** @internal */ readonly staged: StagedCommit,
    /** Whether we created it. */
    readonly own: boolean,
  ) {}

  /** The epoch the commit starts. */
  get epoch(): bigint {
    return this.staged.epoch;
  }

  get committer(): Sender {
    return this.staged.committer;
  }

  /** Members the commit adds, at their new leaves. */
  get added(): readonly GroupMember[] {
    return this.staged.added.map((a) => ({
      leafIndex: a.leafIndex,
      credential: a.keyPackage.leafNode.credential,
      signatureKey: a.keyPackage.leafNode.signatureKey,
    }));
  }

  get removed(): readonly LeafIndex[] {
    return this.staged.removed;
  }

  /**
   * An external commit's new member (§12.4.3.2), at its leaf in the new tree; undefined for a
   * member's commit. With `removed`, what a resync replaces: the caller decides whether the
   * joiner may take the removed member's place.
   */
  get joiner(): GroupMember | undefined {
    const leaf = this.staged.joinerLeaf;
    return leaf === undefined ? undefined : this.memberAfter(leaf);
  }

  /** Leaves whose members replaced their leaf (Update proposals). */
  get updated(): readonly LeafIndex[] {
    return this.staged.updated.map((u) => u.leafIndex);
  }

  /** Whether the commit removes us. */
  get removesUs(): boolean {
    return this.staged.selfRemoved;
  }

  get reInit(): ReInit | undefined {
    return this.staged.reInit;
  }

  get customProposals(): readonly CustomProposal[] {
    return this.staged.customProposals;
  }

  /** The new epoch's GroupContext extensions (changed by a GroupContextExtensions proposal). */
  get groupContextExtensions(): readonly Extension[] {
    return this.staged.extensions;
  }

  /** Leaves in the new epoch's tree. */
  get leafCountAfter(): number {
    return this.staged.tree.leafCount;
  }

  /** The member at `leafIndex` in the new epoch's tree (undefined for a blank leaf). */
  memberAfter(leafIndex: LeafIndex): GroupMember | undefined {
    if (leafIndex >= this.staged.tree.leafCount) return undefined;
    const leaf = this.staged.tree.leafNode(leafIndex);
    return leaf === undefined
      ? undefined
      : { leafIndex, credential: leaf.credential, signatureKey: leaf.signatureKey };
  }

  /** The new epoch's authenticator (§8.7), for an out-of-band check before merging. */
  epochAuthenticator(): Uint8Array {
    return this.staged.epochAuthenticator();
  }
}

/** A commit we created: what to send, and the pending commit to merge once it is ordered. */
export interface OutgoingCommit {
  /** The commit, as an MLSMessage for the group. */
  readonly commit: Uint8Array;
  /** For the added members: send only after the commit was merged (§14). */
  readonly welcome: Uint8Array | undefined;
  readonly pending: PendingCommit;
}

/** A proposal we sent: the message and the ref a commit will cite it by. */
export interface OutgoingProposal {
  readonly message: Uint8Array;
  readonly ref: Uint8Array;
}

/** The result of processing one incoming message. */
export type GroupEvent =
  | {
      readonly kind: 'application';
      readonly data: Uint8Array;
      readonly sender: GroupMember;
      readonly epoch: bigint;
      readonly authenticatedData: Uint8Array;
    }
  | {
      readonly kind: 'proposal';
      readonly ref: Uint8Array;
      readonly proposal: Proposal;
      readonly sender: Sender;
    }
  | { readonly kind: 'commit'; readonly commit: PendingCommit };
