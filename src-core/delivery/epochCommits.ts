/**
 * The member side of ordering at one epoch: the commits and the ordering records seen for the
 * session's current epoch, paired by commit hash. A commit is merged only together with its record
 * (the host's `merge`); a commit MLS cannot take although it was ordered sends us to a rejoin.
 * Everything here is forgotten when the epoch changes (`clear`).
 */
import type { Group, PendingCommit } from '../mls/client/index.js';
import { MlsError } from '../mls/errors.js';
import type { CommitSequencer } from './commitSequencer.js';
import type { EnvelopeBuffer } from './envelopeBuffer.js';
import { DeliveryError } from './errors.js';
import type { ExternalRejoin } from './externalRejoin.js';
import type { Observation } from './leaderElection.js';
import type { OrderingRecord } from './orderingRecord.js';
import { commitHash, hashKey, verifyOrderingRecord } from './orderingRecord.js';
import type { Outbox } from './outbox.js';
import type { Candidate } from './ownChanges.js';
import type { Clock } from './ports.js';
import type { Rejoins } from './rejoin.js';
import type { SessionReports } from './sessionReports.js';

/** What the session lends to its epoch's commit state. */
export interface EpochCommitsHost {
  readonly clock: Clock;
  readonly buffer: EnvelopeBuffer;
  readonly reports: SessionReports;
  readonly outbox: Outbox;
  readonly rejoins: Rejoins;
  group(): Group;
  sequencer(): CommitSequencer;
  external(): ExternalRejoin;
  /** The election's view of a record's leader (on `adopted` the session has followed the change). */
  observe(record: OrderingRecord): Observation;
  /** Merges an ordered commit (the old epoch kept as a fork point). */
  merge(candidate: Candidate, record: OrderingRecord): void;
}

export class EpochCommits {
  private readonly candidates = new Map<string, Candidate>();
  private readonly records = new Map<string, OrderingRecord>();
  /** Commits of this epoch MLS refused as already seen (see onCommit). */
  private readonly unfollowable = new Set<string>();

  constructor(private readonly host: EpochCommitsHost) {}

  /** A commit envelope of the current epoch. Throws a typed error on bad input. */
  onCommit(mls: Uint8Array, bytes: Uint8Array): void {
    const { host } = this;
    const current = host.group();
    const hash = commitHash(current.state.suite, mls);
    const key = hashKey(hash);
    // Seen already: a member sending it again has missed the record; as leader, send it again.
    if (this.candidates.has(key)) return host.sequencer().step(true);
    let event;
    try {
      event = current.process(mls);
    } catch (e) {
      // Key already used: our own commit, or one staged before a restart (see checkFollowable).
      // Our own commit whose key use was not stored before a restart MLS reads but cannot take
      // ('own_message': its staged commit is gone): the same case, the app hits it.
      if (e instanceof MlsError && (e.code === 'key_already_used' || e.code === 'own_message')) {
        this.unfollowable.add(key);
        this.checkFollowable(key);
      }
      // Perhaps a commit of another branch at the same epoch number: kept for a branch switch.
      host.buffer.otherBranch(current.epoch, bytes);
      throw e;
    }
    if (event.kind !== 'commit') throw new DeliveryError('wrong_kind', 'not a commit');
    host.external().check(current, event.commit); // an external commit only as a resync
    this.candidate(key, { pending: event.commit, hash, mls });
    this.tryMerge(key);
  }

  /** An ordering record of the current epoch. Throws a typed error on bad input. */
  onRecord(record: OrderingRecord, bytes: Uint8Array): void {
    const current = this.host.group();
    try {
      verifyOrderingRecord(current.state, record);
    } catch (e) {
      this.host.buffer.otherBranch(current.epoch, bytes);
      throw e;
    }
    // The election sees it only with its commit (tryMerge): another branch's record never counts.
    const key = hashKey(record.commitHash);
    this.records.set(key, record);
    this.checkFollowable(key);
    this.tryMerge(key);
  }

  /** A commit of ours (or to make again) of this epoch: a candidate for the sequencer too. */
  candidate(key: string, candidate: Candidate): void {
    this.candidates.set(key, candidate);
    const sequencer = this.host.sequencer();
    sequencer.candidate(key);
    sequencer.step(false);
  }

  candidateHash(key: string): Uint8Array | undefined {
    return this.candidates.get(key)?.hash;
  }

  /** Our own record, as leader (one we have already is kept). */
  ordered(key: string, record: OrderingRecord): void {
    if (this.records.has(key)) return;
    this.records.set(key, record);
    this.tryMerge(key);
  }

  /** Merges the winner of a fork, as if it had arrived with its record. */
  mergeOrdered(winner: Candidate, record: OrderingRecord): void {
    const key = hashKey(winner.hash);
    this.candidates.set(key, winner);
    this.records.set(key, record);
    this.host.merge(winner, record);
  }

  /** The other commits seen at this epoch than `candidate` (kept with a fork point). */
  *othersThan(candidate: Candidate): Iterable<[string, PendingCommit]> {
    for (const [k, c] of this.candidates) if (c !== candidate) yield [k, c.pending];
  }

  /** Forgets the commits, records and unfollowable commits seen at the epoch we leave. */
  clear(): void {
    this.candidates.clear();
    this.records.clear();
    this.unfollowable.clear();
  }

  /** The ordered commit is one we cannot process (see onCommit): only a rejoin gets us on. */
  private checkFollowable(key: string): void {
    const record = this.records.get(key);
    if (record === undefined || !this.unfollowable.has(key)) return;
    const { host } = this;
    const why = 'its ordered commit was staged before (ours, or a restart)';
    host.reports.rejoin(host.group().epoch, why, host.outbox.unsettled());
    // We rejoin by external commit (on the report), or our heartbeat here asks for a re-add.
    if (host.external().enabled || !host.rejoins.beatDue(host.clock.now())) return;
    host.sequencer().heartbeat();
  }

  private tryMerge(key: string): void {
    const candidate = this.candidates.get(key);
    const record = this.records.get(key);
    if (candidate === undefined || record === undefined) return;
    // An older term's record is merged without moving the election (catching up meets earlier
    // terms; a conflicting newer one wins by the fork rule); a same-term non-leader is refused.
    if (this.host.observe(record) === 'not_leader') {
      this.records.delete(key);
      throw new DeliveryError(
        'not_leader',
        `record of term ${record.term} by ${record.leaderLeaf}`,
      );
    }
    this.host.merge(candidate, record);
  }
}
