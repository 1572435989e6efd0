/**
 * What a run leaves behind for the invariant checkers: the script's intentions, what each member
 * did and saw (merges, reads, reports to senders), and each member's state at the end. Names are
 * the simulation's member names (`m0`, `m1`, …); byte strings are hex so traces print and compare.
 */

/** One member's group state at a moment: what convergence compares. */
export interface StateView {
  readonly epoch: bigint;
  readonly treeHash: string;
  readonly epochAuthenticator: string;
  /** Member names in the roster, sorted. */
  readonly roster: readonly string[];
}

export interface MergeRecord {
  readonly time: number;
  readonly member: string;
  /** The epoch the commit moved to and the state after it. */
  readonly after: StateView;
  /** Hash of the commit merged, as the ordering record names it (hex). */
  readonly commitHash: string;
  /** The epoch the commit was made in. */
  readonly fromEpoch: bigint;
}

/** An ordering record that reached a member (or that the member published as leader). */
export interface OrderingSeen {
  readonly time: number;
  readonly member: string;
  readonly epoch: bigint;
  readonly commitHash: string;
}

export interface SentRecord {
  readonly id: string;
  readonly time: number;
  readonly sender: string;
  /** The sender's state when it sent (undefined if it was not in the group). */
  readonly senderView: StateView | undefined;
}

export interface ReadRecord {
  readonly time: number;
  readonly reader: string;
  /** Which run of the reader (0, then 1 after its first restart, …). */
  readonly incarnation: number;
  readonly id: string;
  /** The reader's state when it read. */
  readonly view: StateView;
}

export interface NotDeliveredReport {
  readonly time: number;
  readonly sender: string;
  readonly id: string;
}

/** A member the script removed (or who left) and whose removal some member merged. */
export interface RemovalRecord {
  readonly time: number;
  /** Place among removals and re-adds (several merges can share one virtual millisecond). */
  readonly order?: number;
  readonly member: string;
  /** Who merged it first, and the state after. */
  readonly mergedBy: string;
  readonly after: StateView;
}

export interface FinalMember {
  readonly name: string;
  /** Up at the end (not crashed). */
  readonly up: boolean;
  /** Its state, or undefined if it holds no state of the group. */
  readonly view: StateView | undefined;
}

export interface Trace {
  readonly seed: number;
  readonly merges: MergeRecord[];
  readonly orderingSeen: OrderingSeen[];
  readonly sent: SentRecord[];
  readonly reads: ReadRecord[];
  readonly notDelivered: NotDeliveredReport[];
  readonly removals: RemovalRecord[];
  /** Members added again after a removal, with the time of the add (their earlier removal is void). */
  readonly readds: { readonly member: string; readonly time: number; readonly order?: number }[];
  /**
   * Members that came back from a crash without their group state and joined again: from then on
   * they cannot read what was sent to the epochs they missed.
   */
  readonly rejoins: { readonly member: string; readonly time: number }[];
  /** Messages whose sender lost them in a crash before they left, so no one can report them. */
  readonly lostInCrash: Set<string>;
  readonly finals: FinalMember[];
  /** Notable events of the sessions, for the failure report only. */
  readonly notes: string[];
  /** Actions the code under test refused (with its error), for the failure report. */
  readonly skippedActions: string[];
  /** Errors the scheduler caught from callbacks (handlers that threw). */
  readonly handlerErrors: string[];
}

export function emptyTrace(seed: number): Trace {
  return {
    seed,
    merges: [],
    orderingSeen: [],
    sent: [],
    reads: [],
    notDelivered: [],
    removals: [],
    readds: [],
    rejoins: [],
    lostInCrash: new Set(),
    finals: [],
    handlerErrors: [],
    skippedActions: [],
    notes: [],
  };
}
