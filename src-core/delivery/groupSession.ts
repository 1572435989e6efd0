/**
 * One member's live session in one group: it publishes our commits, proposals and messages on the
 * group channel, merges a commit only together with its ordering record, leads when elected
 * (heartbeats, ordering records, committing left-over proposals), re-makes the changes of a commit
 * that lost, holds messages of later epochs, and resolves forks within a bounded window. Every
 * input from the network goes through `receive`: bad or forged input is reported as a
 * `rejected` event with a typed DeliveryError and changes nothing.
 *
 * Public API (see README.md): `new GroupSession(options)`, `start()`, `stop()`, `receive(bytes)`,
 * `send(data)`, `add(keyPackages)`, `remove(leaves)`, `update()`, `leave()`, `on(event, fn)`,
 * and the read-only `group`, `epoch`, `term`, `leader`, `isLeader`, `channel`.
 */
import type { Group, GroupMember, KeyPackageInput, PendingCommit } from '../mls/client/index.js';
import { CodecError } from '../codec/index.js';
import { MlsError } from '../mls/errors.js';
import { SenderType } from '../mls/framing/sender.js';
import { WireFormat } from '../mls/framing/framedContent.js';
import { decodeMlsMessage } from '../mls/framing/mlsMessage.js';
import type { KeyPackage } from '../mls/keyPackage.js';
import { BranchHistory } from './branchHistory.js';
import type { BranchEntry } from './branchHistory.js';
import { groupChannel } from './channel.js';
import type { Change } from './changes.js';
import { describeChange, outstanding, planCommit } from './changes.js';
import { CommitSequencer } from './commitSequencer.js';
import type { GroupEnvelope } from './envelope.js';
import { EnvelopeKind, decodeEnvelope, encodeEnvelope } from './envelope.js';
import { DeliveryError } from './errors.js';
import { ForeignEvidence, lostChanges, membersAfter, wins } from './forks.js';
import type { Heartbeat } from './heartbeat.js';
import { signHeartbeat, verifyHeartbeat } from './heartbeat.js';
import type { ElectionTiming } from './leaderElection.js';
import { DEFAULT_ELECTION_TIMING, LeaderElection } from './leaderElection.js';
import type { OrderingRecord } from './orderingRecord.js';
import { bytesEqual, commitHash, verifyOrderingRecord } from './orderingRecord.js';
import type { ChannelPort, Clock, TimerHandle } from './ports.js';
import { EnvelopeBuffer } from './envelopeBuffer.js';
import type { MessageId, SessionEventName, SessionListener } from './sessionEvents.js';
import { SessionEmitter } from './sessionEvents.js';

export interface GroupSessionTiming extends ElectionTiming {
  /** How often the session checks its timers (heartbeat, election, retries). */
  readonly tickMs: number;
  /** How long the leader waits before committing proposals nobody else committed. */
  readonly proposalCommitDelayMs: number;
  /** How long a commit or proposal of ours waits for its epoch to move before we send it again. */
  readonly retryMs: number;
}

export const DEFAULT_SESSION_TIMING: GroupSessionTiming = {
  ...DEFAULT_ELECTION_TIMING,
  tickMs: 250,
  proposalCommitDelayMs: 500,
  retryMs: 2_000,
};

export interface GroupSessionOptions {
  /** The MLS group (created or joined), at its current epoch. The session owns it from now on. */
  readonly group: Group;
  readonly ports: { readonly clock: Clock; readonly channels: ChannelPort };
  readonly timing?: Partial<GroupSessionTiming>;
  /** Epochs whose states are kept as fork points (default 8). */
  readonly forkWindow?: number;
  /** Envelopes held for later epochs and from other branches (default 4096). */
  readonly bufferLimit?: number;
  /**
   * A fresh KeyPackage for a member to re-add after a fork (its one-time KeyPackage was used on
   * the losing branch). Wire it to the key-package directory; without it the old one is reused.
   */
  readonly freshKeyPackage?: (member: GroupMember) => KeyPackageInput | undefined;
  /** Election state to resume from (a restart); default: term 0, the lowest leaf. */
  readonly election?: { readonly term: bigint; readonly leader: number };
}

interface Candidate {
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

interface SentMessage {
  readonly id: MessageId;
  readonly data: Uint8Array;
  epoch: bigint;
}

function hexKey(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

function keyPackageOf(input: KeyPackageInput): KeyPackage {
  if (!(input instanceof Uint8Array)) return input;
  const m = decodeMlsMessage(input);
  if (m.wireFormat !== WireFormat.keyPackage) {
    throw new DeliveryError('invalid_argument', 'not a KeyPackage message');
  }
  return m.keyPackage;
}

function asDeliveryError(e: unknown): DeliveryError {
  if (e instanceof DeliveryError) return e;
  if (e instanceof MlsError) return new DeliveryError('mls_rejected', e.message, { cause: e });
  if (e instanceof CodecError) return new DeliveryError('decode_failed', e.message, { cause: e });
  return new DeliveryError('internal', e instanceof Error ? e.name : 'non-error thrown', {
    cause: e,
  });
}

export class GroupSession {
  readonly channel: string;
  private current: Group;
  private readonly clock: Clock;
  private readonly channels: ChannelPort;
  private readonly timing: GroupSessionTiming;
  private readonly events = new SessionEmitter();
  private readonly election: LeaderElection;
  private readonly sequencer: CommitSequencer;
  private readonly history: BranchHistory;
  private readonly evidence: ForeignEvidence;
  private readonly buffer: EnvelopeBuffer;
  private readonly freshKeyPackage: GroupSessionOptions['freshKeyPackage'];

  private readonly candidates = new Map<string, Candidate>();
  private readonly records = new Map<string, OrderingRecord>();
  private changes: Change[] = [];
  private inFlight: InFlight | undefined;
  private leaving: { envelope: Uint8Array | undefined; sentAt: number } | undefined;
  private sent: SentMessage[] = [];
  private held: SentMessage[] = [];
  /** After losing a fork: our messages wait until the losing branch's removals are made again. */
  private quarantine = false;
  private nextId: MessageId = 1;
  private lastHeartbeat = Number.NEGATIVE_INFINITY;
  private lastRepublish = Number.NEGATIVE_INFINITY;
  private behindReported = -1n;
  private unsubscribe: (() => void) | undefined;
  private timer: TimerHandle | undefined;
  private stopped = false;
  private replaying = false;

  constructor(options: GroupSessionOptions) {
    this.current = options.group;
    if (!this.current.isActive) throw new DeliveryError('inactive', 'the group is not active');
    this.clock = options.ports.clock;
    this.channels = options.ports.channels;
    this.timing = { ...DEFAULT_SESSION_TIMING, ...options.timing };
    this.channel = groupChannel(this.current.groupId);
    this.election = new LeaderElection(
      this.timing,
      this.current.ownLeaf,
      this.memberLeaves(),
      this.clock.now(),
    );
    if (options.election !== undefined) {
      this.election.reset(options.election.term, options.election.leader, this.clock.now());
    }
    this.sequencer = new CommitSequencer(this.current.epoch, this.timing.proposalCommitDelayMs);
    this.history = new BranchHistory(options.forkWindow ?? 8);
    const limit = options.bufferLimit ?? 4096;
    this.evidence = new ForeignEvidence(limit);
    this.buffer = new EnvelopeBuffer(limit);
    this.freshKeyPackage = options.freshKeyPackage;
  }

  // ---- Public API ---------------------------------------------------------------------------

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

  get isLeader(): boolean {
    return this.election.isLeader && this.leaving === undefined;
  }

  /** Whether the session runs (started, not stopped, still a member). */
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
    this.unsubscribe = this.channels.subscribe(this.channel, (m) => this.receive(m.data));
    this.schedule();
    if (this.election.isLeader) this.heartbeat();
  }

  /** Unsubscribes and stops the timers. The group state stays the caller's to store or destroy. */
  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  /** Stops and wipes every kept state (fork points, buffered plaintexts). */
  destroy(): void {
    this.stop();
    this.history.destroy();
    for (const m of [...this.sent, ...this.held]) m.data.fill(0);
    this.sent = [];
    this.held = [];
    this.current.destroy();
  }

  /** Sends application data to the group; returns its local id (for `notDelivered`). */
  send(data: Uint8Array): MessageId {
    this.checkRunning();
    const msg: SentMessage = { id: this.nextId++, data: data.slice(), epoch: this.epoch };
    if (this.quarantine) this.held.push(msg);
    else this.publishMessage(msg);
    return msg.id;
  }

  /** Adds members by KeyPackage: committed when the sequencer orders it, retried if it loses. */
  add(keyPackages: readonly KeyPackageInput[]): void {
    this.checkRunning();
    for (const kp of keyPackages) this.changes.push({ kind: 'add', keyPackage: keyPackageOf(kp) });
    this.tryCommit();
  }

  /** Removes members by leaf index (not ourselves: use `leave`). */
  remove(leaves: readonly number[]): void {
    this.checkRunning();
    const members = this.current.members();
    for (const leaf of leaves) {
      const m = members.find((x) => x.leafIndex === leaf);
      if (m === undefined || leaf === this.current.ownLeaf) {
        throw new DeliveryError('invalid_argument', `leaf ${leaf} is not another member`);
      }
      this.changes.push({ kind: 'remove', signatureKey: m.signatureKey });
    }
    this.tryCommit();
  }

  /** Fresh keys for our leaf (a commit with a path). */
  update(): void {
    this.checkRunning();
    this.changes.push({ kind: 'update' });
    this.tryCommit();
  }

  /** Leaves: a self-remove proposal, sent again each epoch until a commit removes us. */
  leave(): void {
    this.checkRunning();
    this.changes = [];
    this.leaving = { envelope: undefined, sentAt: this.clock.now() };
    this.proposeLeave();
  }

  /** Handles one envelope from the channel or from a sync. Never throws on bad input. */
  receive(bytes: Uint8Array): void {
    if (this.stopped) return;
    let env: GroupEnvelope;
    try {
      env = decodeEnvelope(bytes);
      if (!bytesEqual(env.groupId, this.current.groupId)) {
        throw new DeliveryError('wrong_group', 'envelope for another group');
      }
    } catch (e) {
      this.reject(e);
      return;
    }
    try {
      this.dispatch(env, bytes);
    } catch (e) {
      this.reject(e);
    }
  }

  // ---- Incoming ------------------------------------------------------------------------------

  private dispatch(env: GroupEnvelope, bytes: Uint8Array): void {
    if (env.kind === EnvelopeKind.heartbeat) return this.onHeartbeat(env.heartbeat);
    if (env.epoch > this.epoch) {
      this.buffer.future(env.epoch, bytes);
      this.reportBehind(env.epoch);
      return;
    }
    if (env.epoch < this.epoch) return this.onPast(env, bytes);
    switch (env.kind) {
      case EnvelopeKind.commit:
        return this.onCommit(env.mlsMessage, bytes);
      case EnvelopeKind.orderingRecord:
        return this.onRecord(env.record, bytes);
      case EnvelopeKind.proposal:
      case EnvelopeKind.application:
        return this.onMessage(env, bytes);
    }
  }

  private onCommit(mls: Uint8Array, bytes: Uint8Array): void {
    const hash = commitHash(this.current.state.suite, mls);
    const key = hexKey(hash);
    if (this.candidates.has(key)) return this.leaderStep();
    let event;
    try {
      event = this.current.process(mls);
    } catch (e) {
      // Maybe a commit of another branch at the same epoch number: kept for a branch switch.
      this.buffer.otherBranch(this.epoch, bytes);
      throw asDeliveryError(e);
    }
    if (event.kind !== 'commit') throw new DeliveryError('wrong_kind', 'not a commit');
    this.candidates.set(key, { pending: event.commit, hash, mls });
    this.sequencer.candidate(key);
    this.leaderStep();
    this.tryMerge(key);
  }

  private onRecord(record: OrderingRecord, bytes: Uint8Array): void {
    try {
      verifyOrderingRecord(this.current.state, record);
    } catch (e) {
      this.buffer.otherBranch(this.epoch, bytes);
      throw e;
    }
    const key = hexKey(record.commitHash);
    this.records.set(key, record);
    this.tryMerge(key);
  }

  private onMessage(env: GroupEnvelope, bytes: Uint8Array): void {
    if (env.kind !== EnvelopeKind.proposal && env.kind !== EnvelopeKind.application) return;
    let event;
    try {
      event = this.current.process(env.mlsMessage);
    } catch (e) {
      this.buffer.otherBranch(env.epoch, bytes);
      throw asDeliveryError(e);
    }
    if (event.kind === 'application') {
      const { sender, data, epoch, authenticatedData } = event;
      this.events.emit('message', { sender, data, epoch, authenticatedData });
    } else if (event.kind === 'proposal') {
      this.sequencer.proposalReceived(this.clock.now());
    }
  }

  /** An envelope of an epoch we passed: a late message, a duplicate, or another branch. */
  private onPast(env: GroupEnvelope, bytes: Uint8Array): void {
    if (env.kind === EnvelopeKind.application) return this.onMessage(env, bytes);
    if (env.kind === EnvelopeKind.proposal) return;
    const entry = this.history.at(env.epoch);
    let key: string;
    if (env.kind === EnvelopeKind.commit) {
      const hash = commitHash(this.current.state.suite, env.mlsMessage);
      if (entry !== undefined && bytesEqual(entry.commitHash, hash)) {
        // A member retrying a commit we already ordered: it missed the records since.
        this.republishBranch();
        return;
      }
      key = hexKey(hash);
      this.evidence.addCommit(key, env.mlsMessage);
    } else if (env.kind === EnvelopeKind.orderingRecord) {
      if (entry !== undefined && bytesEqual(entry.commitHash, env.record.commitHash)) return;
      key = hexKey(env.record.commitHash);
      this.evidence.addRecord(key, env.record);
    } else {
      return;
    }
    this.buffer.otherBranch(env.epoch, bytes);
    this.resolveFork(env.epoch, key);
  }

  private onHeartbeat(hb: Heartbeat): void {
    if (hb.epoch > this.epoch) return this.reportBehind(hb.epoch);
    if (hb.epoch < this.epoch) {
      // A leader behind us: on our branch it is missing commits; on another, a fork. Either way
      // it needs our branch.
      this.republishBranch();
      return;
    }
    if (!bytesEqual(hb.head, this.history.head())) return this.republishBranch();
    verifyHeartbeat(this.current.state, hb);
    const seen = this.election.observe(hb.term, hb.leaderLeaf, this.clock.now());
    if (seen === 'stale') throw new DeliveryError('stale_term', `heartbeat of term ${hb.term}`);
    if (seen === 'not_leader') throw new DeliveryError('not_leader', `leaf ${hb.leaderLeaf}`);
    if (seen === 'adopted') this.leaderChanged();
  }

  // ---- Merging -------------------------------------------------------------------------------

  private tryMerge(key: string): void {
    const candidate = this.candidates.get(key);
    const record = this.records.get(key);
    if (candidate === undefined || record === undefined) return;
    const seen = this.election.observe(record.term, record.leaderLeaf, this.clock.now());
    if (seen === 'stale' || seen === 'not_leader') {
      this.records.delete(key);
      throw new DeliveryError(
        seen === 'stale' ? 'stale_term' : 'not_leader',
        `ordering record of term ${record.term} by leaf ${record.leaderLeaf}`,
      );
    }
    if (seen === 'adopted') this.leaderChanged();
    this.merge(candidate, record);
  }

  private merge(candidate: Candidate, record: OrderingRecord): void {
    const group = this.current;
    const before = group.members();
    const { pending } = candidate;
    const entry: BranchEntry = {
      epoch: group.epoch,
      term: record.term,
      leaderLeaf: record.leaderLeaf,
      commitHash: candidate.hash,
      commitEnvelope: this.envelope(EnvelopeKind.commit, candidate.mls),
      recordEnvelope: encodeEnvelope({
        groupId: group.groupId,
        epoch: group.epoch,
        kind: EnvelopeKind.orderingRecord,
        record,
      }),
      membersAfter: membersAfter(group, pending),
      removed: pending.removed.flatMap((leaf) => before.filter((m) => m.leafIndex === leaf)),
      added: pending.added.map((member, i) => ({
        member,
        keyPackage: pending.staged.added[i]!.keyPackage,
      })),
      forkPoint: undefined,
    };
    const committer =
      pending.committer.senderType === SenderType.member ? pending.committer.leafIndex : undefined;
    const removesUs = pending.removesUs;
    entry.forkPoint = group.merge(pending, { keepPrevious: true });
    this.history.push(entry);
    this.afterEpochChange(entry, committer);
    if (removesUs) return this.removedFromGroup();
    this.replayBuffered();
    this.tryCommit();
    this.proposeLeave();
  }

  /** Bookkeeping shared by a merge and a branch switch, once `current` is at the new epoch. */
  private afterEpochChange(entry: BranchEntry, committer: number | undefined): void {
    const flight = this.inFlight;
    this.inFlight = undefined;
    if (flight !== undefined) {
      if (flight.key === hexKey(entry.commitHash)) {
        this.changes = this.changes.filter((c) => !flight.covers.includes(c));
        if (flight.welcome !== undefined) {
          this.events.emit('welcome', {
            welcome: flight.welcome,
            added: entry.added.map((a) => a.member),
          });
        }
      } else {
        this.events.emit('commitLost', { epoch: entry.epoch });
      }
    }
    this.candidates.clear();
    this.records.clear();
    this.sequencer.newEpoch(this.epoch);
    if (this.leaving !== undefined) this.leaving.envelope = undefined;
    if (
      this.current.isActive &&
      this.election.membersChanged(this.memberLeaves(), this.clock.now())
    ) {
      this.leaderChanged();
    }
    const oldest = this.history.all()[0]?.epoch ?? this.epoch;
    for (const m of this.sent) if (m.epoch < oldest) m.data.fill(0);
    this.sent = this.sent.filter((m) => m.epoch >= oldest);
    this.events.emit('epoch', {
      epoch: this.epoch,
      committer,
      commitHash: entry.commitHash,
      term: entry.term,
    });
    this.events.emit('membership', {
      epoch: this.epoch,
      added: entry.added.map((a) => a.member),
      removed: entry.removed,
      updated: [],
    });
    if (this.quarantine && this.current.isActive) {
      const open = outstanding(this.current, this.changes).some((c) => c.kind === 'remove');
      if (!open) {
        this.quarantine = false;
        const held = this.held;
        this.held = [];
        for (const m of held) this.publishMessage(m);
      }
    }
  }

  private removedFromGroup(): void {
    this.events.emit('removed', { epoch: this.epoch });
    for (const m of this.held) this.events.emit('notDelivered', { id: m.id, reason: 'removed' });
    this.held = [];
    this.stop();
  }

  private replayBuffered(): void {
    if (this.replaying) return;
    this.replaying = true;
    try {
      for (let more = true; more && !this.stopped;) {
        more = false;
        const epoch = this.epoch;
        for (const bytes of this.buffer.takeFuture(epoch)) {
          this.receive(bytes);
          if (this.epoch !== epoch) {
            more = true;
            break;
          }
        }
      }
    } finally {
      this.replaying = false;
    }
  }

  // ---- Forks ---------------------------------------------------------------------------------

  /**
   * Both a record and a commit of another branch for `epoch` are here: decide by the fork rule,
   * and switch branches if ours lost. Throws DeliveryError for evidence that does not check out.
   */
  private resolveFork(epoch: bigint, key: string): void {
    const found = this.evidence.complete(key);
    if (found === undefined) return;
    const entry = this.history.at(epoch);
    const forkPoint = entry?.forkPoint;
    if (entry === undefined || forkPoint === undefined) {
      this.evidence.forget(key);
      const oldest = this.history.all()[0]?.epoch;
      if (oldest !== undefined && epoch < oldest) {
        const error = new DeliveryError(
          'rejoin_needed',
          `fork at epoch ${epoch} is past the window`,
        );
        this.events.emit('rejoinNeeded', { forkEpoch: epoch, error });
        for (const m of this.sent)
          this.events.emit('notDelivered', { id: m.id, reason: 'rejoin_needed' });
      }
      return;
    }
    const { record, commit } = found;
    verifyOrderingRecord(forkPoint.state, record);
    let event;
    try {
      event = forkPoint.process(commit);
    } catch (e) {
      // Not a commit of this fork point: another branch's later epoch, kept in the buffer.
      this.evidence.forget(key);
      throw asDeliveryError(e);
    }
    if (event.kind !== 'commit') throw new DeliveryError('wrong_kind', 'not a commit');
    this.evidence.forget(key);
    const theirs = {
      membersAfter: membersAfter(forkPoint, event.commit),
      term: record.term,
      commitHash: record.commitHash,
    };
    if (wins(entry, theirs)) {
      forkPoint.discard(event.commit);
      this.events.emit('fork', {
        forkEpoch: epoch,
        won: true,
        reproposedRemovals: 0,
        reproposedAdds: 0,
        resent: 0,
      });
      this.republishBranch();
      return;
    }
    this.switchBranch(
      entry,
      forkPoint,
      { pending: event.commit, hash: record.commitHash, mls: commit },
      record,
    );
  }

  private switchBranch(
    entry: BranchEntry,
    forkPoint: Group,
    winner: Candidate,
    record: OrderingRecord,
  ): void {
    const lost = this.history.cut(entry.epoch);
    const { removals, adds } = lostChanges(lost);
    const readds = adds.map((c): Change => {
      if (c.kind !== 'add' || this.freshKeyPackage === undefined) return c;
      const member = lost.flatMap((e) => e.added).find((a) => a.keyPackage === c.keyPackage);
      const fresh = member === undefined ? undefined : this.freshKeyPackage(member.member);
      return fresh === undefined ? c : { kind: 'add', keyPackage: keyPackageOf(fresh) };
    });
    const losing = this.current;
    const resend = this.sent.filter((m) => m.epoch > entry.epoch);
    this.sent = this.sent.filter((m) => m.epoch <= entry.epoch);
    this.current = forkPoint;
    entry.forkPoint = undefined;
    losing.destroy();
    this.election.reset(record.term, record.leaderLeaf, this.clock.now());
    this.candidates.clear();
    this.records.clear();
    this.changes = [...removals, ...readds, ...this.changes];
    this.quarantine = removals.length > 0;
    this.held = [...resend, ...this.held];
    this.inFlight = undefined;
    this.events.emit('fork', {
      forkEpoch: entry.epoch,
      won: false,
      reproposedRemovals: removals.length,
      reproposedAdds: readds.length,
      resent: resend.length,
    });
    this.sequencer.newEpoch(this.epoch);
    const key = hexKey(winner.hash);
    this.candidates.set(key, winner);
    this.records.set(key, record);
    this.merge(winner, record);
    if (this.stopped) return;
    this.leaderChanged();
    for (const bytes of this.buffer.takeOtherBranch(entry.epoch)) this.receive(bytes);
    this.replayBuffered();
    this.tryCommit();
  }

  /** As leader: publish the commits and records of our kept branch, for the other side. */
  private republishBranch(): void {
    if (!this.isLeader) return;
    const now = this.clock.now();
    if (now - this.lastRepublish < this.timing.heartbeatMs) return;
    this.lastRepublish = now;
    for (const e of this.history.all()) {
      this.publish(e.commitEnvelope, e.epoch, EnvelopeKind.commit);
      this.publish(e.recordEnvelope, e.epoch, EnvelopeKind.orderingRecord);
    }
  }

  // ---- Leading -------------------------------------------------------------------------------

  /** As leader: order the first valid commit of the epoch, or commit left-over proposals. */
  private leaderStep(): void {
    if (!this.isLeader || this.stopped) return;
    const record = this.sequencer.order(
      this.current.state,
      this.election.term,
      (key) => this.candidates.get(key)?.hash,
    );
    if (record === undefined) return;
    const key = this.sequencer.acceptedKey!;
    const env = encodeEnvelope({
      groupId: this.current.groupId,
      epoch: this.epoch,
      kind: EnvelopeKind.orderingRecord,
      record,
    });
    this.publish(env, this.epoch, EnvelopeKind.orderingRecord);
    if (!this.records.has(key)) {
      this.records.set(key, record);
      this.tryMerge(key);
    }
  }

  private heartbeat(): void {
    const hb = signHeartbeat(this.current.state, this.election.term, this.history.head());
    this.lastHeartbeat = this.clock.now();
    const env = encodeEnvelope({
      groupId: this.current.groupId,
      epoch: this.epoch,
      kind: EnvelopeKind.heartbeat,
      heartbeat: hb,
    });
    this.publish(env, this.epoch, EnvelopeKind.heartbeat);
  }

  private leaderChanged(): void {
    const self = this.election.isLeader;
    this.events.emit('leader', { term: this.election.term, leader: this.election.leader, self });
    if (self) {
      if (this.current.state.proposals.size > 0) this.sequencer.proposalReceived(this.clock.now());
      this.heartbeat();
      this.leaderStep();
    } else if (this.inFlight !== undefined) {
      // The new leader may never have seen our commit.
      this.inFlight.sentAt = this.clock.now();
      this.publish(this.inFlight.envelope, this.epoch, EnvelopeKind.commit);
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
    if (this.isLeader) {
      if (now - this.lastHeartbeat >= this.timing.heartbeatMs) this.heartbeat();
      if (this.sequencer.shouldCommitProposals(now, this.current.state.proposals.size)) {
        try {
          this.commitOwn(this.current.commit(), []);
        } catch (e) {
          // Wait for the next proposal rather than failing again every tick.
          this.sequencer.newEpoch(this.epoch);
          throw e;
        }
      }
    } else if (this.leaving === undefined) {
      const deadline = this.election.claimDeadline(this.memberLeaves());
      if (deadline !== undefined && now >= deadline) {
        this.election.claim(now);
        this.leaderChanged();
      }
    }
    if (this.inFlight !== undefined && now - this.inFlight.sentAt >= this.timing.retryMs) {
      this.inFlight.sentAt = now;
      this.publish(this.inFlight.envelope, this.epoch, EnvelopeKind.commit);
    }
    if (this.leaving !== undefined && now - this.leaving.sentAt >= this.timing.retryMs) {
      this.leaving.envelope = undefined;
      this.proposeLeave();
    }
  }

  // ---- Outgoing ------------------------------------------------------------------------------

  /** Makes the next commit for our outstanding changes, unless one of ours is already out. */
  private tryCommit(): void {
    if (this.stopped || this.inFlight !== undefined || this.leaving !== undefined) return;
    let planned;
    try {
      planned = planCommit(this.current, this.changes);
    } catch (e) {
      if (!(e instanceof MlsError)) throw e;
      const todo = outstanding(this.current, this.changes);
      const bad = todo[0];
      this.changes = this.changes.filter((c) => c !== bad);
      this.events.emit('changeFailed', { change: bad ? describeChange(bad) : 'commit', error: e });
      return;
    }
    if (planned === undefined) {
      this.changes = outstanding(this.current, this.changes);
      return;
    }
    this.commitOwn(planned.outgoing, planned.covers);
  }

  private commitOwn(
    out: { commit: Uint8Array; welcome: Uint8Array | undefined; pending: PendingCommit },
    covers: readonly Change[],
  ): void {
    const hash = commitHash(this.current.state.suite, out.commit);
    const key = hexKey(hash);
    const envelope = this.envelope(EnvelopeKind.commit, out.commit);
    this.inFlight = { key, covers, welcome: out.welcome, envelope, sentAt: this.clock.now() };
    this.candidates.set(key, { pending: out.pending, hash, mls: out.commit });
    this.sequencer.candidate(key);
    this.publish(envelope, this.epoch, EnvelopeKind.commit);
    this.leaderStep();
  }

  private proposeLeave(): void {
    if (this.leaving === undefined || this.stopped || this.leaving.envelope !== undefined) return;
    const proposal = this.current.leave();
    this.leaving.envelope = this.envelope(EnvelopeKind.proposal, proposal.message);
    this.leaving.sentAt = this.clock.now();
    this.publish(this.leaving.envelope, this.epoch, EnvelopeKind.proposal);
  }

  private publishMessage(msg: SentMessage): void {
    msg.epoch = this.epoch;
    const mls = this.current.send(msg.data);
    this.sent.push(msg);
    this.publish(
      this.envelope(EnvelopeKind.application, mls),
      this.epoch,
      EnvelopeKind.application,
      msg.id,
    );
  }

  private envelope(
    kind:
      typeof EnvelopeKind.commit | typeof EnvelopeKind.proposal | typeof EnvelopeKind.application,
    mlsMessage: Uint8Array,
  ): Uint8Array {
    return encodeEnvelope({ groupId: this.current.groupId, epoch: this.epoch, kind, mlsMessage });
  }

  private publish(envelope: Uint8Array, epoch: bigint, kind: EnvelopeKind, id?: MessageId): void {
    this.events.emit('published', { envelope, epoch, kind });
    this.channels.publish(this.channel, envelope).catch((error: unknown) => {
      this.events.emit('sendFailed', {
        id,
        error: error instanceof Error ? error : new Error(String(error)),
      });
    });
  }

  // ---- Helpers -------------------------------------------------------------------------------

  private memberLeaves(): number[] {
    return this.current.members().map((m) => m.leafIndex);
  }

  private reportBehind(epoch: bigint): void {
    if (epoch <= this.behindReported) return;
    this.behindReported = epoch;
    this.events.emit('behind', { epoch: this.epoch, seen: epoch });
  }

  private checkRunning(): void {
    if (this.stopped || !this.current.isActive) {
      throw new DeliveryError('inactive', 'the session is stopped or no longer a member');
    }
  }

  private reject(e: unknown): void {
    this.events.emit('rejected', { error: asDeliveryError(e) });
  }
}
