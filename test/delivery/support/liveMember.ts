/**
 * One person on a real libp2p node (127.0.0.1, port 0) with real MLS, wired on the delivery layer
 * directly: a GroupSession on Libp2pPorts, a ciphertext log (memory LogStore) fed from the channel
 * and from our own publications, a SyncServer answering members' devices, and a SyncClient that
 * catches up when the session is behind, when the member comes up, and every `syncEveryMs`.
 *
 * What survives `down()` (the "disk"): the peer key (same peer id), the log's store, the MLS group
 * state as last persisted (after every epoch, message read and publication: a restart must not
 * reuse ratchet generations) and the last election term. A restart builds a new node (new port),
 * new ports and a new GroupSession over the decoded state.
 *
 * `crashWhen` plants an abrupt death: when it says so for an envelope arriving ('in', before the
 * session sees it) or just published ('out'), the member stops processing at once and its node
 * goes down.
 */
import { performance } from 'node:perf_hooks';
import type { CipherSuite } from '../../../src-core/crypto/types.js';
import {
  CiphertextLog,
  EntryKind,
  MemoryLogStore,
  messageIdOf,
} from '../../../src-core/delivery/ciphertextLog.js';
import type { GroupEnvelope } from '../../../src-core/delivery/envelope.js';
import {
  EnvelopeKind,
  decodeEnvelope,
  encodeEnvelope,
} from '../../../src-core/delivery/envelope.js';
import { GroupInfoServer, fetchGroupInfo } from '../../../src-core/delivery/groupInfoService.js';
import { GroupSession } from '../../../src-core/delivery/groupSession.js';
import { logBacklog } from '../../../src-core/delivery/logBacklog.js';
import type { GroupSessionTiming } from '../../../src-core/delivery/groupSession.js';
import { Libp2pPorts } from '../../../src-core/delivery/libp2pPorts.js';
import {
  commitHash,
  decodeOrderingRecord,
  encodeOrderingRecord,
} from '../../../src-core/delivery/orderingRecord.js';
import type { ChannelPort } from '../../../src-core/delivery/ports.js';
import type { SessionEvents } from '../../../src-core/delivery/sessionEvents.js';
import { SyncClient, SyncServer } from '../../../src-core/delivery/syncProtocol.js';
import type { SyncItem } from '../../../src-core/delivery/syncProtocol.js';
import type { Group, GroupMember, MlsClient } from '../../../src-core/mls/client/index.js';
import { Group as GroupHandle } from '../../../src-core/mls/client/index.js';
import { decodeGroupState, encodeGroupState } from '../../../src-core/mls/storage/index.js';
import {
  MemoryPeerIdentityStore,
  createParleyNode,
  loopbackNetConfig,
} from '../../../src-core/net/index.js';
import type { ParleyNode } from '../../../src-core/net/index.js';

/** Short timers so an election and retries fit in a test (the defaults are 1 s / 4 s / 2 s). */
export const LIVE_TIMING: Partial<GroupSessionTiming> = {
  heartbeatMs: 300,
  electionTimeoutMs: 1_500,
  staggerMs: 400,
  tickMs: 100,
  proposalCommitDelayMs: 200,
  retryMs: 1_000,
};

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

export function nameOf(m: GroupMember): string {
  const c = m.credential;
  return 'identity' in c ? decoder.decode(c.identity) : '?';
}

export interface GroupView {
  readonly epoch: bigint;
  readonly treeHash: string;
  readonly epochAuthenticator: string;
  readonly roster: readonly string[];
}

export function viewOf(group: Group): GroupView {
  return {
    epoch: group.epoch,
    treeHash: hex(group.state.groupContext.treeHash),
    epochAuthenticator: hex(group.epochAuthenticator()),
    roster: group.members().map(nameOf).sort(),
  };
}

/** Everyone in a test: names by peer id (for the sync server's check), joiners by name. */
export class LiveWorld {
  readonly members = new Map<string, LiveMember>();
  readonly names = new Map<string, string>();

  add(m: LiveMember): void {
    this.members.set(m.name, m);
  }

  get(name: string): LiveMember {
    const m = this.members.get(name);
    if (m === undefined) throw new Error(`no member ${name}`);
    return m;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.members.values()].map((m) => m.down()));
  }
}

export type CrashRule = (direction: 'in' | 'out', envelope: GroupEnvelope) => boolean;

export class LiveMember {
  readonly suite: CipherSuite;
  private readonly identity = new MemoryPeerIdentityStore();
  private readonly logStore = new MemoryLogStore();
  private persisted: Map<string, Uint8Array> | undefined;
  private savedElection: { term: bigint; leader: number } | undefined;
  private node: ParleyNode | undefined;
  private ports: Libp2pPorts | undefined;
  private log: CiphertextLog | undefined;
  private syncClient: SyncClient | undefined;
  private syncTimer: ReturnType<typeof setInterval> | undefined;
  private syncing = false;
  private alive = false;
  /** Records whose commit is not in the log yet, and commits' message ids, by commit hash. */
  private readonly pendingRecords = new Map<string, Uint8Array>();
  private readonly commitIds = new Map<string, Uint8Array>();

  session: GroupSession | undefined;
  /** Rejoin by external commit (the session's `rejoin` option over 'groupinfo'); set before up(). */
  externalRejoin = false;
  peerId = '';
  crashWhen: CrashRule | undefined;
  /** Texts of the application messages this member read, in order. */
  readonly read: string[] = [];
  readonly forks: SessionEvents['fork'][] = [];
  readonly notDelivered: SessionEvents['notDelivered'][] = [];
  readonly rejoins: SessionEvents['rejoinNeeded'][] = [];
  removed = false;
  /** Log entries that sync brought us (new ones, from peers), over all catch-ups. */
  synced = 0;
  /** Heartbeat envelopes that reached us, by "epoch/term/leader leaf". */
  readonly heartbeatsIn = new Map<string, number>();
  /** Errors of the wiring (log, sync): none expected beyond a fork's log conflict. */
  readonly errors: string[] = [];

  constructor(
    readonly name: string,
    readonly client: MlsClient,
    private readonly world: LiveWorld,
    private readonly timing: Partial<GroupSessionTiming> = LIVE_TIMING,
    private readonly syncEveryMs = 1_000,
  ) {
    this.suite = client.suite;
    world.add(this);
  }

  /** Starts with a group state given as storage records (a founder). */
  seed(records: ReadonlyMap<string, Uint8Array>): void {
    this.persisted = new Map(records);
  }

  get isUp(): boolean {
    return this.alive;
  }

  /** Our addresses, to dial. */
  addresses(): string[] {
    return this.requireNode().addresses();
  }

  async dial(other: LiveMember): Promise<void> {
    await this.requireNode().dial(other.addresses()[0]!);
  }

  async hangUp(other: LiveMember): Promise<void> {
    await this.requireNode().hangUp(other.peerId);
  }

  isConnected(other: LiveMember): boolean {
    return this.requireNode().isConnected(other.peerId);
  }

  /** Comes up (first start or restart): a new node and ports; resumes the persisted group. */
  async up(): Promise<void> {
    if (this.alive) throw new Error(`${this.name} is up already`);
    const node = await createParleyNode({ identity: this.identity, config: loopbackNetConfig() });
    await node.start();
    this.node = node;
    this.peerId = node.peerId;
    this.world.names.set(node.peerId, this.name);
    const ports = new Libp2pPorts(node);
    this.ports = ports;
    const log = await CiphertextLog.open(this.logStore);
    this.log = log;
    new SyncServer({
      log,
      requests: ports.requests,
      authorize: (peer) => {
        const who = this.world.names.get(peer);
        const g = this.session?.group;
        return who !== undefined && g !== undefined && g.isActive && rosterHas(g, who);
      },
    });
    this.syncClient = new SyncClient({ log, requests: ports.requests, timeoutMs: 5_000 });
    new GroupInfoServer({
      requests: ports.requests,
      self: node.peerId,
      clock: ports.clock,
      group: () => {
        const s = this.session;
        return s === undefined || !s.isRunning || s.isRejoining ? undefined : s.group;
      },
    });
    await ports.ready();
    this.alive = true;
    if (this.persisted !== undefined) {
      const group = new GroupHandle(decodeGroupState(this.persisted, { suite: this.suite }));
      if (group.isActive) this.attach(group);
    }
    this.syncTimer = setInterval(() => this.catchUp(), this.syncEveryMs);
  }

  /** Goes down at once: the session stops, the node stops; only the "disk" is kept. */
  async down(): Promise<void> {
    if (!this.alive) return;
    this.alive = false;
    clearInterval(this.syncTimer);
    this.session?.stop();
    this.session = undefined;
    const ports = this.ports;
    const node = this.node;
    this.ports = undefined;
    this.node = undefined;
    await ports?.close();
    await node?.stop();
  }

  /** Joins by Welcome (a new member). */
  joinFrom(welcome: Uint8Array): void {
    this.attach(this.client.joinGroup(welcome));
  }

  send(text: string): void {
    const s = this.requireSession();
    s.send(encoder.encode(text));
  }

  requireSession(): GroupSession {
    const s = this.session;
    if (s === undefined || !s.isRunning) throw new Error(`${this.name} has no running session`);
    return s;
  }

  view(): GroupView | undefined {
    const g = this.session?.group;
    return this.alive && g !== undefined && g.isActive ? viewOf(g) : undefined;
  }

  leafOf(name: string): number {
    const m = this.requireSession()
      .group.members()
      .find((x) => nameOf(x) === name);
    if (m === undefined) throw new Error(`${name} is not in ${this.name}'s group`);
    return m.leafIndex;
  }

  private requireNode(): ParleyNode {
    if (this.node === undefined) throw new Error(`${this.name} is down`);
    return this.node;
  }

  private attach(group: Group): void {
    const ports = this.ports;
    if (ports === undefined) throw new Error(`${this.name} is down`);
    this.session?.stop();
    const session = new GroupSession({
      group,
      ports: { clock: ports.clock, channels: this.logged(ports.channels) },
      timing: this.timing,
      ...(this.savedElection !== undefined ? { election: this.savedElection } : {}),
      ...(this.externalRejoin
        ? {
            rejoin: {
              fetchGroupInfo: async (g: Group) => {
                const peers = ports.channels.subscribers(session.channel);
                const answers = await fetchGroupInfo(ports.requests, peers, g, {
                  timeoutMs: 5_000,
                });
                this.note(`groupinfo: ${JSON.stringify(answers.map((a) => a.error ?? 'ok'))}`);
                return answers.flatMap((a) => (a.groupInfo === undefined ? [] : [a.groupInfo]));
              },
            },
          }
        : {}),
    });
    this.session = session;
    const persist = (): void => {
      if (this.session === session && session.group.isActive) {
        this.persisted = new Map(encodeGroupState(session.group.state));
      }
    };
    session.on('epoch', persist);
    session.on('message', (e) => {
      this.read.push(decoder.decode(e.data));
      persist();
    });
    session.on('published', (e) => {
      if (e.kind !== EnvelopeKind.heartbeat) persist();
    });
    session.on('leader', (e) => {
      this.savedElection = { term: e.term, leader: e.leader };
    });
    session.on('welcome', (e) => {
      for (const m of e.added) this.world.members.get(nameOf(m))?.joinFrom(e.welcome);
    });
    session.on('behind', () => this.catchUp());
    session.on('fork', (e) => this.forks.push(e));
    session.on('notDelivered', (e) => this.notDelivered.push(e));
    session.on('rejoinNeeded', (e) => this.rejoins.push(e));
    session.on('removed', () => {
      this.removed = true;
    });
    if (process.env.LIVE_TRACE !== undefined) this.trace(session);
    session.start();
    persist();
    this.catchUp();
  }

  private note(what: string): void {
    if (process.env.LIVE_TRACE !== undefined) process.stderr.write(`${this.name}: ${what}\n`);
  }

  /** `LIVE_TRACE=1`: the session's events on stderr, to reproduce a failure. */
  private trace(session: GroupSession): void {
    const t0 = performance.now();
    const line = (what: string): void => {
      const at = (performance.now() - t0).toFixed(0).padStart(6);
      process.stderr.write(`${at} ${this.name} @${session.epoch}/t${session.term}: ${what}\n`);
    };
    session.on('epoch', (e) =>
      line(`epoch ${e.epoch} by ${e.committer} term ${e.term} ${hex(e.commitHash).slice(0, 8)}`),
    );
    session.on('leader', (e) => line(`leader ${e.leader} term ${e.term}${e.self ? ' (us)' : ''}`));
    session.on('fork', (e) => line(`fork ${JSON.stringify(e, (_, v: unknown) => String(v))}`));
    session.on('rejected', (e) => line(`rejected ${e.error.code}: ${e.error.message}`));
    session.on('commitLost', (e) => line(`commitLost ${e.epoch}`));
    session.on('changeFailed', (e) => line(`changeFailed ${e.change}: ${e.error.message}`));
    session.on('behind', (e) => line(`behind ${e.epoch} seen ${e.seen}`));
    session.on('rejoinNeeded', (e) => line(`rejoinNeeded ${e.forkEpoch}: ${e.error.message}`));
    session.on('removed', () => line('removed'));
    session.on('membership', (e) =>
      line(`membership +${e.added.map(nameOf).join(',')} -${e.removed.map(nameOf).join(',')}`),
    );
  }

  /** Abrupt death: nothing more is processed or published; the node goes down. */
  private crash(): void {
    this.crashWhen = undefined;
    this.down().catch((e: unknown) => this.errors.push(`crash: ${String(e)}`));
  }

  /** The channel port, also keeping what passes in the log and honouring `crashWhen`. */
  private logged(channels: ChannelPort): ChannelPort {
    return {
      publish: async (channel, data) => {
        if (!this.alive) return;
        this.keep(data);
        await channels.publish(channel, data);
        const env = peek(data);
        if (env !== undefined && this.crashWhen?.('out', env) === true) this.crash();
      },
      subscribe: (channel, onMessage) =>
        channels.subscribe(channel, (m) => {
          if (!this.alive) return;
          const env = peek(m.data);
          if (env !== undefined && this.crashWhen?.('in', env) === true) return this.crash();
          this.keep(m.data);
          if (env?.kind === EnvelopeKind.heartbeat) {
            const key = `${env.epoch}/${env.heartbeat.term}/${env.heartbeat.leaderLeaf}`;
            this.heartbeatsIn.set(key, (this.heartbeatsIn.get(key) ?? 0) + 1);
          } else if (env !== undefined) {
            this.note(
              `in kind ${env.kind} epoch ${env.epoch} from ${this.world.names.get(m.receivedFrom)}`,
            );
          }
          onMessage(m);
        }),
      subscribers: (channel) => channels.subscribers(channel),
    };
  }

  /** Appends an envelope's ciphertext to the log (commits get their record when both are here). */
  private keep(data: Uint8Array): void {
    const log = this.log;
    const env = peek(data);
    if (log === undefined || env === undefined) return;
    const group = env.groupId;
    const work = async (): Promise<void> => {
      if (env.kind === EnvelopeKind.commit) {
        const key = hex(commitHash(this.suite, env.mlsMessage));
        const record = this.pendingRecords.get(key);
        this.commitIds.set(key, messageIdOf(env.mlsMessage));
        await log.append(group, {
          kind: EntryKind.commit,
          epoch: env.epoch,
          message: env.mlsMessage,
          orderingRecord: record,
        });
        if (record !== undefined) {
          this.pendingRecords.delete(key);
          await log.attachOrderingRecord(group, messageIdOf(env.mlsMessage), record);
        }
      } else if (env.kind === EnvelopeKind.orderingRecord) {
        const key = hex(env.record.commitHash);
        const record = encodeOrderingRecord(env.record);
        const id = this.commitIds.get(key);
        if (id === undefined || !(await log.attachOrderingRecord(group, id, record))) {
          this.pendingRecords.set(key, record);
        }
      } else if (env.kind === EnvelopeKind.application || env.kind === EnvelopeKind.proposal) {
        await log.append(group, {
          kind: env.kind === EnvelopeKind.application ? EntryKind.application : EntryKind.proposal,
          epoch: env.epoch,
          message: env.mlsMessage,
        });
      }
    };
    // A second commit for an epoch (the other side of a fork) is the log's 'conflict': expected.
    work().catch((e: unknown) => {
      if ((e as { code?: string }).code !== 'conflict') this.errors.push(`log: ${String(e)}`);
    });
  }

  /** One catch-up at a time, from the group channel's peers, two epochs back. */
  catchUp(): void {
    const session = this.session;
    const client = this.syncClient;
    const ports = this.ports;
    if (!this.alive || session === undefined || client === undefined || ports === undefined) return;
    if (this.syncing || !session.isRunning) return;
    this.replayBacklog(session);
    const peers = ports.channels.subscribers(session.channel);
    if (peers.length === 0) return;
    this.syncing = true;
    const groupId = session.group.groupId;
    const from = session.epoch > 2n ? session.epoch - 2n : 0n;
    client
      .catchUp(groupId, from, peers, {
        deliver: (items) => {
          this.synced += items.length;
          for (const item of items) this.replay(session, groupId, item);
        },
      })
      .then((result) => {
        this.note(
          `sync: added ${result.added}, ${result.duplicates} duplicates, peers ${JSON.stringify(result.peers)}`,
        );
        for (const item of result.conflicts) this.replay(session, groupId, item);
        this.replayBacklog(session);
      })
      .catch((e: unknown) => {
        if (this.alive) this.errors.push(`sync: ${String(e)}`);
      })
      .finally(() => {
        this.syncing = false;
      });
  }

  /** What our log holds past the session's epoch (see logBacklog.ts), handed to it again. */
  private replayBacklog(session: GroupSession): void {
    const log = this.log;
    if (log === undefined || this.session !== session || !session.isRunning) return;
    const groupId = session.group.groupId;
    for (const item of logBacklog(log, groupId, session.epoch)) this.replay(session, groupId, item);
  }

  /** Hands a synced item to the session as the envelopes it travelled in. */
  private replay(
    session: GroupSession,
    groupId: Uint8Array,
    item: Pick<SyncItem, 'kind' | 'epoch' | 'message' | 'orderingRecord'>,
  ): void {
    if (this.session !== session) return;
    const base = { groupId, epoch: item.epoch };
    const envs: GroupEnvelope[] = [];
    if (item.kind === EntryKind.commit) {
      envs.push({ ...base, kind: EnvelopeKind.commit, mlsMessage: item.message });
      if (item.orderingRecord !== undefined) {
        const record = decodeOrderingRecord(item.orderingRecord);
        envs.push({ ...base, kind: EnvelopeKind.orderingRecord, record });
      }
    } else {
      const kind =
        item.kind === EntryKind.application ? EnvelopeKind.application : EnvelopeKind.proposal;
      envs.push({ ...base, kind, mlsMessage: item.message });
    }
    for (const env of envs) session.receive(encodeEnvelope(env));
  }
}

function rosterHas(group: Group, name: string): boolean {
  return group.members().some((m) => nameOf(m) === name);
}

function peek(data: Uint8Array): GroupEnvelope | undefined {
  try {
    return decodeEnvelope(data);
  } catch {
    return undefined;
  }
}
