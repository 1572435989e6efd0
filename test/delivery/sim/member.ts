/**
 * One simulated person: an MLS client (its keys survive crashes, as the identity store would keep
 * them), and per incarnation a GroupSession on the simulated ports, with the store-and-forward
 * pieces beside it: a ciphertext log fed from the channel and from our own publications, a sync
 * server answering peers, a sync client that catches up when the session says it is behind,
 * when it restarts, and every `syncEveryMs` while it runs, and a GroupInfo server for peers that
 * rejoin by external commit (memberRejoin.ts), as the session itself may.
 *
 * What a crash keeps (the "disk"): the MLS group state as last persisted (after every epoch change,
 * message read and publication, as an app must, or a restart would reuse ratchet generations), and
 * the ciphertext log's store. What it loses: the session (its outbox, fork window, election state)
 * and every timer. A restart builds a new GroupSession over the decoded group state.
 */
import type { CipherSuite } from '../../../src-core/crypto/types.js';
import { CiphertextLog, MemoryLogStore } from '../../../src-core/delivery/ciphertextLog.js';
import {
  EnvelopeKind,
  decodeEnvelope,
  encodeEnvelope,
} from '../../../src-core/delivery/envelope.js';
import type { SeenMessages } from '../../../src-core/delivery/applicationFrame.js';
import { GroupSession } from '../../../src-core/delivery/groupSession.js';
import { logBacklog } from '../../../src-core/delivery/logBacklog.js';
import type { GroupSessionTiming } from '../../../src-core/delivery/groupSession.js';
import { commitHash } from '../../../src-core/delivery/orderingRecord.js';
import type { ChannelPort, DeliveryPorts } from '../../../src-core/delivery/ports.js';
import type { MessageId } from '../../../src-core/delivery/sessionEvents.js';
import { SyncClient, SyncServer } from '../../../src-core/delivery/syncProtocol.js';
import type { SyncItem } from '../../../src-core/delivery/syncProtocol.js';
import type {
  Group,
  KeyPackageInput,
  PublishedKeyPackage,
} from '../../../src-core/mls/client/index.js';
import { Group as GroupHandle } from '../../../src-core/mls/client/index.js';
import type { MlsClient } from '../../../src-core/mls/client/index.js';
import { newClient } from './founding.js';
import { floorEpoch, keepInLog, peek, syncItemEnvelopes, traceDetail } from './memberLog.js';
import { decodeGroupState, encodeGroupState } from '../../../src-core/mls/storage/index.js';
import { rejoinOptions, serveGroupInfo } from './memberRejoin.js';
import { hex, nameOf, viewOf } from './memberView.js';
import type { StateView } from './trace.js';

const encoder = new TextEncoder();

/** What a member tells the runner, which turns it into the trace. */
export interface MemberObserver {
  merged(member: Member, commitHash: string, fromEpoch: bigint, after: StateView): void;
  orderingSeen(member: Member, epoch: bigint, commitHash: string): void;
  read(member: Member, data: Uint8Array, view: StateView): void;
  notDelivered(member: Member, id: string): void;
  /** The member rejoined by external commit: what was sent before is beyond its reach. */
  rejoined(member: Member): void;
  membership(
    member: Member,
    removed: readonly string[],
    added: readonly string[],
    after: StateView,
  ): void;
  welcome(member: Member, welcome: Uint8Array, added: readonly string[]): void;
  /** Something worth a line in a failure report (forks, lost commits, refused changes). */
  note(member: Member, text: string): void;
  /** A callback of ours failed (a bug in the harness or the code under test). */
  error(member: Member, what: string, error: unknown): void;
}

export interface MemberOptions {
  readonly timing: Partial<GroupSessionTiming>;
  readonly syncEveryMs: number;
  /**
   * How many epochs before the current one a catch-up starts at: messages of a past epoch that
   * a partition kept from us are still readable while MLS keeps that epoch's receiver.
   */
  readonly syncBackEpochs: number;
  readonly syncTimeoutMs: number;
  /**
   * A planted fault for the self-tests: envelopes this says to drop never reach the session,
   * whether they come from the channel or from a sync.
   */
  readonly dropInbound?: (member: string, kind: number) => boolean;
  /**
   * A deliberately broken member, for the self-tests only: it merges every commit of its epoch
   * the moment it arrives, without waiting for the ordering record (the fault the ordering
   * invariant exists to catch).
   */
  readonly mergeWithoutRecord?: boolean;
  /** A fresh KeyPackage of a person, from the contacts' directory (re-adds after a fork). */
  readonly directory: (name: string) => KeyPackageInput | undefined;
}

interface Incarnation {
  readonly ports: DeliveryPorts;
  readonly number: number;
  session: GroupSession | undefined;
  log: CiphertextLog | undefined;
  server: SyncServer | undefined;
  client: SyncClient | undefined;
  /** Our messages by the session's id, for its `notDelivered` reports. */
  readonly outbox: Map<MessageId, string>;
  syncing: boolean;
  syncAgain: boolean;
  /** Members removed, by name, with the epoch their removal started. */
  readonly removed: Map<string, bigint>;
  /** The next catch-up also asks one more peer, in turn (see the 'epoch' handler). */
  askAnother: boolean;
  /** Which peer that is next. */
  anotherTurn: number;
  /** Peers that came into reach since the last catch-up. */
  readonly newcomers: Set<string>;
  /** Peers we could reach on the channel at the last look; a newcomer among them means a heal. */
  reachable: Set<string>;
  /** Records whose commit is not in the log yet, by commit hash. */
  readonly pendingRecords: Map<string, Uint8Array>;
  /** Commit message ids in the log by commit hash. */
  readonly commitIds: Map<string, Uint8Array>;
}

export class Member {
  readonly client: MlsClient;
  readonly suite: CipherSuite;
  /** One-time KeyPackages handed to contacts (the directory), not yet used. */
  readonly keyPackages: PublishedKeyPackage[];
  private persisted: Map<string, Uint8Array> | undefined;
  /**
   * The election term and leader, kept on "disk" with the group state (as the app must): a
   * restarted member that came back at term 0 would claim a term others had already used.
   */
  private election: { term: bigint; leader: number } | undefined;
  /** The group of a Welcome we did not take (in memory only). */
  private parked: Group | undefined;
  private readonly logStore = new MemoryLogStore();
  private inc: Incarnation | undefined;
  private incarnations = 0;
  /**
   * Set when our session said only a rejoin can bring us back (we are on a branch that lost and
   * cannot roll back): a Welcome from the winning branch's re-made add is then taken whatever
   * its epoch. Cleared when we join.
   */
  needsRejoin = false;
  /**
   * The epoch we (last) joined at, kept on "disk": nobody's log holds commits before it for us
   * (the founding commit travels out of band), so a catch-up never asks for them — a gap no peer
   * can fill made every catch-up ask every peer in turn, for seconds.
   */
  private joinedAt: bigint | undefined;

  constructor(
    readonly name: string,
    private readonly observer: MemberObserver,
    private readonly options: MemberOptions,
    suite: CipherSuite,
    /** A founder's client and its epoch-1 state; others get a new client and KeyPackages. */
    founder?: { readonly client: MlsClient; readonly records: ReadonlyMap<string, Uint8Array> },
  ) {
    this.suite = suite;
    if (founder !== undefined) {
      this.client = founder.client;
      // For a re-add (after a fork, or when it cannot follow its own commit after a crash).
      this.keyPackages = [
        ...this.client.createKeyPackages({ count: 2, lastResort: false }).oneTime,
      ];
      this.persisted = new Map(founder.records);
    } else {
      this.client = newClient(suite, name);
      // One for the add, one for a re-add after a fork.
      this.keyPackages = [
        ...this.client.createKeyPackages({ count: 2, lastResort: false }).oneTime,
      ];
    }
  }

  get incarnation(): number {
    return this.inc?.number ?? -1;
  }

  get session(): GroupSession | undefined {
    return this.inc?.session;
  }

  /** The group as this member holds it now (undefined when down or not in it). */
  view(): StateView | undefined {
    const g = this.inc?.session?.group;
    return g !== undefined && g.isActive ? viewOf(g) : undefined;
  }

  /** Next KeyPackage from the directory (a contact hands it out once). */
  takeKeyPackage(): PublishedKeyPackage | undefined {
    return this.keyPackages.shift();
  }

  /** Comes up (first start or restart) on fresh ports; resumes the persisted group if any. */
  async up(ports: DeliveryPorts): Promise<void> {
    const inc: Incarnation = {
      ports,
      number: this.incarnations++,
      session: undefined,
      log: undefined,
      server: undefined,
      client: undefined,
      outbox: new Map(),
      syncing: false,
      syncAgain: false,
      removed: new Map(),
      askAnother: false,
      anotherTurn: 0,
      newcomers: new Set(),
      reachable: new Set(),
      pendingRecords: new Map(),
      commitIds: new Map(),
    };
    this.inc = inc;
    inc.log = await CiphertextLog.open(this.logStore, { now: () => ports.clock.now() });
    if (this.inc !== inc) return; // crashed while opening
    inc.server = new SyncServer({
      log: inc.log,
      requests: ports.requests,
      // Members, and those removed lately: a removed member that lost the commit removing it
      // learns it only from a log (it cannot read anything after it; ciphertexts only).
      authorize: (peer) =>
        this.view()?.roster.includes(peer) === true || this.removedLately(inc, peer),
    });
    serveGroupInfo(ports, this.name, () => inc.session);
    inc.client = new SyncClient({
      log: inc.log,
      requests: ports.requests,
      timeoutMs: this.options.syncTimeoutMs,
      pageBytes: 64 * 1024,
    });
    if (this.persisted !== undefined) {
      const state = decodeGroupState(this.persisted, { suite: this.suite });
      const group = new GroupHandle(state);
      if (group.isActive) this.attach(inc, group, this.election);
    }
    this.scheduleSync(inc);
  }

  /** Stops at once; only the persisted state and the log store remain. */
  crash(): void {
    this.inc = undefined;
  }

  /** Starts a session for a group we just created or joined. */
  join(group: Group): void {
    const inc = this.inc;
    if (inc === undefined) throw new Error(`${this.name} is down`);
    const seen = inc.session?.seenMessages;
    if (inc.session !== undefined) {
      inc.session.abandon();
      inc.session = undefined;
    }
    this.needsRejoin = false;
    this.joinedAt = group.epoch;
    this.attach(inc, group, undefined, seen);
  }

  /** A Welcome's group we did not take (our session looked fine): see `takeParkedIfAbandoned`. */
  park(group: Group): void {
    this.parked?.destroy();
    this.parked = group;
  }

  /** Our session's branch is abandoned (GroupSession.abandoned): join the parked re-add. */
  private takeParkedIfAbandoned(inc: Incarnation): void {
    const parked = this.parked;
    if (parked === undefined || inc.session?.abandoned !== true) return;
    this.parked = undefined;
    this.join(parked);
  }

  /** Sends application data; returns false if we cannot (down, or not in the group). */
  send(id: string): boolean {
    const inc = this.inc;
    const s = inc?.session;
    if (inc === undefined || s === undefined || !s.isRunning) return false;
    const localId = s.send(encoder.encode(id));
    inc.outbox.set(localId, id);
    return true;
  }

  private attach(
    inc: Incarnation,
    group: Group,
    election?: { term: bigint; leader: number },
    seen?: SeenMessages,
  ): void {
    this.joinedAt ??= group.epoch;
    const channels = this.logged(inc, inc.ports.channels);
    const session = new GroupSession({
      group,
      ports: { clock: inc.ports.clock, channels },
      timing: this.options.timing,
      freshKeyPackage: (m) => this.options.directory(nameOf(m)),
      rejoin: rejoinOptions(inc.ports, this.options.syncTimeoutMs),
      ...(election === undefined ? {} : { election }),
      ...(seen === undefined ? {} : { seen }),
    });
    inc.session = session;
    const keepElection = (): void => {
      if (this.inc === inc) this.election = { term: session.term, leader: session.leader };
    };
    keepElection();
    session.on('leader', keepElection);
    const guard = (what: string, f: () => void): void => {
      if (this.inc !== inc) return;
      try {
        f();
      } catch (e) {
        this.observer.error(this, what, e);
      }
    };
    session.on('epoch', (e) =>
      guard('epoch', () => {
        // A commit always ends the epoch before the one it starts (also on a branch switch).
        this.observer.merged(this, hex(e.commitHash), e.epoch - 1n, viewOf(session.group));
        keepElection();
        this.persist(session);
        // The epoch just left is readable for a few epochs more (MLS past epochs): fetch what
        // the channel lost of it now, before a quick run of commits leaves it behind. From one
        // more peer than usual: application messages have no sequence, so a peer that lost one
        // too looks complete (a catch-up stops at the first peer holding every commit).
        inc.askAnother = true;
        this.catchUp(inc);
      }),
    );
    session.on('membership', (e) =>
      guard('membership', () => {
        for (const m of e.removed) inc.removed.set(nameOf(m), e.epoch);
        this.observer.membership(
          this,
          e.removed.map(nameOf),
          e.added.map(nameOf),
          viewOf(session.group),
        );
      }),
    );
    session.on('message', (e) =>
      guard('message', () => {
        this.observer.read(this, e.data, viewOf(session.group));
        this.persist(session);
      }),
    );
    session.on('notDelivered', (e) =>
      guard('notDelivered', () => {
        const id = inc.outbox.get(e.id);
        if (id !== undefined) this.observer.notDelivered(this, id);
      }),
    );
    session.on('sendFailed', (e) =>
      guard('sendFailed', () => {
        const id = e.id === undefined ? undefined : inc.outbox.get(e.id);
        if (id !== undefined) this.observer.notDelivered(this, id);
      }),
    );
    session.on('rejoined', (e) =>
      guard('rejoined', () => {
        this.needsRejoin = false;
        this.observer.rejoined(this);
        this.observer.note(this, `rejoined by external commit at ${e.epoch} (stuck ${e.stuckAt})`);
      }),
    );
    session.on('welcome', (e) =>
      guard('welcome', () => this.observer.welcome(this, e.welcome, e.added.map(nameOf))),
    );
    session.on('behind', () => guard('behind', () => this.catchUp(inc)));
    session.on('fork', (e) =>
      guard('fork', () =>
        this.observer.note(
          this,
          `fork at epoch ${e.forkEpoch}: ${e.won ? 'won' : `lost, re-proposed ${e.reproposedRemovals} removals and ${e.reproposedAdds} adds, resent ${e.resent}`}`,
        ),
      ),
    );
    session.on('removed', () =>
      guard('removed', () => {
        this.persisted = undefined;
      }),
    );
    session.on('rejoinNeeded', () =>
      guard('rejoinNeeded', () => {
        this.needsRejoin = true;
      }),
    );
    session.on('rejoinNeeded', (e) =>
      guard('rejoinNeeded', () =>
        this.observer.note(this, `rejoin needed (fork at ${e.forkEpoch})`),
      ),
    );
    session.on('changeFailed', (e) =>
      guard('changeFailed', () =>
        this.observer.note(this, `change ${e.change} failed: ${e.error.message}`),
      ),
    );
    session.on('leader', (e) =>
      guard('leader', () => this.observer.note(this, `leader: leaf ${e.leader}, term ${e.term}`)),
    );
    if (process.env.SIM_TRACE === '1') {
      const note = (text: string): void => guard('trace', () => this.observer.note(this, text));
      traceDetail(session, this.suite, () => viewOf(session.group).roster, note);
    }
    session.on('published', (e) =>
      guard('published', () => {
        if (e.kind === EnvelopeKind.orderingRecord) {
          const env = decodeEnvelope(e.envelope);
          if (env.kind === EnvelopeKind.orderingRecord) {
            this.observer.orderingSeen(this, env.record.epoch, hex(env.record.commitHash));
          }
        }
        // Heartbeats change no group state; everything else we publish used a ratchet step.
        if (e.kind !== EnvelopeKind.heartbeat && session.group.isActive) this.persist(session);
      }),
    );
    session.start();
    this.persist(session);
    this.catchUp(inc);
  }

  /** The planted fault: process and merge a commit on arrival, bypassing the sequencer. */
  private mergeAtOnce(inc: Incarnation, epoch: bigint, mls: Uint8Array): void {
    const group = inc.session?.group;
    if (group === undefined || !group.isActive || group.epoch !== epoch) return;
    let event;
    try {
      event = group.process(mls);
    } catch {
      return;
    }
    if (event.kind !== 'commit') return;
    group.merge(event.commit);
    this.observer.merged(this, hex(commitHash(this.suite, mls)), epoch, viewOf(group));
  }

  private persist(session: GroupSession): void {
    const group = session.group;
    if (!group.isActive) return;
    this.persisted = new Map(encodeGroupState(group.state));
  }

  /** A channel port that also keeps what passes through it in the log. */
  private logged(inc: Incarnation, channels: ChannelPort): ChannelPort {
    return {
      publish: (channel, data) => {
        this.keep(inc, data);
        return channels.publish(channel, data);
      },
      subscribe: (channel, onMessage) =>
        channels.subscribe(channel, (m) => {
          this.keep(inc, m.data);
          const env = peek(m.data);
          if (this.options.mergeWithoutRecord === true && env?.kind === EnvelopeKind.commit) {
            this.mergeAtOnce(inc, env.epoch, env.mlsMessage);
          }
          if (env !== undefined && this.options.dropInbound?.(this.name, env.kind) === true) return;
          if (env?.kind === EnvelopeKind.orderingRecord) {
            this.observer.orderingSeen(this, env.record.epoch, hex(env.record.commitHash));
          }
          onMessage(m);
        }),
      subscribers: (channel) => channels.subscribers(channel),
    };
  }

  /** Appends an envelope's content to the log (ciphertext only; duplicates are the log's to drop). */
  private keep(inc: Incarnation, data: Uint8Array): void {
    keepInLog(inc, this.suite, data, (e) => {
      // The log refuses what it must (a second commit for an epoch is a fork: 'conflict').
      if (this.inc === inc) this.observer.error(this, 'log', e);
    });
  }

  /**
   * Catches up every `syncEveryMs`, and within a second of a peer coming into reach (a partition
   * healed, a peer restarted): nothing else tells a member what it missed in its current epoch.
   */
  private scheduleSync(inc: Incarnation, sinceFull = 0): void {
    const step = Math.min(1_000, this.options.syncEveryMs);
    inc.ports.clock.setTimer(step, () => {
      if (this.inc !== inc) return;
      this.takeParkedIfAbandoned(inc);
      if (this.inc !== inc) return;
      let elapsed = sinceFull + step;
      const session = inc.session;
      if (session !== undefined) {
        const now = new Set(inc.ports.channels.subscribers(session.channel));
        const arrived = [...now].filter((p) => !inc.reachable.has(p));
        const newcomer = arrived.length > 0;
        for (const p of arrived) inc.newcomers.add(p);
        inc.reachable = now;
        if (newcomer || elapsed >= this.options.syncEveryMs) {
          this.catchUp(inc);
          elapsed = 0;
        }
      }
      this.scheduleSync(inc, elapsed);
    });
  }

  /** One catch-up at a time, from the peers on the group channel we can reach. */
  private catchUp(inc: Incarnation): void {
    const session = inc.session;
    const client = inc.client;
    if (session === undefined || client === undefined || !session.isRunning) return;
    if (inc.syncing) {
      inc.syncAgain = true; // asked while one runs: once more when it ends
      return;
    }
    this.replayBacklog(inc, session);
    const peers = inc.ports.channels.subscribers(session.channel);
    if (peers.length === 0) return;
    inc.syncing = true;
    const groupId = session.group.groupId;
    const once = async (from: readonly string[]): Promise<void> => {
      const passedFrom = session.epoch;
      const result = await client.catchUp(groupId, this.syncFloor(session.epoch), from, {
        deliver: (items) => {
          if (this.inc !== inc) return;
          for (const item of items) this.replay(inc, session, groupId, item);
        },
      });
      // A peer's commit for an epoch we hold another commit for is the other side of a fork:
      // the session's fork logic needs it (with its record) to pick the branch.
      if (this.inc !== inc) return;
      for (const item of result.conflicts) this.replay(inc, session, groupId, item);
      this.replayBacklog(inc, session, passedFrom);
    };
    const run = async (): Promise<void> => {
      await once(peers);
      // Peers just come into reach (a healed partition) are asked each in turn: a catch-up ends
      // at the first peer with every commit, and only they have the messages sent on their side.
      const newcomers = [...inc.newcomers].filter((p) => peers.includes(p));
      inc.newcomers.clear();
      if (inc.askAnother && peers.length > 1) {
        inc.askAnother = false;
        const another = peers[1 + (inc.anotherTurn++ % (peers.length - 1))]!;
        if (!newcomers.includes(another)) newcomers.push(another);
      }
      for (const p of newcomers) if (this.inc === inc && session.isRunning) await once([p]);
    };
    run()
      .catch((e: unknown) => {
        if (this.inc === inc) this.observer.error(this, 'sync', e);
      })
      .finally(() => {
        inc.syncing = false;
        if (inc.syncAgain && this.inc === inc) {
          inc.syncAgain = false;
          this.catchUp(inc);
        }
      });
  }

  /** Removed within the last REMOVED_SERVED_EPOCHS epochs (and not back since). */
  private removedLately(inc: Incarnation, peer: string): boolean {
    const at = inc.removed.get(peer);
    const now = inc.session?.epoch;
    return at !== undefined && now !== undefined && now - at < REMOVED_SERVED_EPOCHS;
  }

  private syncFloor(epoch: bigint): bigint {
    const floor = floorEpoch(epoch, this.options.syncBackEpochs);
    return this.joinedAt !== undefined && this.joinedAt > floor ? this.joinedAt : floor;
  }

  /** What our log holds past the session's epoch (see logBacklog.ts), handed to it again. */
  private replayBacklog(inc: Incarnation, session: GroupSession, passedFrom?: bigint): void {
    const log = inc.log;
    if (log === undefined || this.inc !== inc || !session.isRunning) return;
    const groupId = session.group.groupId;
    for (const item of logBacklog(log, groupId, session.epoch, passedFrom)) {
      this.replay(inc, session, groupId, item);
    }
  }

  /** Hands a synced log item to the session as the envelopes it came in. */
  private replay(
    inc: Incarnation,
    session: GroupSession,
    groupId: Uint8Array,
    item: SyncItem,
  ): void {
    const envs = syncItemEnvelopes(groupId, item);
    for (const env of envs) {
      if (env.kind === EnvelopeKind.orderingRecord) {
        this.observer.orderingSeen(this, env.record.epoch, hex(env.record.commitHash));
      }
    }
    for (const env of envs) {
      if (this.options.dropInbound?.(this.name, env.kind) !== true) {
        session.receive(encodeEnvelope(env));
      }
    }
  }
}

/** How long a removed member is still served our log (the fork window's length). */
const REMOVED_SERVED_EPOCHS = 8n;
