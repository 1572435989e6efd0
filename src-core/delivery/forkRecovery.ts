/**
 * The session's side of forks: it collects evidence of another branch (commits and ordering
 * records of epochs we passed, with another hash than ours), applies the fork rule (forks.ts) once
 * a record and its commit are both there, and, when our branch lost, rolls back to the kept fork
 * point, merges the winning commit, queues the losing branch's removals then adds, and holds our
 * messages sent on it for re-sending. The design is in README.md ("Fork rule", "Rollback").
 */
import type { Group, GroupMember, KeyPackageInput } from '../mls/client/index.js';
import type { BranchEntry, BranchHistory } from './branchHistory.js';
import type { CommitSequencer } from './commitSequencer.js';
import type { GroupEnvelope } from './envelope.js';
import { EnvelopeKind } from './envelope.js';
import type { EnvelopeBuffer } from './envelopeBuffer.js';
import { ForeignEvidence, judgeFork, lostChanges } from './forks.js';
import type { OrderingRecord } from './orderingRecord.js';
import { bytesEqual, commitHash, hashKey } from './orderingRecord.js';
import type { Outbox } from './outbox.js';
import type { Candidate, OwnChanges } from './ownChanges.js';
import type { SessionEmitter } from './sessionEvents.js';
import type { SessionReports } from './sessionReports.js';

/** What fork recovery needs of the session: its parts, and the steps only the session can take. */
export interface ForkHost {
  readonly history: BranchHistory;
  readonly buffer: EnvelopeBuffer;
  readonly reports: SessionReports;
  readonly outbox: Outbox;
  readonly events: SessionEmitter;
  readonly sequencer: CommitSequencer;
  readonly own: OwnChanges;
  /** The epoch this session started at (joined, restarted, rejoined): nothing is known before. */
  startEpoch(): bigint;
  readonly freshKeyPackage: ((member: GroupMember) => KeyPackageInput | undefined) | undefined;
  group(): Group;
  stopped(): boolean;
  /**
   * Continue from `forkPoint` (the losing state is destroyed) under the winning record's term,
   * with the per-epoch commit state cleared.
   */
  rollBackTo(forkPoint: Group, record: OrderingRecord): void;
  /** Merges an ordered commit of the current epoch (as if it had arrived with its record). */
  mergeOrdered(winner: Candidate, record: OrderingRecord): void;
  leaderChanged(): void;
  receive(bytes: Uint8Array): void;
  replayBuffered(): void;
}

/** Proposals of past epochs kept for judging a fork there, per epoch (the rest dropped). */
const PAST_PROPOSALS_KEPT = 64;

export class ForkRecovery {
  private readonly evidence: ForeignEvidence;
  /**
   * Proposals of epochs we passed (perhaps another branch's): that branch's first commit may
   * cite them by reference, and MLS on the fork point can process it only once it has them.
   */
  private readonly proposals = new Map<bigint, Uint8Array[]>();

  constructor(
    private readonly host: ForkHost,
    limit: number,
  ) {
    this.evidence = new ForeignEvidence(limit);
  }

  /** A commit or ordering record of an epoch we passed: our branch (a sender behind), or another. */
  pastOrdering(env: GroupEnvelope, bytes: Uint8Array): void {
    if (env.kind !== EnvelopeKind.commit && env.kind !== EnvelopeKind.orderingRecord) return;
    const { history, sequencer } = this.host;
    const hash =
      env.kind === EnvelopeKind.commit
        ? commitHash(this.host.group().state.suite, env.mlsMessage)
        : env.record.commitHash;
    const ours = history.hashAt(env.epoch);
    if (ours !== undefined && bytesEqual(ours, hash)) {
      // Our own branch: whoever sent it is behind (a retried commit, an old record).
      if (env.kind === EnvelopeKind.commit) sequencer.republishBranch();
      return;
    }
    const key = hashKey(hash);
    if (env.kind === EnvelopeKind.commit) this.evidence.addCommit(key, env.mlsMessage);
    else this.evidence.addRecord(key, env.record);
    this.host.buffer.otherBranch(env.epoch, bytes);
    this.resolve(env.epoch, key);
  }

  /** A proposal of an epoch we passed, kept while that epoch is in the fork window. */
  pastProposal(epoch: bigint, mls: Uint8Array): void {
    const oldest = this.host.history.all()[0]?.epoch;
    if (oldest === undefined || epoch < oldest) return;
    for (const e of [...this.proposals.keys()]) if (e < oldest) this.proposals.delete(e);
    const kept = this.proposals.get(epoch) ?? [];
    if (kept.length >= PAST_PROPOSALS_KEPT || kept.some((p) => bytesEqual(p, mls))) return;
    kept.push(mls);
    this.proposals.set(epoch, kept);
  }

  /** A record and a commit of another branch for `epoch` may both be here: apply the rule. */
  private resolve(epoch: bigint, key: string): void {
    const found = this.evidence.complete(key);
    if (found === undefined) return;
    this.evidence.forget(key);
    const { history, reports, outbox } = this.host;
    const entry = history.at(epoch);
    const forkPoint = entry?.forkPoint;
    if (entry === undefined || forkPoint === undefined) {
      // Unverifiable (no state of that epoch is left): a report for the rejoin flow to confirm,
      // not a reason to stop; none before the epoch this session started at (we know nothing).
      const oldest = history.all()[0]?.epoch;
      if (oldest !== undefined && epoch < oldest && epoch >= this.host.startEpoch()) {
        reports.rejoin(epoch, 'a fork before the window', outbox.unsettled());
      }
      return;
    }
    // The other branch's proposals of that epoch first (MLS refuses them on our fork point when
    // they are ours, already processed there, or of yet another branch: nothing changes then).
    for (const p of this.proposals.get(epoch) ?? []) {
      try {
        forkPoint.process(p);
      } catch {
        // not for this fork point
      }
    }
    const judged = judgeFork(entry, forkPoint, found.record, found.commit);
    if (judged.keepOurs) {
      const none = { reproposedRemovals: 0, reproposedAdds: 0, resent: 0 };
      this.host.events.emit('fork', { forkEpoch: epoch, won: true, ...none });
      return this.host.sequencer.republishBranch();
    }
    const winner = { pending: judged.theirs, hash: found.record.commitHash, mls: found.commit };
    this.switchBranch(entry, forkPoint, winner, found.record);
  }

  /**
   * Our branch lost at `entry.epoch`: roll back to the fork point, merge the winning commit,
   * queue the losing branch's removals then adds, hold our messages sent on it for re-sending
   * (after the removals), and replay what we kept of the winning branch.
   */
  private switchBranch(
    entry: BranchEntry,
    forkPoint: Group,
    winner: Candidate,
    record: OrderingRecord,
  ): void {
    const { host } = this;
    const lost = host.history.cut(entry.epoch);
    const self = forkPoint.ownLeaf;
    const { removals, adds: readds } = lostChanges(lost, self, host.freshKeyPackage);
    entry.forkPoint = undefined;
    host.rollBackTo(forkPoint, record);
    host.own.want([...removals, ...readds], true);
    const resent = host.outbox.rollBack(entry.epoch, removals.length > 0);
    host.events.emit('fork', {
      forkEpoch: entry.epoch,
      won: false,
      reproposedRemovals: removals.length,
      reproposedAdds: readds.length,
      resent,
    });
    host.mergeOrdered(winner, record);
    if (host.stopped()) return;
    host.leaderChanged();
    for (const bytes of host.buffer.takeOtherBranch(entry.epoch)) host.receive(bytes);
    host.replayBuffered();
    if (!host.stopped()) host.own.next(host.group());
  }
}
