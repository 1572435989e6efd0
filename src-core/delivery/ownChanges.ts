/**
 * Our own changes to the group until a merged commit makes them: what we asked for (adds,
 * removals, updates), the one commit of ours out for the current epoch, and a leave in progress.
 * A commit is bound to its epoch; the changes are not. When our commit loses, the changes stay
 * and the next epoch gets a fresh commit for whatever is still outstanding (`changes.ts` drops
 * what the group already satisfies). A leave is a self-remove proposal, sent again each epoch
 * (proposals do not outlive their epoch) until a commit removes us.
 */
import type { Group, GroupMember, OutgoingCommit, PendingCommit } from '../mls/client/index.js';
import { MlsError } from '../mls/errors.js';
import { ProposalType } from '../mls/proposal.js';
import type { Change } from './changes.js';
import { describeChange, outstanding, planCommit } from './changes.js';
import { EnvelopeKind } from './envelope.js';
import { DeliveryError } from './errors.js';
import { commitHash, hashKey } from './orderingRecord.js';
import type { Outbox } from './outbox.js';
import { mlsEnvelope } from './outbox.js';
import type { Clock } from './ports.js';
import type { SessionEmitter } from './sessionEvents.js';

/** Removals of other members by leaf index, named by signature key (valid across epochs). */
export function removalsOf(group: Group, leaves: readonly number[]): Change[] {
  const members = group.members();
  return leaves.map((leaf): Change => {
    const m = members.find((x) => x.leafIndex === leaf);
    if (m === undefined || leaf === group.ownLeaf) {
      throw new DeliveryError('invalid_argument', `leaf ${leaf} is not another member`);
    }
    return { kind: 'remove', signatureKey: m.signatureKey };
  });
}

/** Whether a proposal cached in this epoch removes us (then we must not lead: §12.2). */
export function removalProposed(group: Group): boolean {
  for (const { proposal } of group.state.proposals.list()) {
    if (proposal.proposalType !== ProposalType.remove || !('remove' in proposal)) continue;
    if (proposal.remove.removed === group.ownLeaf) return true;
  }
  return false;
}

/** A valid commit of the current epoch, staged, waiting for (or given) its ordering record. */
export interface Candidate {
  readonly pending: PendingCommit;
  readonly hash: Uint8Array;
  readonly mls: Uint8Array;
}

interface InFlight {
  readonly key: string;
  readonly covers: readonly Change[];
  readonly welcome: Uint8Array | undefined;
  readonly envelope: Uint8Array;
  sentAt: number;
}

export class OwnChanges {
  private changes: Change[] = [];
  private inFlight: InFlight | undefined;
  private leaving: { envelope: Uint8Array | undefined; sentAt: number } | undefined;

  constructor(
    private readonly outbox: Outbox,
    private readonly clock: Clock,
    private readonly events: SessionEmitter,
    private readonly retryMs: number,
    /** Hands our commit to the member side as a candidate of the epoch (and to the sequencer). */
    private readonly submit: (key: string, candidate: Candidate) => void,
  ) {}

  get isLeaving(): boolean {
    return this.leaving !== undefined;
  }

  /** Changes to make, after those already asked for (`first`: before them). */
  want(changes: readonly Change[], first = false): void {
    this.changes = first ? [...changes, ...this.changes] : [...this.changes, ...changes];
  }

  /** Whether removals we asked for are still to be made. */
  removalsOutstanding(group: Group): boolean {
    return outstanding(group, this.changes).some((c) => c.kind === 'remove');
  }

  startLeaving(group: Group): void {
    this.changes = [];
    this.leaving = { envelope: undefined, sentAt: this.clock.now() };
    this.proposeLeave(group);
  }

  /**
   * Makes the next commit (or leave proposal) for the current epoch, unless one is already out.
   * A change MLS refuses (e.g. an invalid KeyPackage) is dropped with a `changeFailed` event.
   */
  next(group: Group): void {
    if (this.leaving !== undefined) return this.proposeLeave(group);
    if (this.inFlight !== undefined) return;
    for (;;) {
      try {
        const planned = planCommit(group, this.changes);
        if (planned === undefined) this.changes = outstanding(group, this.changes);
        else this.commit(group, planned.outgoing, planned.covers);
        return;
      } catch (e) {
        if (!(e instanceof MlsError)) throw e;
        const bad = outstanding(group, this.changes)[0];
        if (bad === undefined) throw e;
        this.changes = this.changes.filter((c) => c !== bad);
        this.events.emit('changeFailed', { change: describeChange(bad), error: e });
      }
    }
  }

  /** Publishes a commit of ours for the current epoch and submits it. */
  commit(group: Group, out: OutgoingCommit, covers: readonly Change[]): void {
    const hash = commitHash(group.state.suite, out.commit);
    const key = hashKey(hash);
    const envelope = mlsEnvelope(group, EnvelopeKind.commit, out.commit);
    this.inFlight = { key, covers, welcome: out.welcome, envelope, sentAt: this.clock.now() };
    this.outbox.publish(envelope, group.epoch, EnvelopeKind.commit);
    this.submit(key, { pending: out.pending, hash, mls: out.commit });
  }

  /**
   * The epoch moved on with the commit `key`: ours won (its changes are done, its Welcome goes
   * out) or lost (`commitLost`; the changes wait for the next commit).
   */
  epochMoved(key: string, lostEpoch: bigint, added: readonly GroupMember[]): void {
    const flight = this.inFlight;
    this.inFlight = undefined;
    if (this.leaving !== undefined) this.leaving.envelope = undefined;
    if (flight === undefined) return;
    if (flight.key !== key) {
      this.events.emit('commitLost', { epoch: lostEpoch });
      return;
    }
    this.changes = this.changes.filter((c) => !flight.covers.includes(c));
    if (flight.welcome !== undefined) {
      this.events.emit('welcome', { welcome: flight.welcome, added });
    }
  }

  /** A branch switch: our commit of the losing branch is gone (its changes are not). */
  dropInFlight(): void {
    this.inFlight = undefined;
    if (this.leaving !== undefined) this.leaving.envelope = undefined;
  }

  /** A new leader may never have seen our commit: send it again now. */
  leaderChanged(epoch: bigint): void {
    if (this.inFlight === undefined) return;
    this.inFlight.sentAt = this.clock.now();
    this.outbox.publish(this.inFlight.envelope, epoch, EnvelopeKind.commit);
  }

  /** Retries: our commit, or our leave proposal, unanswered for `retryMs`. */
  tick(group: Group, now: number): void {
    if (this.inFlight !== undefined && now - this.inFlight.sentAt >= this.retryMs) {
      this.inFlight.sentAt = now;
      this.outbox.publish(this.inFlight.envelope, group.epoch, EnvelopeKind.commit);
    }
    if (this.leaving !== undefined && now - this.leaving.sentAt >= this.retryMs) {
      this.leaving.envelope = undefined;
      this.proposeLeave(group);
    }
  }

  private proposeLeave(group: Group): void {
    if (this.leaving === undefined || this.leaving.envelope !== undefined) return;
    const proposal = group.leave();
    this.leaving.envelope = mlsEnvelope(group, EnvelopeKind.proposal, proposal.message);
    this.leaving.sentAt = this.clock.now();
    this.outbox.publish(this.leaving.envelope, group.epoch, EnvelopeKind.proposal);
  }
}
