/**
 * Bringing back a member that cannot follow its own ordered commit. MLS cannot process one's own
 * commit (its handshake key was spent sending it), and the staged commit that would have merged
 * it does not survive a restart. Such a member stays at the commit's epoch and, hearing no
 * leader there, heartbeats at that epoch. The leader recognises it: a heartbeat of an epoch on
 * our branch (same branch head) whose signer, verified on our kept fork point of that epoch, is
 * the committer of the commit that ended it, at least an election timeout after we merged that
 * commit (a heartbeat merely delayed in the network is younger). The leader then removes the
 * member's leaf and adds it again with a fresh KeyPackage from `freshKeyPackage`; the Welcome
 * goes out like any add's (`welcome` event), and the member, whose session said `rejoinNeeded`,
 * joins with it.
 *
 * The same re-add serves a member stuck at an epoch for another reason it cannot get past: it
 * processed the ordered commit before a crash and restarted from a state with that key spent, or
 * it restarted on a branch that lost (its fork window, kept in memory, is empty, so it cannot
 * roll back). Its heartbeats at that epoch — verified against the member at that leaf in our
 * fork point of the epoch — must span an election timeout, while each makes us publish our
 * branch: a member that can follow has moved on by then.
 *
 * The fallback: a member whose session rejoins by external commit (externalRejoin.ts, the
 * session's `rejoin` option) does so itself and sends no such heartbeat. The re-add stays for
 * what only the leader can see — a member that restarted on a branch that lost has an empty fork
 * window and cannot tell it is stuck — and for members whose app wires no GroupInfo fetching.
 * A member is re-added once per stuck epoch: once it is back in the tree (the re-add merged) it
 * can be re-added again if it gets stuck at a later epoch.
 * Limit: a replayed old heartbeat of a committer makes the leader re-add a member that was fine
 * (a churn of two commits; nobody gets in who was not in), once per epoch it names. The check
 * bounds it to the fork window.
 */
import type { Group, GroupMember, KeyPackageInput } from '../mls/client/index.js';
import type { BranchHistory } from './branchHistory.js';
import type { Change } from './changes.js';
import { keyPackageOf } from './changes.js';
import type { Heartbeat } from './heartbeat.js';
import { branchHead, verifyHeartbeat } from './heartbeat.js';
import { bytesEqual, hashKey } from './orderingRecord.js';

/**
 * The member (as the current tree shows it) that `hb` shows stuck at an epoch of our branch, and
 * the members that epoch's commit added, or undefined. Stuck: the committer of that commit (it
 * cannot process it), or any member whose heartbeats at that epoch span `minAgeMs` (it processed
 * the commit before a crash and kept the spent key: it cannot process it again either, though we
 * publish our branch on each of its heartbeats). Both only `minAgeMs` after we merged it. Throws
 * DeliveryError/MlsError if the heartbeat names our branch but does not verify.
 */
export function stuckMember(
  history: BranchHistory,
  current: Group,
  hb: Heartbeat,
  now: number,
  minAgeMs: number,
  firstSeen: Map<string, number>,
): { member: GroupMember; added: readonly GroupMember[] } | undefined {
  const entry = history.at(hb.epoch);
  const forkPoint = entry?.forkPoint;
  if (entry === undefined || forkPoint === undefined || now - entry.mergedAt < minAgeMs) {
    return undefined;
  }
  const ourBranch = bytesEqual(hb.head, branchHead(forkPoint.state));
  if (ourBranch) verifyHeartbeat(forkPoint.state, hb);
  else if (!signedByLeaf(forkPoint, hb)) return undefined;
  // On another branch (a restart emptied its fork window, so it cannot roll back), or on ours
  // but not the committer: only once its heartbeats there span `minAgeMs` (our branch and its
  // fork evidence were published on each of them meanwhile).
  if (!ourBranch || entry.committer !== hb.leaderLeaf) {
    const seen = `${hb.epoch}/${hb.leaderLeaf}/${hashKey(hb.head)}`;
    const first = firstSeen.get(seen);
    if (first === undefined) firstSeen.set(seen, now);
    if (first === undefined || now - first < minAgeMs) return undefined;
  }
  const then = forkPoint.members().find((m) => m.leafIndex === hb.leaderLeaf);
  if (then === undefined || hb.leaderLeaf === current.ownLeaf) return undefined;
  const member = current.members().find((m) => bytesEqual(m.signatureKey, then.signatureKey));
  if (member === undefined) return undefined;
  // A committer that never merged its commit never sent its Welcome: those it added have none.
  const own = ourBranch && entry.committer === hb.leaderLeaf;
  const added = own ? entry.added.map((a) => a.member) : [];
  return { member, added };
}

/** Whether the member at the heartbeat's leaf in `state`'s tree signed it (another branch's). */
function signedByLeaf(state: Group, hb: Heartbeat): boolean {
  try {
    verifyHeartbeat(state.state, hb);
    return true;
  } catch {
    return false;
  }
}

/** Remembered (stuck epoch, member) pairs already re-added: a replay cannot repeat one. */
const DONE_KEPT = 1024;

/**
 * Both sides of the re-add: the leader's (once per member and stuck epoch, one at a time per
 * member) and the stuck member's heartbeats.
 */
export class Rejoins {
  /** Members being re-added (removal or add outstanding), by signature key. */
  private readonly reAdding = new Set<string>();
  /** `epoch/key` of re-adds started, oldest first. */
  private readonly done = new Set<string>();
  private readonly firstSeen = new Map<string, number>();
  private adds: Extract<Change, { kind: 'add' }>[] = [];
  private lastBeat = Number.NEGATIVE_INFINITY;

  constructor(
    readonly freshKeyPackage: ((m: GroupMember) => KeyPackageInput | undefined) | undefined,
    private readonly retryMs: number,
  ) {}

  /**
   * The removals that start re-adding the member `hb` shows stuck (see stuckMember), once each,
   * and those its commit added; their adds follow (addsDue).
   */
  reAdd(
    history: BranchHistory,
    current: Group,
    hb: Heartbeat,
    now: number,
    minAgeMs: number,
  ): Change[] | undefined {
    const stuck = stuckMember(history, current, hb, now, minAgeMs, this.firstSeen);
    if (stuck === undefined) return undefined;
    const members = current.members();
    const out: Change[] = [];
    for (const m of [stuck.member, ...stuck.added]) {
      const key = hashKey(m.signatureKey);
      const inTree = members.some((x) => bytesEqual(x.signatureKey, m.signatureKey));
      const once = `${hb.epoch}/${key}`;
      if (this.reAdding.has(key) || this.done.has(once) || !inTree) continue;
      const keyPackage = this.freshKeyPackage?.(m);
      if (keyPackage === undefined) continue;
      this.reAdding.add(key);
      this.done.add(once);
      while (this.done.size > DONE_KEPT) this.done.delete(this.done.values().next().value!);
      this.adds.push({ kind: 'add', keyPackage: keyPackageOf(keyPackage) });
      out.push({ kind: 'remove', signatureKey: m.signatureKey });
    }
    return out.length === 0 ? undefined : out;
  }
  /**
   * The adds whose removal is merged, from the tick after it: a removal and the re-add are two
   * commits (changes.ts), and the add goes out once the member's old leaf is gone. A member back
   * in the tree with no add of ours outstanding is re-added: it may be re-added again later.
   */
  addsDue(current: Group): Change[] {
    const members = current.members();
    const inTree = (key: Uint8Array): boolean =>
      members.some((m) => bytesEqual(m.signatureKey, key));
    const gone = (c: Extract<Change, { kind: 'add' }>): boolean =>
      !inTree(c.keyPackage.leafNode.signatureKey);
    const due = this.adds.filter(gone);
    this.adds = this.adds.filter((c) => !gone(c));
    if (this.reAdding.size > 0 && this.adds.length === 0) {
      for (const m of members) this.reAdding.delete(hashKey(m.signatureKey));
    }
    return due;
  }

  /** We are the stuck one: whether to heartbeat now (every `retryMs` at most). */
  beatDue(now: number): boolean {
    if (now - this.lastBeat < this.retryMs) return false;
    this.lastBeat = now;
    return true;
  }
}
