/**
 * The leader's side of commit ordering. Per epoch, the first valid commit the leader sees wins:
 * it signs an ordering record for it, and sends the same record again if that commit arrives
 * again (a member retrying), never a record for a second commit of that epoch. Validity is the
 * session's business (MLS processed the commit without error); the sequencer only decides
 * which valid commit was first.
 *
 * When members send proposals (a leaving member's self-removal, an Update) and nobody commits
 * them, the leader does after `proposalCommitDelayMs`: the delay lets a member that is about to
 * commit anyway include them (a commit takes every valid cached proposal, RFC 9420 §12.4).
 */
import type { GroupState } from '../mls/group/groupState.js';
import type { OrderingRecord } from './orderingRecord.js';
import { signOrderingRecord } from './orderingRecord.js';

export class CommitSequencer {
  private epoch: bigint;
  private accepted: { readonly key: string; readonly record: OrderingRecord } | undefined;
  /** Valid commits of this epoch in the order they arrived. */
  private readonly candidates: string[] = [];
  private proposalsSince: number | undefined;

  constructor(
    epoch: bigint,
    private readonly proposalCommitDelayMs: number,
  ) {
    this.epoch = epoch;
  }

  /** The group moved on (any commit merged, ours or not): forget the old epoch. */
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

  /** The record already given for this epoch, if any. */
  get acceptedRecord(): OrderingRecord | undefined {
    return this.accepted?.record;
  }

  get acceptedKey(): string | undefined {
    return this.accepted?.key;
  }

  /**
   * As leader of `term`: the record for this epoch's first valid commit, signed now if not yet.
   * `hashOf` gives the commit hash of a candidate. Undefined while no valid commit arrived.
   */
  order(
    state: GroupState,
    term: bigint,
    hashOf: (key: string) => Uint8Array | undefined,
  ): OrderingRecord | undefined {
    if (state.epoch !== this.epoch) return undefined;
    if (this.accepted !== undefined) return this.accepted.record;
    for (const key of this.candidates) {
      const commitHash = hashOf(key);
      if (commitHash === undefined) continue;
      const record = signOrderingRecord(state, { term, commitHash });
      this.accepted = { key, record };
      return record;
    }
    return undefined;
  }

  /** A proposal arrived in this epoch. */
  proposalReceived(now: number): void {
    this.proposalsSince ??= now;
  }

  /** Whether the leader should commit the cached proposals itself now. */
  shouldCommitProposals(now: number, cachedProposals: number): boolean {
    if (cachedProposals === 0 || this.proposalsSince === undefined) return false;
    if (this.accepted !== undefined || this.candidates.length > 0) return false;
    return now - this.proposalsSince >= this.proposalCommitDelayMs;
  }
}
