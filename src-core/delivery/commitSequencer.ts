/**
 * The leader's side of commit ordering. Per epoch, the first valid commit the leader sees wins:
 * it signs an ordering record for it, and sends the same record again when that commit arrives
 * again (a member retrying), never a record for a second commit of that epoch. Validity is the
 * member side's business (MLS processed the commit without error); the sequencer decides which
 * valid commit came first, and keeps the leader's other duties: heartbeats, committing proposals
 * nobody else committed, and publishing our branch again for a member that is behind or on
 * another branch.
 *
 * Proposals (a leaving member's self-removal, an Update) are committed by the leader after
 * `proposalCommitDelayMs` if no commit arrived: the delay lets a member that is about to commit
 * anyway include them (a commit takes every valid cached proposal, RFC 9420 §12.4).
 */
import type { Group } from '../mls/client/index.js';
import type { BranchEntry } from './branchHistory.js';
import { EnvelopeKind, encodeEnvelope } from './envelope.js';
import { signHeartbeat } from './heartbeat.js';
import type { OrderingRecord } from './orderingRecord.js';
import { signOrderingRecord } from './orderingRecord.js';
import type { Outbox } from './outbox.js';
import type { Clock } from './ports.js';

/** What the sequencer needs from the member's session. */
export interface SequencerHost {
  /** The group at the current epoch. */
  group(): Group;
  term(): bigint;
  /** Whether we lead now. */
  isLeader(): boolean;
  /** Whether we may order commits now (a leader that knows it is behind must not). */
  mayOrder(): boolean;
  /** How many members we can reach now, ourselves included (the record's `reach`). */
  reach(): number;
  /** Our branch within the fork window, oldest first. */
  branch(): readonly BranchEntry[];
  /** The hash of a valid commit of this epoch, by key. */
  candidateHash(key: string): Uint8Array | undefined;
  /** We ordered `key`: the member side merges it like any ordered commit. */
  ordered(key: string, record: OrderingRecord): void;
  /** Commit the cached proposals (as our own commit). */
  commitProposals(): void;
}

export interface SequencerTiming {
  readonly heartbeatMs: number;
  readonly proposalCommitDelayMs: number;
}

export class CommitSequencer {
  private epoch: bigint;
  private accepted: { readonly key: string; readonly record: OrderingRecord } | undefined;
  /** Valid commits of this epoch in the order they arrived. */
  private readonly candidates: string[] = [];
  private proposalsSince: number | undefined;
  private lastHeartbeat = Number.NEGATIVE_INFINITY;
  private lastRepublish = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly host: SequencerHost,
    private readonly outbox: Outbox,
    private readonly clock: Clock,
    private readonly timing: SequencerTiming,
  ) {
    this.epoch = host.group().epoch;
  }

  /** The group moved on (any commit merged, or a branch switch): forget the old epoch. */
  newEpoch(epoch: bigint): void {
    this.epoch = epoch;
    this.accepted = undefined;
    this.candidates.length = 0;
    this.proposalsSince = undefined;
  }

  /** A commit of the current epoch that MLS accepted. */
  candidate(key: string): void {
    if (!this.candidates.includes(key)) this.candidates.push(key);
  }

  /** A proposal arrived in this epoch. */
  proposalReceived(now: number): void {
    this.proposalsSince ??= now;
  }

  /**
   * As leader: orders the epoch's first valid commit and publishes its record. A record already
   * given is published again only when `again` (the same commit was sent again).
   */
  step(again: boolean): void {
    const group = this.host.group();
    if (!this.host.isLeader() || !this.host.mayOrder() || group.epoch !== this.epoch) return;
    if (this.accepted === undefined) {
      const key = this.candidates.find((k) => this.host.candidateHash(k) !== undefined);
      if (key === undefined) return;
      const commitHash = this.host.candidateHash(key)!;
      const term = this.host.term();
      const record = signOrderingRecord(group.state, {
        term,
        commitHash,
        reach: this.host.reach(),
      });
      this.accepted = { key, record };
    } else if (!again) {
      return;
    }
    const { key, record } = this.accepted;
    const envelope = encodeEnvelope({
      groupId: group.groupId,
      epoch: group.epoch,
      kind: EnvelopeKind.orderingRecord,
      record,
    });
    this.outbox.publish(envelope, group.epoch, EnvelopeKind.orderingRecord);
    this.host.ordered(key, record);
  }

  /** Our heartbeat (also our claim when the term is new). */
  heartbeat(): void {
    const group = this.host.group();
    this.lastHeartbeat = this.clock.now();
    const heartbeat = signHeartbeat(group.state, this.host.term(), this.lastHeartbeat);
    const envelope = encodeEnvelope({
      groupId: group.groupId,
      epoch: group.epoch,
      kind: EnvelopeKind.heartbeat,
      heartbeat,
    });
    this.outbox.publish(envelope, group.epoch, EnvelopeKind.heartbeat);
  }

  /**
   * Publishes the proposals, commits and records of our kept branch again, for a member behind us or on
   * another branch. At most once per heartbeat interval: what triggers it (a heartbeat of
   * another branch) cannot be verified, so it must not be an amplifier.
   */
  republishBranch(): void {
    if (!this.host.isLeader()) return;
    const now = this.clock.now();
    if (now - this.lastRepublish < this.timing.heartbeatMs) return;
    this.lastRepublish = now;
    for (const e of this.host.branch()) {
      for (const p of e.proposalEnvelopes) this.outbox.publish(p, e.epoch, EnvelopeKind.proposal);
      this.outbox.publish(e.commitEnvelope, e.epoch, EnvelopeKind.commit);
      this.outbox.publish(e.recordEnvelope, e.epoch, EnvelopeKind.orderingRecord);
    }
  }

  /** The leader's timers: heartbeat due, proposals left uncommitted. */
  tick(now: number): void {
    if (!this.host.isLeader()) return;
    if (now - this.lastHeartbeat >= this.timing.heartbeatMs) this.heartbeat();
    const cached = this.host.group().state.proposals.size;
    if (cached === 0 || this.proposalsSince === undefined) return;
    if (this.accepted !== undefined || this.candidates.length > 0) return;
    if (now - this.proposalsSince < this.timing.proposalCommitDelayMs) return;
    if (!this.host.mayOrder()) return;
    // Once per batch of proposals: if MLS refuses the commit, wait for the next proposal rather
    // than failing again every tick.
    this.proposalsSince = undefined;
    this.host.commitProposals();
  }
}
