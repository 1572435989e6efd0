/**
 * Who orders commits: one leader per group and term, chosen among the members without a vote.
 *
 * - Term 0's leader is the member with the lowest leaf index: every member computes it alike.
 * - The leader sends heartbeats. A member that has heard nothing from the leader for
 *   `electionTimeoutMs` claims the next term for itself, but not all at once: the member ranked
 *   r-th by leaf index among the others waits `r * staggerMs` longer, so the lowest leaf claims
 *   first and the rest normally hear its claim before their own time comes.
 * - A claim or record with a higher term wins; two claims of the same term are settled by the
 *   lower leaf index. Anything from an older term is stale.
 * - When a commit removes the leader, the lowest remaining leaf leads the next term at once
 *   (no timeout: everyone merging that commit knows the leader is gone).
 *
 * No randomness: given the clock and the messages seen, every member decides the same way, which
 * keeps simulation runs reproducible. Two leaders can still coexist (a partition, or claims that
 * cross): that is a fork, which `forks.ts` resolves; the election does not try to prevent it.
 */

export interface ElectionTiming {
  /** How often the leader sends a heartbeat. */
  readonly heartbeatMs: number;
  /** Silence after which the first-ranked member claims leadership. */
  readonly electionTimeoutMs: number;
  /** Extra wait per rank, so lower leaves claim first. */
  readonly staggerMs: number;
}

export const DEFAULT_ELECTION_TIMING: ElectionTiming = {
  heartbeatMs: 1_000,
  electionTimeoutMs: 4_000,
  staggerMs: 1_000,
};

/** What a heartbeat or ordering record from (term, leaf) means to us. */
export type Observation = 'current' | 'adopted' | 'stale' | 'not_leader';

export class LeaderElection {
  private currentTerm = 0n;
  private currentLeader: number;
  private lastHeard: number;
  private foreignLeaderAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly timing: ElectionTiming,
    private readonly self: number,
    members: readonly number[],
    now: number,
  ) {
    this.currentLeader = lowest(members);
    this.lastHeard = now;
  }

  get term(): bigint {
    return this.currentTerm;
  }

  get leader(): number {
    return this.currentLeader;
  }

  get isLeader(): boolean {
    return this.currentLeader === this.self;
  }

  /** Restores a known term and leader (after a restart or a branch switch). */
  reset(term: bigint, leader: number, now: number): void {
    this.currentTerm = term;
    this.currentLeader = leader;
    this.lastHeard = now;
  }

  /**
   * A verified heartbeat or ordering record of `term` by `leaf`. 'current' and 'adopted' mean the
   * sender leads (adopted: we changed leader); 'stale' an older term; 'not_leader' the same term
   * as a leader with a lower leaf.
   */
  observe(term: bigint, leaf: number, now: number): Observation {
    if (term < this.currentTerm) return 'stale';
    if (term === this.currentTerm) {
      if (leaf === this.currentLeader) {
        this.lastHeard = now;
        return 'current';
      }
      if (leaf > this.currentLeader) return 'not_leader';
    }
    this.currentTerm = term;
    this.currentLeader = leaf;
    this.lastHeard = now;
    return 'adopted';
  }

  /**
   * The members after a merged commit. If the leader is no longer one of them, the lowest leaf
   * leads the next term; returns whether the leader changed.
   */
  membersChanged(members: readonly number[], now: number): boolean {
    if (members.includes(this.currentLeader)) return false;
    this.currentTerm += 1n;
    this.currentLeader = lowest(members);
    this.lastHeard = now;
    return true;
  }

  /** When we should claim the next term if the leader stays silent (undefined when we lead). */
  claimDeadline(members: readonly number[]): number | undefined {
    if (this.isLeader) return undefined;
    const others = members.filter((m) => m !== this.currentLeader).sort((a, b) => a - b);
    const rank = Math.max(0, others.indexOf(this.self));
    return this.lastHeard + this.timing.electionTimeoutMs + rank * this.timing.staggerMs;
  }

  /**
   * Our leader has been silent past the election timeout while a member of our tree (its
   * heartbeat signed with that member's leaf key) leads another branch: the others have left
   * ours, e.g. we were added on a branch that lost a fork and hold no fork point from before it,
   * so we cannot judge it. We then do not claim (leading a branch nobody else is on would pull
   * members onto it by re-adds) but heartbeat, so that its leader publishes its branch to us
   * (the fork evidence, if we can judge it); a Welcome re-adding us there is the other way back
   * (the glue takes it, `GroupSession.abandon` gives ours up). Not a verdict: no claim is made.
   */
  abandoned(members: readonly number[], now: number): boolean {
    if (now - this.foreignLeaderAt >= this.timing.electionTimeoutMs) return false;
    const deadline = this.claimDeadline(members);
    return deadline !== undefined && now >= deadline;
  }

  /** A member of our tree was heard leading another branch or epoch (see abandoned). */
  foreignLeader(now: number): void {
    this.foreignLeaderAt = now;
  }

  /** Takes the next term for ourselves. */
  claim(now: number): bigint {
    this.currentTerm += 1n;
    this.currentLeader = this.self;
    this.lastHeard = now;
    return this.currentTerm;
  }
}

function lowest(members: readonly number[]): number {
  let min = Number.POSITIVE_INFINITY;
  for (const m of members) if (m < min) min = m;
  return Number.isFinite(min) ? min : 0;
}
