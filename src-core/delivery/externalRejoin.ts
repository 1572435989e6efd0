/**
 * Rejoining by external commit (RFC 9420 §12.4.3.2, "resync"), both sides.
 *
 * The stuck member: a session that cannot follow its group any more (the ordered commit of its
 * epoch is one MLS cannot process: its own, staged before a restart, or another branch's; or a
 * fork older than its window) fetches a GroupInfo of the group's current epoch from a member peer
 * (groupInfoService.ts), makes an external commit that removes its own old leaf and takes a new
 * one with the same credential and signature key (mls/client/rejoin.ts), and publishes it on the
 * group channel like any commit. The leader orders it like any commit; once the ordering record
 * naming it arrives (verified against the leader's leaf in the GroupInfo's tree), the session
 * continues from the new group state. Another commit ordered at that epoch, or no record within
 * two election timeouts, and it tries again from a fresh GroupInfo.
 *
 * Everyone else (the leader before ordering, every member before merging): an external commit is
 * accepted only as a resync, i.e. it removes exactly one leaf and the joiner is the member of that
 * leaf (`sameMember`, default: the same leaf signature key, which only that member can sign with).
 * A stranger who got hold of a GroupInfo cannot join, nor remove anyone: 'external_commit_refused'.
 *
 * Trust: the GroupInfo must be signed by a member our stuck state knows (its tree), since anyone
 * can make up a GroupInfo with a tree of its own. A member we knew could still lure us into a
 * group it made up under the same id; it could as well send garbage to the real one.
 */
import type { Group, GroupMember, PendingCommit, PendingRejoin } from '../mls/client/index.js';
import { rejoinGroup } from '../mls/client/index.js';
import { WireFormat } from '../mls/framing/framedContent.js';
import { decodeMlsMessage } from '../mls/framing/mlsMessage.js';
import { decode, encode } from '../codec/index.js';
import { ExtensionType } from '../mls/extension.js';
import { ratchetTreeCodec } from '../mls/ratchetTreeExtension.js';
import type { GroupEnvelope } from './envelope.js';
import { EnvelopeKind, encodeEnvelope } from './envelope.js';
import { DeliveryError } from './errors.js';
import type { OrderingRecord } from './orderingRecord.js';
import {
  ORDERING_RECORD_LABEL,
  bytesEqual,
  commitHash,
  compareBytes,
  orderingRecordTBSCodec,
} from './orderingRecord.js';
import type { BranchHistory } from './branchHistory.js';
import type { Outbox } from './outbox.js';
import type { OwnChanges } from './ownChanges.js';
import type { Clock } from './ports.js';
import type { SessionEmitter } from './sessionEvents.js';

export interface ExternalRejoinOptions {
  /**
   * GroupInfos (MLSMessage bytes) of the group's current epoch from member peers (peers on
   * different branches give different ones): `fetchGroupInfo` (groupInfoService.ts) over the
   * channel's subscribers.
   */
  readonly fetchGroupInfo: (group: Group) => Promise<readonly Uint8Array[]>;
  /**
   * Whether `joiner` may take `removed`'s place (both as the trees show them). Default: the same
   * leaf signature key. The app may widen it to the same user and device (a reinstalled device
   * with a new key); the MLS credential validator sees the same pair (`previous`).
   */
  readonly sameMember?: (removed: GroupMember, joiner: GroupMember) => boolean;
}

export const sameSignatureKey = (removed: GroupMember, joiner: GroupMember): boolean =>
  bytesEqual(removed.signatureKey, joiner.signatureKey);

/**
 * Throws DeliveryError('external_commit_refused') unless `pending` (processed on `current`) is a
 * member's commit or a resync: an external commit that removes one leaf, whose member `joiner` is.
 */
export function checkExternalCommit(
  current: Group,
  pending: PendingCommit,
  sameMember: (removed: GroupMember, joiner: GroupMember) => boolean = sameSignatureKey,
): void {
  const joiner = pending.joiner;
  if (joiner === undefined) return;
  const [leaf, ...more] = pending.removed;
  if (leaf === undefined || more.length > 0) {
    throw new DeliveryError(
      'external_commit_refused',
      'an external commit must remove the joiner’s own old leaf (joins are by Add)',
    );
  }
  const removed = current.members().find((m) => m.leafIndex === leaf);
  if (removed === undefined || !sameMember(removed, joiner)) {
    throw new DeliveryError(
      'external_commit_refused',
      `an external commit removing leaf ${leaf} by someone else`,
    );
  }
}

/** What the rejoin needs of the session: its parts, and the steps only the session can take. */
export interface RejoinHost {
  readonly clock: Clock;
  readonly outbox: Outbox;
  readonly own: OwnChanges;
  readonly history: BranchHistory;
  readonly events: SessionEmitter;
  group(): Group;
  stopped(): boolean;
  /**
   * Continue from `group` (our leaf may have moved) under the record's term: a new election, the
   * per-epoch commit state cleared, nothing known before `group`'s epoch; the stuck state is
   * destroyed. A member rejoining claims no term meanwhile (`active`).
   */
  replaceGroup(group: Group, record: OrderingRecord): void;
  leaderChanged(): void;
  replayBuffered(): void;
  /** An error of an attempt (a bad GroupInfo, a failed fetch), reported as `rejected`. */
  reject(e: unknown): void;
}

interface Attempt {
  readonly pending: PendingRejoin;
  readonly hash: Uint8Array;
  readonly envelope: Uint8Array;
  readonly startedAt: number;
  sentAt: number;
}

export class ExternalRejoin {
  /** Since when we know we cannot follow (undefined: we can). */
  private stuckSince: number | undefined;
  /** The earliest epoch reported stuck: our messages from it on may have reached nobody. */
  private stuckEpoch: bigint | undefined;
  /** Stuck for sure (our ordered commit cannot be processed), not only by unverified evidence. */
  private definite = false;
  private fetching = false;
  private lastFetch = Number.NEGATIVE_INFINITY;
  private attempt: Attempt | undefined;

  constructor(
    private readonly host: RejoinHost,
    private readonly options: ExternalRejoinOptions | undefined,
    private readonly timing: { readonly retryMs: number; readonly electionTimeoutMs: number },
  ) {}

  /** Whether this session rejoins by external commit (else a leader's re-add is the fallback). */
  get enabled(): boolean {
    return this.options !== undefined;
  }

  /** Whether a rejoin is under way (we are stuck). */
  get active(): boolean {
    return this.stuckSince !== undefined;
  }

  /** The rule every member applies to external commits. */
  check(current: Group, pending: PendingCommit): void {
    try {
      checkExternalCommit(current, pending, this.options?.sameMember);
    } catch (e) {
      current.discard(pending);
      throw e;
    }
  }

  /**
   * A `rejoinNeeded` report at `epoch`: we cannot follow the group from our state. At our own
   * epoch the report is definite (its ordered commit is one we cannot process), so any GroupInfo
   * of a later epoch will do. Otherwise (evidence of another branch older than our window, which
   * cannot be verified) we move only to a branch that members still serve an election timeout
   * later, and if none does within `GIVE_UP_TIMEOUTS` election timeouts we stay: see
   * `onGroupInfos`. A member merely behind catches up by sync well within that delay, and moving
   * on by any merge cancels the rejoin.
   */
  stuck(epoch: bigint): void {
    if (this.options === undefined) return;
    this.stuckSince ??= this.host.clock.now();
    this.definite ||= epoch === this.host.group().epoch;
    if (this.stuckEpoch === undefined || epoch < this.stuckEpoch) this.stuckEpoch = epoch;
  }

  /** The session moved on by itself (merged a commit, switched branch): nothing to rejoin. */
  cancel(): void {
    this.stuckSince = undefined;
    this.stuckEpoch = undefined;
    this.definite = false;
    this.drop();
  }

  /** Timers: send our commit again, give it up when nothing ordered it, fetch again. */
  tick(now: number): void {
    if (this.stuckSince === undefined || this.host.stopped()) return;
    const a = this.attempt;
    if (a !== undefined) {
      if (now - a.startedAt >= 2 * this.timing.electionTimeoutMs) return this.drop();
      if (now - a.sentAt >= this.timing.retryMs) {
        a.sentAt = now;
        this.host.outbox.publish(a.envelope, a.pending.commitEpoch, EnvelopeKind.commit);
      }
      return;
    }
    const waited = now - this.stuckSince;
    if (waited < this.timing.electionTimeoutMs) return;
    if (!this.definite && waited > GIVE_UP_TIMEOUTS * this.timing.electionTimeoutMs) {
      return this.cancel(); // no member served another branch: we stay on ours
    }
    if (this.fetching || now - this.lastFetch < this.timing.retryMs) return;
    this.fetching = true;
    this.lastFetch = now;
    const group = this.host.group();
    this.options!.fetchGroupInfo(group)
      .then((infos) => {
        this.fetching = false;
        this.onGroupInfos(group, infos);
      })
      .catch((e: unknown) => {
        this.fetching = false;
        this.host.reject(e);
      });
  }

  /**
   * An envelope for the epoch of our pending commit: the record naming it makes us rejoin, a
   * record naming another commit means ours lost. Returns true when it was ours to handle.
   */
  intercept(env: GroupEnvelope): boolean {
    const a = this.attempt;
    if (a === undefined || env.epoch !== a.pending.commitEpoch) return false;
    if (!bytesEqual(env.groupId, a.pending.groupId)) return false;
    if (env.kind === EnvelopeKind.commit) {
      return bytesEqual(commitHash(this.host.group().state.suite, env.mlsMessage), a.hash);
    }
    if (env.kind !== EnvelopeKind.orderingRecord) return false;
    const record = env.record;
    const ours = bytesEqual(record.commitHash, a.hash);
    if (!this.verifies(a.pending, record)) {
      if (ours) throw new DeliveryError('invalid_signature', 'record for our rejoin');
      return false;
    }
    if (!ours) {
      // Another commit took that epoch: ours can never be ordered. A fresh GroupInfo next tick.
      this.drop();
      this.lastFetch = Number.NEGATIVE_INFINITY;
      return false;
    }
    this.attempt = undefined;
    this.finish(a.pending.merge(), record);
    return true;
  }

  /**
   * Our commit was ordered: the session continues from the new state. Our messages since we got
   * stuck are encrypted again there (they may have reached nobody; readers drop copies by their
   * id, and one who joined since never gets them: `notDelivered`), after our own removals are
   * made again if any are outstanding (the outbox's quarantine, as after a lost fork).
   */
  private finish(group: Group, record: OrderingRecord): void {
    const { host } = this;
    const since = this.stuckEpoch ?? host.group().epoch;
    this.stuckSince = undefined;
    this.stuckEpoch = undefined;
    this.definite = false;
    // The window's fork points belong to the branch we left.
    for (const e of host.history.cut(0n)) e.forkPoint?.destroy();
    host.replaceGroup(group, record);
    const quarantine = host.own.removalsOutstanding(group);
    host.outbox.rollBack(since - 1n, quarantine);
    const { epoch } = group;
    host.events.emit('epoch', {
      epoch,
      committer: undefined,
      commitHash: record.commitHash,
      term: record.term,
    });
    host.events.emit('rejoined', { epoch, stuckAt: since });
    host.leaderChanged();
    host.outbox.release(group, quarantine);
    host.replayBuffered();
    if (!host.stopped()) host.own.next(group);
  }

  /** The record is signed by the leaf it names, in the tree of the epoch our commit was made in. */
  private verifies(pending: PendingRejoin, record: OrderingRecord): boolean {
    const leader = pending.memberBefore(record.leaderLeaf);
    if (leader === undefined || record.epoch !== pending.commitEpoch) return false;
    return this.host
      .group()
      .state.suite.verifyWithLabel(
        leader.signatureKey,
        ORDERING_RECORD_LABEL,
        encode(orderingRecordTBSCodec, record),
        record.signature,
      );
  }

  /**
   * Chooses the GroupInfo to rejoin from. Definite: the latest epoch past ours. Otherwise any
   * state other than ours, the best by `beats`: a member within its window judged the fork by
   * the fork rule when the evidence reached it, and a loser rolled back at once; a member still
   * serving another branch an election timeout later is on the winner, or is past its window too
   * (then it is rejoining as well and serves nothing: GroupSession.isRejoining). Two sides both
   * past their windows therefore stay apart, reported (`rejoinNeeded`) but not resolved.
   */
  private onGroupInfos(group: Group, infos: readonly Uint8Array[]): void {
    // Stale: we moved on (or rejoined) while the fetch was out.
    if (this.stuckSince === undefined || this.host.stopped() || this.host.group() !== group) return;
    if (this.attempt !== undefined || !group.isActive) return;
    const ours = stateOf(group);
    let best: { readonly bytes: Uint8Array; readonly state: BranchState } | undefined;
    for (const bytes of infos) {
      const state = groupInfoState(bytes);
      if (state === undefined) continue;
      const other = state.epoch !== ours.epoch || !bytesEqual(state.transcript, ours.transcript);
      const good = this.definite ? state.epoch > ours.epoch : other;
      if (good && (best === undefined || beats(state, best.state))) best = { bytes, state };
    }
    if (best === undefined) return; // peers as stuck as we are, or on our branch: ask again
    try {
      const out = rejoinGroup(group, best.bytes);
      const epoch = out.pending.commitEpoch;
      const envelope = encodeEnvelope({
        groupId: group.groupId,
        epoch,
        kind: EnvelopeKind.commit,
        mlsMessage: out.commit,
      });
      const now = this.host.clock.now();
      this.attempt = {
        pending: out.pending,
        hash: commitHash(group.state.suite, out.commit),
        envelope,
        startedAt: now,
        sentAt: now,
      };
      this.host.outbox.publish(envelope, epoch, EnvelopeKind.commit);
    } catch (e) {
      this.host.reject(e);
    }
  }

  private drop(): void {
    this.attempt?.pending.discard();
    this.attempt = undefined;
  }
}

/** How long unverified evidence keeps us looking for a better branch (election timeouts). */
const GIVE_UP_TIMEOUTS = 4;

/** What two states of the group past each other's fork windows are compared by. */
interface BranchState {
  readonly members: number;
  readonly epoch: bigint;
  readonly transcript: Uint8Array;
}

/**
 * Among GroupInfos of other states, the one to prefer: more members, then the later epoch, then
 * the lower confirmed transcript hash (a total order: every member picks the same).
 */
export function beats(a: BranchState, b: BranchState): boolean {
  if (a.members !== b.members) return a.members > b.members;
  if (a.epoch !== b.epoch) return a.epoch > b.epoch;
  return compareBytes(a.transcript, b.transcript) < 0;
}

function stateOf(group: Group): BranchState {
  const gc = group.state.groupContext;
  return {
    members: group.members().length,
    epoch: gc.epoch,
    transcript: gc.confirmedTranscriptHash,
  };
}

/** The state a GroupInfo shows (unverified: `rejoinGroup` verifies the one we take). */
function groupInfoState(bytes: Uint8Array): BranchState | undefined {
  try {
    const m = decodeMlsMessage(bytes);
    if (m.wireFormat !== WireFormat.groupInfo) return undefined;
    const gc = m.groupInfo.groupContext;
    const ext = m.groupInfo.extensions.find((e) => e.extensionType === ExtensionType.ratchetTree);
    if (ext === undefined) return undefined;
    const nodes = decode(ratchetTreeCodec, ext.extensionData);
    const members = nodes.filter((n, i) => i % 2 === 0 && n !== undefined).length;
    return { members, epoch: gc.epoch, transcript: gc.confirmedTranscriptHash };
  } catch {
    return undefined;
  }
}
