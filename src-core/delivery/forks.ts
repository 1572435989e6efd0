/**
 * Forks: two branches of the same group that advanced from one epoch under two leaders (a
 * partition, or two leaders whose claims crossed). When they meet, every member computes the
 * same winner from what both branches' first commits after the fork point say:
 *
 *   1. the greater reach: how many members the leader that ordered it could reach on the group
 *      channel then (signed into its ordering record, capped at the fork point's roster), so
 *      that a partition's larger side wins;
 *   2. then more members in the tree that commit produced;
 *   3. then the higher leader term (the newer election);
 *   4. then the lower commit hash (bytewise), which cannot tie between two different commits.
 *
 * The inputs are signed or verified facts every member of the fork epoch can check alike: the
 * ordering records (signed by a member's leaf in the fork epoch's tree) and the commits
 * (processed by MLS on the kept fork-point state, which gives the member count). No clock, no
 * local view: each member judges from the same two records and commits. README.md says why
 * reach rather than the members seen active on each branch.
 *
 * The members of the losing branch roll back to the fork point and merge the winning commits;
 * what the losing branch did is made again on the winning one, removals first (a member removed
 * there must not come back through the fork), then adds; our application messages sent on it
 * are sent again. The session (groupSession.ts) carries that out; this file holds the rule, the
 * pool of other-branch evidence, and what a losing branch changed.
 */
import type { Group, GroupMember, KeyPackageInput, PendingCommit } from '../mls/client/index.js';
import type { BranchEntry } from './branchHistory.js';
import type { Change } from './changes.js';
import { keyPackageOf } from './changes.js';
import { DeliveryError, toDeliveryError } from './errors.js';
import type { OrderingRecord } from './orderingRecord.js';
import { compareBytes, hashKey, verifyOrderingRecord } from './orderingRecord.js';

/** What the fork rule looks at: the first commit of a branch after the fork point. */
export interface BranchTip {
  /** The first commit's record's reach, capped at the fork point's roster (see reachOf). */
  readonly reach: number;
  readonly membersAfter: number;
  readonly term: bigint;
  readonly commitHash: Uint8Array;
}

/** Whether branch `a` wins over branch `b` (the rule in the file comment). */
export function wins(a: BranchTip, b: BranchTip): boolean {
  if (a.reach !== b.reach) return a.reach > b.reach;
  if (a.membersAfter !== b.membersAfter) return a.membersAfter > b.membersAfter;
  if (a.term !== b.term) return a.term > b.term;
  return compareBytes(a.commitHash, b.commitHash) < 0;
}

/**
 * A record's reach as the rule counts it: at most the members of the state it ordered on (its
 * fork point), so no leader can claim more than everyone.
 */
export function reachOf(base: Group, record: OrderingRecord): number {
  return Math.min(record.reach, base.members().length);
}

/** The members a commit leaves, computed on the state it applies to. */
export function membersAfter(
  base: Group,
  commit: { readonly added: readonly unknown[]; readonly removed: readonly unknown[] },
): number {
  return base.members().length - commit.removed.length + commit.added.length;
}

/** Which branch a fork keeps: ours, or theirs with its first commit staged on the fork point. */
export type ForkJudgement =
  { readonly keepOurs: true } | { readonly keepOurs: false; readonly theirs: PendingCommit };

/**
 * Checks the other branch's first commit and its ordering record against our fork point (the
 * record signed by a member of that epoch's tree, the commit accepted by MLS on that state) and
 * applies the rule. Throws DeliveryError when the evidence does not check out; the fork point is
 * then unchanged. When ours wins, their staged commit is discarded.
 */
export function judgeFork(
  ours: BranchEntry,
  forkPoint: Group,
  record: OrderingRecord,
  commit: Uint8Array,
): ForkJudgement {
  verifyOrderingRecord(forkPoint.state, record);
  // Processed already at that epoch (it lost the race there): MLS keeps it pending on the fork
  // point, and could not process it again (its handshake key is spent).
  let staged = ours.others.get(hashKey(record.commitHash));
  if (staged === undefined) {
    let event;
    try {
      event = forkPoint.process(commit);
    } catch (e) {
      throw toDeliveryError(e);
    }
    if (event.kind !== 'commit') throw new DeliveryError('wrong_kind', 'not a commit');
    staged = event.commit;
  }
  ours.others.delete(hashKey(record.commitHash));
  const event = { commit: staged };
  const theirs: BranchTip = {
    reach: reachOf(forkPoint, record),
    membersAfter: membersAfter(forkPoint, event.commit),
    term: record.term,
    commitHash: record.commitHash,
  };
  if (wins(ours, theirs)) {
    forkPoint.discard(event.commit);
    return { keepOurs: true };
  }
  return { keepOurs: false, theirs: event.commit };
}

/**
 * The changes to make again on the winning branch: removals first, then adds. Every member of
 * the losing branch makes its removals again (a removed member must not come back because one
 * member was offline). Adds are made again only by the member that committed them (`self`): an
 * add uses a fresh KeyPackage when `fresh` gives one (the old one-time KeyPackage was spent on
 * the losing branch: the invitee deleted its keys when it joined there), and one-time packages
 * are few, so several members re-making the same add would each take one, and the commit that
 * wins might carry a stale one the invitee can no longer open.
 */
export function lostChanges(
  losing: readonly BranchEntry[],
  self: number,
  fresh?: (member: GroupMember) => KeyPackageInput | undefined,
): { readonly removals: Change[]; readonly adds: Change[] } {
  const removals: Change[] = [];
  const adds: Change[] = [];
  for (const e of losing) {
    for (const m of e.removed) removals.push({ kind: 'remove', signatureKey: m.signatureKey });
    if (e.committer !== self) continue;
    for (const a of e.added) {
      const kp = fresh?.(a.member);
      adds.push({ kind: 'add', keyPackage: kp === undefined ? a.keyPackage : keyPackageOf(kp) });
    }
  }
  return { removals, adds };
}

/**
 * Evidence from another branch: ordering records and commits for epochs we already passed on
 * ours, with a different commit hash. Bounded (oldest dropped first); kept by hash so a record
 * and its commit can arrive in either order.
 */
export class ForeignEvidence {
  private readonly records = new Map<string, OrderingRecord>();
  private readonly commits = new Map<string, Uint8Array>();

  constructor(private readonly limit: number) {}

  addRecord(key: string, record: OrderingRecord): void {
    bounded(this.records, key, record, this.limit);
  }

  addCommit(key: string, commit: Uint8Array): void {
    bounded(this.commits, key, commit, this.limit);
  }

  /** A record and its commit, both present. */
  complete(key: string): { record: OrderingRecord; commit: Uint8Array } | undefined {
    const record = this.records.get(key);
    const commit = this.commits.get(key);
    return record === undefined || commit === undefined ? undefined : { record, commit };
  }

  /** The record and commit are done with (decided either way). */
  forget(key: string): void {
    this.records.delete(key);
    this.commits.delete(key);
  }

  clear(): void {
    this.records.clear();
    this.commits.clear();
  }
}

function bounded<V>(map: Map<string, V>, key: string, value: V, limit: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > limit) map.delete(map.keys().next().value!);
}
