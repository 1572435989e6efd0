/**
 * One member's live session in one group: it publishes our commits, proposals and messages on the
 * group channel, merges a commit only together with its ordering record, leads when elected
 * (heartbeats, ordering records, committing left-over proposals), makes again the changes of a
 * commit that lost, holds messages of later epochs, and resolves forks within a bounded window.
 * Every input from the network goes through `receive`: bad or forged input is reported as a
 * `rejected` event with a typed DeliveryError and changes nothing.
 * The public API and the design choices are in README.md.
 */
import type { Group, KeyPackageInput } from '../mls/client/index.js';
import { SeenMessages, decodeApplicationFrame } from './applicationFrame.js';
import { BranchHistory } from './branchHistory.js';
import type { BranchEntry } from './branchHistory.js';
import { EpochProposals, branchEntry } from './branchHistory.js';
import { groupChannel } from './channel.js';
import type { Change, ExtensionsEdit } from './changes.js';
import { keyPackageOf } from './changes.js';
import { CommitSequencer } from './commitSequencer.js';
import type { SequencerHost } from './commitSequencer.js';
import type { GroupEnvelope } from './envelope.js';
import { EnvelopeKind, decodeEnvelope } from './envelope.js';
import { EnvelopeBuffer } from './envelopeBuffer.js';
import { EpochCommits } from './epochCommits.js';
import { DeliveryError, toDeliveryError } from './errors.js';
import { ForkRecovery } from './forkRecovery.js';
import type { ForkHost } from './forkRecovery.js';
import type { Heartbeat } from './heartbeat.js';
import { branchHead, signedByMemberOf, verifyHeartbeat } from './heartbeat.js';
import { LeaderElection } from './leaderElection.js';
import type { OrderingRecord } from './orderingRecord.js';
import { bytesEqual, hashKey } from './orderingRecord.js';
import { Outbox } from './outbox.js';
import { Rejoins } from './rejoin.js';
import { ExternalRejoin } from './externalRejoin.js';
import type { RejoinHost } from './externalRejoin.js';
import { OwnChanges, removalProposed, removalsOf } from './ownChanges.js';
import type { Candidate } from './ownChanges.js';
import type { Clock, TimerHandle } from './ports.js';
import type { MessageId, SessionEventName, SessionListener } from './sessionEvents.js';
import { SessionEmitter } from './sessionEvents.js';
import { SessionReports } from './sessionReports.js';
import type { GroupSessionOptions, GroupSessionTiming } from './sessionOptions.js';
import {
  DEFAULT_BUFFER_LIMIT,
  DEFAULT_FORK_WINDOW,
  DEFAULT_SESSION_TIMING,
} from './sessionOptions.js';

export type { GroupSessionOptions, GroupSessionTiming } from './sessionOptions.js';
export { DEFAULT_SESSION_TIMING } from './sessionOptions.js';

export class GroupSession {
  readonly channel: string;
  private current: Group;
  private startEpoch: bigint; // joined, restarted or rejoined here: nothing known before
  private readonly clock: Clock;
  private readonly timing: GroupSessionTiming;
  private readonly events = new SessionEmitter();
  private readonly outbox: Outbox;
  private election: LeaderElection;
  private readonly sequencer: CommitSequencer;
  private readonly history: BranchHistory;
  private readonly forks: ForkRecovery;
  private readonly buffer: EnvelopeBuffer;
  private readonly subscribeChannel: () => () => void;
  private readonly subscribers: () => readonly string[];

  private readonly commits: EpochCommits;
  private readonly own: OwnChanges;
  private readonly seen: SeenMessages;
  private readonly reports: SessionReports;
  private readonly proposals = new EpochProposals();
  private readonly rejoins: Rejoins;
  private readonly external: ExternalRejoin;
  private unsubscribe: (() => void) | undefined;
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(options: GroupSessionOptions) {
    this.current = options.group;
    if (!this.current.isActive) throw new DeliveryError('inactive', 'the group is not active');
    this.startEpoch = this.current.epoch;
    this.clock = options.ports.clock;
    this.timing = { ...DEFAULT_SESSION_TIMING, ...options.timing };
    this.channel = groupChannel(this.current.groupId);
    const { channels } = options.ports;
    this.subscribeChannel = () => channels.subscribe(this.channel, (m) => this.receive(m.data));
    this.subscribers = () => channels.subscribers(this.channel);
    this.outbox = new Outbox(channels, this.channel, this.events);
    this.reports = new SessionReports(this.events, this.timing.retryMs, (epoch, seen) =>
      this.outbox.markAtRisk(epoch, seen),
    );
    this.events.on('published', (e) => {
      if (e.kind === EnvelopeKind.proposal) this.proposals.add(e.epoch, e.envelope);
    });
    const now = this.clock.now();
    this.election = new LeaderElection(this.timing, this.current.ownLeaf, this.memberLeaves(), now);
    const resume = options.election;
    if (resume !== undefined) this.election.reset(resume.term, resume.leader, now);
    this.sequencer = new CommitSequencer(
      this.sequencerHost(),
      this.outbox,
      this.clock,
      this.timing,
    );
    this.history = new BranchHistory(options.forkWindow ?? DEFAULT_FORK_WINDOW);
    const limit = options.bufferLimit ?? DEFAULT_BUFFER_LIMIT;
    this.buffer = new EnvelopeBuffer(limit);
    this.seen = options.seen ?? new SeenMessages(limit);
    this.rejoins = new Rejoins(options.freshKeyPackage, this.timing.retryMs);
    this.commits = new EpochCommits({
      clock: this.clock,
      buffer: this.buffer,
      reports: this.reports,
      outbox: this.outbox,
      rejoins: this.rejoins,
      group: () => this.current,
      sequencer: () => this.sequencer,
      external: () => this.external,
      observe: (record) => {
        const seen = this.election.observe(record.term, record.leaderLeaf, this.clock.now());
        if (seen === 'adopted') this.leaderChanged();
        return seen;
      },
      merge: (candidate, record) => this.merge(candidate, record),
    });
    const { retryMs } = this.timing;
    this.own = new OwnChanges(this.outbox, this.clock, this.events, retryMs, (k, c) =>
      this.commits.candidate(k, c),
    );
    this.forks = new ForkRecovery(this.forkHost(), limit);
    this.external = new ExternalRejoin(this.rejoinHost(), options.rejoin, this.timing);
    this.events.on('rejoinNeeded', (e) => this.external.stuck(e.forkEpoch));
  }

  // ---- Public API ---------------------------------------------------------------------------

  /** The group at our current epoch (read it; change it only through the session). */
  get group(): Group {
    return this.current;
  }

  get epoch(): bigint {
    return this.current.epoch;
  }

  get term(): bigint {
    return this.election.term;
  }

  get leader(): number {
    return this.election.leader;
  }

  /**
   * Whether we order commits now. A leader whose removal is proposed stops leading (§12.2: it
   * cannot commit its own removal; the others take over after the timeout), whether it asked to
   * leave or not: a leaver that restarted has forgotten it asked, but the proposal is cached.
   */
  get isLeader(): boolean {
    return this.election.isLeader && !this.own.isLeaving && !removalProposed(this.current);
  }

  /** Whether we are rejoining by external commit (we cannot follow; serve no GroupInfo now). */
  get isRejoining(): boolean {
    return this.external.active;
  }

  /** Our branch looks left by the others (see LeaderElection.abandoned). */
  get abandoned(): boolean {
    return this.election.abandoned(this.memberLeaves(), this.clock.now());
  }

  /** What we read, by (sender, message id): for a session that replaces this one. */
  get seenMessages(): SeenMessages {
    return this.seen;
  }

  /** Started, not stopped, still a member. */
  get isRunning(): boolean {
    return this.unsubscribe !== undefined && !this.stopped;
  }

  on<K extends SessionEventName>(name: K, listener: SessionListener<K>): () => void {
    return this.events.on(name, listener);
  }

  /** Subscribes to the group channel and starts the timers. */
  start(): void {
    if (this.stopped) throw new DeliveryError('inactive', 'the session was stopped');
    if (this.unsubscribe !== undefined) return;
    this.unsubscribe = this.subscribeChannel();
    this.schedule();
    if (this.isLeader) this.sequencer.heartbeat();
  }

  /** Unsubscribes and stops the timers. The group stays the caller's to store or destroy. */
  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  /** Stops and wipes what the session keeps: fork points, kept plaintexts, the group. */
  destroy(): void {
    this.stop();
    this.history.destroy();
    this.outbox.wipe();
    this.current.destroy();
  }

  /**
   * Gives this session up for one that replaces it (a Welcome re-added us on the branch that won
   * while ours was `abandoned`): our messages a fork could still undo are reported
   * `notDelivered` (they went out on a branch the others left), then it is destroyed.
   */
  abandon(): void {
    this.outbox.failUnsettled();
    this.destroy();
  }

  /** Sends application data to the group; returns its local id (see `notDelivered`). */
  send(data: Uint8Array): MessageId {
    this.checkRunning();
    return this.outbox.send(this.current, data);
  }

  /** Adds members by KeyPackage: committed once ordered, made again if the commit loses. */
  add(keyPackages: readonly KeyPackageInput[]): void {
    this.checkRunning();
    const adds = keyPackages.map((kp): Change => ({ kind: 'add', keyPackage: keyPackageOf(kp) }));
    this.own.want(adds);
    this.own.next(this.current);
  }

  /** Removes other members by leaf index (ourselves: `leave`). */
  remove(leaves: readonly number[]): void {
    this.checkRunning();
    this.own.want(removalsOf(this.current, leaves));
    this.own.next(this.current);
  }

  /** Fresh keys for our leaf and path (a commit with a path). */
  update(): void {
    this.checkRunning();
    this.own.want([{ kind: 'update' }]);
    this.own.next(this.current);
  }

  /**
   * Changes the GroupContext extensions by a GroupContextExtensions commit; `edit` runs again on
   * the group's extensions at each attempt (changes.ts), so it applies on top of a commit that won.
   */
  changeExtensions(edit: ExtensionsEdit): void {
    this.checkRunning();
    this.own.want([{ kind: 'extensions', edit }]);
    this.own.next(this.current);
  }

  /**
   * Leaves: a self-remove proposal (RFC 9420 §12.2: another member must commit it), sent again
   * each epoch until a commit removes us. Our other pending changes are dropped.
   */
  leave(): void {
    this.checkRunning();
    this.own.startLeaving(this.current);
  }

  /** Handles one envelope, from the channel or from a sync. Never throws. */
  receive(bytes: Uint8Array): void {
    if (this.stopped) return;
    try {
      const env = decodeEnvelope(bytes);
      if (!bytesEqual(env.groupId, this.current.groupId)) {
        throw new DeliveryError('wrong_group', 'envelope for another group');
      }
      this.dispatch(env, bytes);
    } catch (e) {
      this.reject(e);
    }
  }

  // ---- Incoming ------------------------------------------------------------------------------

  private dispatch(env: GroupEnvelope, bytes: Uint8Array): void {
    if (env.kind === EnvelopeKind.heartbeat) return this.onHeartbeat(env.heartbeat);
    if (this.external.intercept(env)) return;
    if (env.epoch > this.epoch) {
      this.buffer.future(env.epoch, bytes);
      return this.reports.behind(this.epoch, env.epoch, this.clock.now());
    }
    if (env.epoch < this.epoch) return this.onPast(env, bytes);
    switch (env.kind) {
      case EnvelopeKind.commit:
        return this.commits.onCommit(env.mlsMessage, bytes);
      case EnvelopeKind.orderingRecord:
        return this.commits.onRecord(env.record, bytes);
      case EnvelopeKind.proposal:
      case EnvelopeKind.application:
        return this.onMessage(env.mlsMessage, env.epoch, bytes);
    }
  }

  private onMessage(mls: Uint8Array, epoch: bigint, bytes: Uint8Array): void {
    let event;
    try {
      event = this.current.process(mls);
    } catch (e) {
      event = this.history.readLate(epoch, mls, e);
      if (event === undefined) this.buffer.otherBranch(epoch, bytes);
      if (event === undefined) throw e;
    }
    if (event.kind === 'application') {
      const { sender, authenticatedData } = event;
      const { messageId, data } = decodeApplicationFrame(event.data);
      event.data.fill(0);
      if (this.seen.check(sender.signatureKey, messageId)) return;
      this.events.emit('message', {
        sender,
        data,
        messageId,
        epoch: event.epoch,
        authenticatedData,
      });
    } else if (event.kind === 'proposal') {
      if (epoch === this.epoch) this.proposals.add(epoch, bytes);
      this.sequencer.proposalReceived(this.clock.now());
    }
  }

  /** An envelope of an epoch we passed: a late message, a duplicate, or another branch. */
  private onPast(env: GroupEnvelope, bytes: Uint8Array): void {
    if (env.kind === EnvelopeKind.application)
      return this.onMessage(env.mlsMessage, env.epoch, bytes);
    // A proposal of a past epoch: its sender is behind (e.g. a leaver missing its removal).
    if (env.kind === EnvelopeKind.proposal) {
      this.forks.pastProposal(env.epoch, env.mlsMessage);
      return this.sequencer.republishBranch();
    }
    this.forks.pastOrdering(env, bytes);
  }

  private onHeartbeat(hb: Heartbeat): void {
    // A leader at another epoch or branch (another head): we may be behind, it may be (as leader
    // we publish our branch, re-add it if stuck: rejoin.ts), or we are on two branches. Mostly
    // unverifiable (its tree is not ours): it causes at most a rate-limited republication.
    if (hb.epoch !== this.epoch || !bytesEqual(hb.head, branchHead(this.current.state))) {
      if (signedByMemberOf(this.current.state, hb)) this.election.foreignLeader(this.clock.now());
      if (hb.epoch > this.epoch) this.reports.behind(this.epoch, hb.epoch, this.clock.now());
      if (hb.epoch <= this.epoch && this.isLeader) this.reAddIfStuck(hb);
      return this.sequencer.republishBranch();
    }
    verifyHeartbeat(this.current.state, hb);
    const seen = this.election.observe(hb.term, hb.leaderLeaf, this.clock.now());
    if (seen === 'stale') throw new DeliveryError('stale_term', `heartbeat of term ${hb.term}`);
    if (seen === 'not_leader') throw new DeliveryError('not_leader', `leaf ${hb.leaderLeaf}`);
    if (seen === 'adopted') this.leaderChanged();
  }

  /** As leader: a member stuck behind its own ordered commit is removed and added again. */
  private reAddIfStuck(hb: Heartbeat): void {
    const now = this.clock.now();
    const wait = this.timing.electionTimeoutMs;
    // Not while behind ourselves: a stale leader would spend the member's KeyPackage for nothing.
    if (!this.reports.mayOrder(this.epoch, now, wait)) return;
    const changes = this.rejoins.reAdd(this.history, this.current, hb, now, wait);
    if (changes === undefined) return;
    this.own.want(changes, true);
    this.own.next(this.current);
  }

  // ---- Merging -------------------------------------------------------------------------------

  /** Merges an ordered commit (the old epoch kept as a fork point). */
  private merge(candidate: Candidate, record: OrderingRecord): void {
    const group = this.current;
    const { pending } = candidate;
    const proposals = this.proposals.of(group.epoch);
    const entry = branchEntry(group, candidate, record, proposals, this.clock.now());
    const { committer } = entry;
    const { updated, removesUs } = pending;
    for (const [k, pending] of this.commits.othersThan(candidate)) entry.others.set(k, pending);
    entry.forkPoint = group.merge(pending, { keepPrevious: true });
    this.history.push(entry);
    this.newEpoch(entry, committer, updated);
    if (removesUs) return this.removedFromGroup(entry.epoch);
    this.replayBuffered();
    if (!this.stopped) this.own.next(this.current);
  }

  /** Bookkeeping once `current` is at a new epoch (after a merge, also on a branch switch). */
  private newEpoch(entry: BranchEntry, committer: number | undefined, updated: readonly number[]) {
    const added = entry.added.map((a) => a.member);
    this.own.epochMoved(hashKey(entry.commitHash), entry.epoch, added);
    this.commits.clear();
    this.external.cancel();
    this.sequencer.newEpoch(this.epoch);
    const active = this.current.isActive;
    if (active && this.election.membersChanged(this.memberLeaves(), this.clock.now())) {
      this.leaderChanged();
    }
    this.outbox.settleBefore(this.history.all()[0]?.epoch ?? this.epoch);
    const { epoch } = this;
    this.events.emit('epoch', { epoch, committer, commitHash: entry.commitHash, term: entry.term });
    this.events.emit('membership', { epoch, added, removed: entry.removed, updated });
    if (active) {
      const quarantine = this.outbox.isQuarantined && this.own.removalsOutstanding(this.current);
      this.outbox.release(this.current, quarantine);
      this.outbox.resendAtRisk(this.current);
    }
  }

  /** A commit ending `lastEpoch` removed us. */
  private removedFromGroup(lastEpoch: bigint): void {
    this.outbox.republishEpoch(lastEpoch);
    this.events.emit('removed', { epoch: this.epoch });
    this.outbox.failHeld('removed');
    this.stop();
  }

  // ---- Leading -------------------------------------------------------------------------------

  private leaderChanged(): void {
    const self = this.election.isLeader;
    this.events.emit('leader', { term: this.election.term, leader: this.election.leader, self });
    if (self && !this.own.isLeaving) {
      if (this.current.state.proposals.size > 0) this.sequencer.proposalReceived(this.clock.now());
      this.sequencer.heartbeat();
      this.sequencer.step(false);
    } else {
      this.own.leaderChanged(this.epoch);
    }
  }

  private schedule(): void {
    this.timer = this.clock.setTimer(this.timing.tickMs, () => {
      this.timer = undefined;
      if (this.stopped) return;
      try {
        this.tick();
      } catch (e) {
        this.reject(e);
      }
      if (!this.stopped) this.schedule();
    });
  }

  private tick(): void {
    const now = this.clock.now();
    this.sequencer.tick(now);
    const deadline = this.election.claimDeadline(this.memberLeaves());
    const claims =
      !this.own.isLeaving &&
      !this.external.active &&
      !removalProposed(this.current) &&
      !this.abandoned;
    if (deadline !== undefined && now >= deadline && claims) {
      this.election.claim(now);
      this.leaderChanged();
    }
    // Abandoned: our heartbeat makes the other branch's leader publish its branch to us (the
    // fork evidence, if we hold its fork point), every `retryMs` at most.
    if (this.abandoned && this.rejoins.beatDue(now)) this.sequencer.heartbeat();
    const adds = this.rejoins.addsDue(this.current);
    if (adds.length > 0) this.own.want(adds, true);
    this.own.tick(this.current, now);
    if (adds.length > 0) this.own.next(this.current);
    this.external.tick(now);
  }

  private sequencerHost(): SequencerHost {
    return {
      group: () => this.current,
      term: () => this.election.term,
      isLeader: () => this.isLeader,
      // Not while behind (traffic of a later epoch seen lately): a leader at an old epoch (e.g.
      // just restarted) may heartbeat, which gets it our branch, but ordering would fork.
      mayOrder: () =>
        this.reports.mayOrder(this.epoch, this.clock.now(), this.timing.electionTimeoutMs),
      // Peers on the group channel we can reach (the port does not count us), at most everyone.
      reach: () => Math.min(this.subscribers().length + 1, this.current.members().length),
      branch: () => this.history.all(),
      candidateHash: (key) => this.commits.candidateHash(key),
      ordered: (key, record) => this.commits.ordered(key, record),
      commitProposals: () => this.own.commit(this.current, this.current.commit(), []),
    };
  }

  private forkHost(): ForkHost {
    return {
      history: this.history,
      buffer: this.buffer,
      reports: this.reports,
      outbox: this.outbox,
      events: this.events,
      sequencer: this.sequencer,
      own: this.own,
      startEpoch: () => this.startEpoch,
      freshKeyPackage: this.rejoins.freshKeyPackage,
      group: () => this.current,
      stopped: () => this.stopped,
      rollBackTo: (forkPoint, record) => {
        const losing = this.current;
        this.current = forkPoint;
        losing.destroy();
        const now = this.clock.now(); // our leaf may differ (a rejoin)
        this.election = new LeaderElection(
          this.timing,
          forkPoint.ownLeaf,
          this.memberLeaves(),
          now,
        );
        this.election.reset(record.term, record.leaderLeaf, now);
        this.commits.clear();
        this.own.dropInFlight();
        this.sequencer.newEpoch(this.epoch);
      },
      mergeOrdered: (winner, record) => this.commits.mergeOrdered(winner, record),
      leaderChanged: () => this.leaderChanged(),
      receive: (bytes) => this.receive(bytes),
      replayBuffered: () => this.replayBuffered(),
    };
  }

  private rejoinHost(): RejoinHost {
    const host = this.forkHost();
    const replaceGroup = (group: Group, record: OrderingRecord): void => {
      this.startEpoch = group.epoch;
      host.rollBackTo(group, record);
    };
    return { ...host, clock: this.clock, replaceGroup, reject: (e) => this.reject(e) };
  }

  private memberLeaves(): number[] {
    return this.current.members().map((m) => m.leafIndex);
  }

  private replayBuffered(): void {
    this.buffer.replay(
      () => this.epoch,
      (b) => this.receive(b),
    );
  }

  private checkRunning(): void {
    if (this.stopped || !this.current.isActive) {
      throw new DeliveryError('inactive', 'the session is stopped or no longer a member');
    }
  }

  private reject(e: unknown): void {
    this.events.emit('rejected', { error: toDeliveryError(e) });
  }
}
