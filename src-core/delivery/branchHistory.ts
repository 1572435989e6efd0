/**
 * The fork window: for each of the last `window` epochs of our branch, the ordering record and
 * commit that ended it, what that commit changed, and the epoch's state kept as a fork point
 * (`Group.merge(p, { keepPrevious: true })`). A fork found within the window is recovered by
 * rolling back to a kept state; one older than the window needs an external-commit rejoin.
 * Fork points hold their epoch's secrets, so the window is also a forward-secrecy cost: it is
 * bounded, and a state leaving the window is destroyed at once.
 */
import type { Group, GroupEvent, GroupMember, PendingCommit } from '../mls/client/index.js';
import { MlsError } from '../mls/errors.js';
import { SenderType } from '../mls/framing/sender.js';
import type { KeyPackage } from '../mls/keyPackage.js';
import { EnvelopeKind, encodeEnvelope } from './envelope.js';
import { DeliveryError } from './errors.js';
import { membersAfter, reachOf } from './forks.js';
import type { OrderingRecord } from './orderingRecord.js';
import { bytesEqual } from './orderingRecord.js';
import { mlsEnvelope } from './outbox.js';

export interface BranchEntry {
  /** The epoch the commit was sent in (it started `epoch + 1`). */
  readonly epoch: bigint;
  readonly term: bigint;
  readonly leaderLeaf: number;
  readonly commitHash: Uint8Array;
  /** The envelopes as published, to publish again when the other side of a fork needs them. */
  readonly commitEnvelope: Uint8Array;
  readonly recordEnvelope: Uint8Array;
  /**
   * The proposal envelopes of the epoch (ours and those MLS accepted): a commit may cite them by
   * reference, so a member that lost them (a restart before it stored them) needs them again.
   */
  readonly proposalEnvelopes: readonly Uint8Array[];
  /** The committer's leaf (undefined for a commit by a non-member). */
  readonly committer: number | undefined;
  /** When we merged it (the session's clock). */
  readonly mergedAt: number;
  /** The record's reach, capped at this epoch's roster (the fork rule's first criterion). */
  readonly reach: number;
  /** Members in the tree the commit produced (the fork rule's second criterion). */
  readonly membersAfter: number;
  readonly removed: readonly GroupMember[];
  readonly added: readonly { readonly member: GroupMember; readonly keyPackage: KeyPackage }[];
  /** The state at `epoch`, before the commit: the fork point. */
  forkPoint: Group | undefined;
  /**
   * The epoch's other commits MLS processed (by hash key), pending on the fork point: a commit
   * cannot be processed twice, and one of them may turn out to be the other branch's.
   */
  readonly others: Map<string, PendingCommit>;
}

/**
 * The entry for an ordered commit about to be merged into `group` (its fork point is set by the
 * caller from the merge). Removed members are named as the old tree shows them, added ones with
 * their KeyPackages, so a lost branch's changes can be made again on another tree.
 */
export function branchEntry(
  group: Group,
  commit: { readonly pending: PendingCommit; readonly hash: Uint8Array; readonly mls: Uint8Array },
  record: OrderingRecord,
  proposalEnvelopes: readonly Uint8Array[],
  mergedAt: number,
): BranchEntry {
  const before = group.members();
  const { pending } = commit;
  return {
    epoch: group.epoch,
    term: record.term,
    leaderLeaf: record.leaderLeaf,
    commitHash: commit.hash,
    commitEnvelope: mlsEnvelope(group, EnvelopeKind.commit, commit.mls),
    recordEnvelope: encodeEnvelope({
      groupId: group.groupId,
      epoch: group.epoch,
      kind: EnvelopeKind.orderingRecord,
      record,
    }),
    proposalEnvelopes,
    committer:
      pending.committer.senderType === SenderType.member ? pending.committer.leafIndex : undefined,
    mergedAt,
    reach: reachOf(group, record),
    membersAfter: membersAfter(group, pending),
    // A resync (external commit) replaces the joiner's own leaf: nobody left the group.
    removed:
      pending.joiner !== undefined
        ? []
        : pending.removed.flatMap((leaf) => before.filter((m) => m.leafIndex === leaf)),
    added: pending.added.map((member, i) => ({
      member,
      keyPackage: pending.staged.added[i]!.keyPackage,
    })),
    forkPoint: undefined,
    others: new Map(),
  };
}

/** How many epochs' commit hashes are remembered beyond the window (32 bytes each). */
const HASHES_KEPT = 1024;

export class BranchHistory {
  private entries: BranchEntry[] = [];
  /** Our branch's commit hash per epoch, for longer than the window: to tell old evidence of our
   * own branch (a late or re-sent record) from a real fork past the window. */
  private readonly hashes = new Map<bigint, Uint8Array>();

  constructor(readonly window: number) {
    if (!Number.isInteger(window) || window < 1) {
      throw new DeliveryError('invalid_argument', 'the fork window is at least one epoch');
    }
  }

  /** Adds the entry of a merged commit; destroys fork points that leave the window. */
  push(entry: BranchEntry): void {
    this.entries.push(entry);
    this.hashes.set(entry.epoch, entry.commitHash);
    while (this.hashes.size > HASHES_KEPT) this.hashes.delete(this.hashes.keys().next().value!);
    while (this.entries.length > this.window) {
      const old = this.entries.shift()!;
      old.forkPoint?.destroy();
      old.others.clear();
    }
  }

  /** The commit hash that ended `epoch` on our branch, if we merged it and still remember. */
  hashAt(epoch: bigint): Uint8Array | undefined {
    return this.hashes.get(epoch);
  }

  at(epoch: bigint): BranchEntry | undefined {
    return this.entries.find((e) => e.epoch === epoch);
  }

  /** Entries from `epoch` on, oldest first. */
  since(epoch: bigint): readonly BranchEntry[] {
    return this.entries.filter((e) => e.epoch >= epoch);
  }

  /**
   * An application message of a past epoch that MLS no longer keeps keys for (`epoch_too_old`:
   * it keeps only a few past epochs), read with our kept fork point of that epoch: a member that
   * caught up quickly through several epochs may get that epoch's messages after it left it. The
   * fork point holds that epoch's secrets anyway (the window's forward-secrecy cost); its keys
   * are used once, as by MLS. Undefined if not that case or the fork point refuses it too.
   */
  readLate(epoch: bigint, mls: Uint8Array, error: unknown): GroupEvent | undefined {
    if (!(error instanceof MlsError) || error.code !== 'epoch_too_old') return undefined;
    try {
      const event = this.at(epoch)?.forkPoint?.process(mls);
      return event?.kind === 'application' ? event : undefined;
    } catch {
      return undefined;
    }
  }

  all(): readonly BranchEntry[] {
    return this.entries;
  }

  /**
   * Drops the entries from `epoch` on (a losing branch) and returns them. Fork points after
   * `epoch` are destroyed; the one at `epoch` is handed over in the returned first entry for the
   * caller to continue from.
   */
  cut(epoch: bigint): BranchEntry[] {
    const cut = this.entries.filter((e) => e.epoch >= epoch);
    this.entries = this.entries.filter((e) => e.epoch < epoch);
    for (const e of [...this.hashes.keys()]) if (e >= epoch) this.hashes.delete(e);
    for (const e of cut) {
      if (e.epoch !== epoch) {
        e.forkPoint?.destroy();
        e.forkPoint = undefined;
        e.others.clear();
      }
    }
    return cut;
  }

  destroy(): void {
    for (const e of this.entries) e.forkPoint?.destroy();
    this.entries = [];
  }
}

/** How many proposal envelopes one epoch keeps for its branch entry (the rest are dropped). */
const PROPOSALS_KEPT = 256;

/** The proposal envelopes of the current epoch, for its branch entry once a commit ends it. */
export class EpochProposals {
  private epoch: bigint | undefined;
  private envelopes: Uint8Array[] = [];

  add(epoch: bigint, envelope: Uint8Array): void {
    if (epoch !== this.epoch) this.reset(epoch);
    // A proposal sent again (a leaver's self-remove each epoch, a copy from a sync) once only:
    // republishing the branch sends each of these.
    if (this.envelopes.some((e) => bytesEqual(e, envelope))) return;
    if (this.envelopes.length < PROPOSALS_KEPT) this.envelopes.push(envelope);
  }

  /** The envelopes kept for `epoch` (none if they were of another epoch). */
  of(epoch: bigint): readonly Uint8Array[] {
    return epoch === this.epoch ? this.envelopes : [];
  }

  reset(epoch: bigint): void {
    this.epoch = epoch;
    this.envelopes = [];
  }
}
