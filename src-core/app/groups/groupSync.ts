/**
 * Store and forward for the app's groups: one ciphertext log for every group (on the encrypted
 * store, `ciphertextLogStore.ts`), fed with what we publish and what reaches us on the groups'
 * channels; a `'sync'` server answering members' devices; and a sync client that catches a group
 * up when its session says it is behind or its epoch changes (then from one more peer), when the
 * profile is unlocked, when a member's device comes online, and every `syncEveryMs`. What a catch-up fetches is handed to the session as the
 * envelopes it first travelled in (test/delivery/sim/member.ts wires the same pieces).
 *
 * Who may read a group's log: a connected peer that proved to be a contact's device (the contact
 * book binds peer ids to users after a signed introduction) whose user holds a leaf of the group
 * now, or was removed within the last 8 epochs (`authorized` says why). The log is ciphertext.
 *
 * What we keep from the channel is checked as an envelope (the carried MLS message's header must
 * name the group, epoch and kind), not decrypted: a member's device could plant a well-formed
 * message with a bad ciphertext, which the log would relay until retention drops it (MLS refuses
 * it at every reader, so it changes no one's state).
 */
import type { CiphertextLog, LogCursor, RetentionPolicy } from '../../delivery/ciphertextLog.js';
import {
  CiphertextLog as Log,
  EntryKind,
  hexOf as logHex,
  messageIdOf,
} from '../../delivery/ciphertextLog.js';
import type { GroupEnvelope } from '../../delivery/envelope.js';
import { EnvelopeKind, decodeEnvelope, encodeEnvelope } from '../../delivery/envelope.js';
import type { GroupSession } from '../../delivery/groupSession.js';
import { logBacklog } from '../../delivery/logBacklog.js';
import { followLostForks } from './lostBranch.js';
import {
  commitHash,
  decodeOrderingRecord,
  encodeOrderingRecord,
} from '../../delivery/orderingRecord.js';
import type { ChannelPort, PeerIdString } from '../../delivery/ports.js';
import type { GroupMember } from '../../mls/client/index.js';
import type { SyncItem } from '../../delivery/syncProtocol.js';
import { SyncClient, SyncServer } from '../../delivery/syncProtocol.js';
import type { Session } from '../appContext.js';
import type { GroupEntry, GroupHub } from './groupHub.js';
import { userIdOfCredential } from './groupRules.js';
import { StoreLogStore } from './ciphertextLogStore.js';

export interface StoreAndForwardOptions {
  /** How long and how much of each group's ciphertext we keep for others (default 30 days, 100,000). */
  readonly retention?: Partial<RetentionPolicy>;
  /** A full catch-up of every group this often while unlocked (ms, default 60 s). */
  readonly syncEveryMs?: number;
  /** Epochs before our own asked again (late messages of the last epoch, forks; default 1). */
  readonly backEpochs?: number;
  /** One sync request's timeout (ms, default 10 s). */
  readonly timeoutMs?: number;
}

/** Per group: records whose commit has not reached the log yet, commits' ids by commit hash. */
interface Pending {
  readonly records: Map<string, Uint8Array>;
  readonly commitIds: Map<string, Uint8Array>;
}

const MAX_PENDING = 256;
/** How long a removed member's devices are still served the log: the fork window's length. */
const REMOVED_SERVED_EPOCHS = 8n;
/** What a starting session is handed again from our log at most (entries, bytes per page). */
const REPLAY_LIMIT = 10_000;
const REPLAY_PAGE_BYTES = 1024 * 1024;

export class GroupSync {
  #log: CiphertextLog | undefined;
  #server: SyncServer | undefined;
  #client: SyncClient | undefined;
  #timer: NodeJS.Timeout | undefined;
  #offPeer: (() => void) | undefined;
  readonly #running = new Set<string>();
  readonly #again = new Set<string>();
  /**
   * Per group: peers to ask first at the next catch-up (they just came online), and a turn that
   * rotates who is asked first otherwise. A catch-up pages from the first peer that answers and
   * asks the next only for missing commits, so messages only one member holds (its own, sent
   * just before it went away or crashed) come only from asking that member first.
   */
  readonly #askFirst = new Map<string, Set<PeerIdString>>();
  readonly #turn = new Map<string, number>();
  /** Groups whose next catch-up also asks one more peer (an epoch changed), and whose turn. */
  readonly #askAnother = new Set<string>();
  readonly #anotherTurn = new Map<string, number>();
  /** Per group: the fork epoch of a lost fork, where the next catch-up starts (lostBranch.ts). */
  readonly #refillFrom = new Map<string, bigint>();
  /** Per group: users removed lately, with the epoch their removal started. */
  readonly #removed = new Map<string, Map<string, bigint>>();
  readonly #pending = new Map<string, Pending>();
  /** Log writes in flight, awaited at close so none runs on a closed store. */
  readonly #writes = new Set<Promise<unknown>>();
  #closed = true;

  constructor(
    private readonly hub: GroupHub,
    private readonly options: StoreAndForwardOptions = {},
  ) {}

  get log(): CiphertextLog {
    if (this.#log === undefined) throw new Error('store and forward is not open');
    return this.#log;
  }

  async open(s: Session): Promise<void> {
    this.#closed = false;
    const log = await Log.open(new StoreLogStore(s.store), {
      ...(this.options.retention === undefined ? {} : { retention: this.options.retention }),
      now: () => this.hub.ctx.nowMs(),
    });
    this.#log = log;
    await this.#track(log.prune());
    this.#server = new SyncServer({
      log,
      requests: s.ports.requests,
      authorize: (peer, groupId) => this.authorized(peer, logHex(groupId)),
      onPeerHeads: (_peer, heads) => {
        for (const h of heads) {
          const e = this.hub.groups.get(logHex(h.groupId));
          if (e?.session !== undefined && h.highestEpoch > e.session.epoch) this.catchUp(e);
        }
      },
    });
    this.#client = new SyncClient({
      log,
      requests: s.ports.requests,
      timeoutMs: this.options.timeoutMs ?? 10_000,
    });
    this.#offPeer = s.node.events.on('peer:online', ({ peerId }) => this.#onPeerOnline(peerId));
    const every = this.options.syncEveryMs ?? 60_000;
    this.#timer = setInterval(() => {
      void this.#track(log.prune()).catch(() => undefined);
      for (const e of this.hub.groups.values()) this.catchUp(e);
    }, every);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#offPeer?.();
    this.#offPeer = undefined;
    this.#server?.close();
    this.#server = undefined;
    this.#client = undefined;
    await Promise.all([...this.#writes].map((p) => p.catch(() => undefined)));
    this.#log = undefined;
    this.#pending.clear();
    this.#running.clear();
    this.#again.clear();
    this.#askFirst.clear();
    this.#turn.clear();
    this.#askAnother.clear();
    this.#anotherTurn.clear();
    this.#removed.clear();
    this.#refillFrom.clear();
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#writes.add(p);
    void p.finally(() => this.#writes.delete(p)).catch(() => undefined);
    return p;
  }

  /**
   * Whether `peer` is a device of a user holding a leaf of the group now, or of a user removed
   * within the last REMOVED_SERVED_EPOCHS epochs: a member removed while cut off learns of it
   * only from a log (it cannot read anything after the commit; ciphertexts only), and until it
   * does its last messages are settled nowhere else (the delivery README, "a member removed
   * while cut off"). Removals are remembered from this run's sessions (as the simulation does).
   */
  authorized(peer: PeerIdString, groupHex: string): boolean {
    if (this.#closed) return false;
    const user = this.hub.session.contacts.contactOfPeer(peer);
    const group = this.hub.groups.get(groupHex)?.group;
    if (user === undefined || group === undefined || !group.isActive) return false;
    if (group.members().some((m) => userIdOfCredential(m.credential) === user)) return true;
    const at = this.#removed.get(groupHex)?.get(user);
    return at !== undefined && group.epoch - at < REMOVED_SERVED_EPOCHS;
  }

  /** Remembers the users a merged commit removed (with the epoch it started), for `authorized`. */
  #noteRemoved(e: GroupEntry, epoch: bigint, removed: readonly GroupMember[]): void {
    let users = this.#removed.get(e.hex);
    if (users === undefined) this.#removed.set(e.hex, (users = new Map()));
    for (const [u, at] of users) if (epoch - at >= REMOVED_SERVED_EPOCHS) users.delete(u);
    for (const m of removed) {
      const user = userIdOfCredential(m.credential);
      if (user !== undefined) users.set(user, epoch);
    }
  }

  /** The channel port of a group's session: what passes through it is also kept in the log. */
  channels(inner: ChannelPort): ChannelPort {
    return {
      publish: (channel, data) => {
        void this.keep(data);
        return inner.publish(channel, data);
      },
      subscribe: (channel, onMessage) =>
        inner.subscribe(channel, (m) => {
          void this.keep(m.data);
          onMessage(m);
        }),
      subscribers: (channel) => inner.subscribers(channel),
    };
  }

  /** Starts listening to the session's `behind` reports and catches up once. */
  attach(e: GroupEntry, session: GroupSession): () => void {
    const offs = [
      session.on('behind', () => this.catchUp(e)),
      // The epoch just left is readable a little longer (MLS past epochs): fetch what the
      // channel lost of it now, before a quick run of commits leaves it behind.
      session.on('epoch', () => {
        this.#askAnother.add(e.hex);
        this.catchUp(e);
      }),
      session.on('membership', (m) => this.#noteRemoved(e, m.epoch, m.removed)),
      followLostForks(
        session,
        () => (this.#closed ? undefined : this.#log),
        e.id,
        (forkEpoch) => {
          const was = this.#refillFrom.get(e.hex);
          this.#refillFrom.set(e.hex, was === undefined || forkEpoch < was ? forkEpoch : was);
          this.catchUp(e);
        },
        (err) => {
          if (!this.#closed)
            console.error('app: lost branch', err instanceof Error ? err.name : err);
        },
      ),
    ];
    this.#replayRecent(session, e.id);
    this.catchUp(e);
    return () => {
      for (const off of offs) off();
    };
  }

  /**
   * A session starting (an unlock after a crash) is handed the application messages our log holds
   * from the epochs before its own that it keeps for late messages on: the log keeps a ciphertext
   * on arrival, before the ratchet step that decrypts it is stored with the message (or, for a
   * later epoch, before the session held it in memory), so a process killed in between holds
   * ciphertexts it never read, and a sync hands over entries new to the log only. MLS refuses
   * those it did read (their keys are gone); those of later epochs wait in the session's buffer.
   */
  #replayRecent(session: GroupSession, groupId: Uint8Array): void {
    const log = this.#log;
    if (log === undefined) return;
    const back = BigInt(this.options.backEpochs ?? 1);
    const from = session.epoch > back ? session.epoch - back : 0n;
    let cursor: LogCursor | undefined = { epoch: from, fromSeq: 0, commitDone: false };
    let left = REPLAY_LIMIT;
    while (cursor !== undefined && left > 0) {
      const page = log.readPage(groupId, cursor, REPLAY_PAGE_BYTES, left);
      for (const item of page.entries) {
        if (item.kind === EntryKind.application) replay(session, groupId, item);
      }
      left -= page.entries.length;
      cursor = page.next;
    }
  }

  /** Forgets a group's log (we left or were removed: we no longer serve it). */
  drop(e: GroupEntry): void {
    this.#pending.delete(e.hex);
    this.#removed.delete(e.hex);
    const log = this.#log;
    if (log !== undefined) void this.#track(log.dropGroup(e.id)).catch(() => undefined);
  }

  /**
   * Appends an envelope's content to the log; duplicates are the log's to drop. Resolves once it
   * is written (or refused); never rejects.
   */
  keep(data: Uint8Array): Promise<void> {
    const log = this.#log;
    if (log === undefined || this.#closed) return Promise.resolve();
    let env: GroupEnvelope;
    try {
      env = decodeEnvelope(data);
    } catch {
      return Promise.resolve(); // the session rejects it with a typed error; nothing to keep
    }
    const hex = logHex(env.groupId);
    const e = this.hub.groups.get(hex);
    if (e?.session === undefined) return Promise.resolve();
    const pending = this.#pendingOf(hex);
    return this.#track(this.#append(log, env, pending)).catch((err: unknown) => {
      // A second commit for an epoch is refused by the log (a fork, the session's to decide).
      if (!this.#closed)
        console.error('app: ciphertext log', err instanceof Error ? err.name : err);
    });
  }

  #pendingOf(hex: string): Pending {
    let p = this.#pending.get(hex);
    if (p === undefined) {
      p = { records: new Map(), commitIds: new Map() };
      this.#pending.set(hex, p);
    }
    return p;
  }

  async #append(log: CiphertextLog, env: GroupEnvelope, p: Pending): Promise<void> {
    const suite = this.hub.ctx.suite;
    switch (env.kind) {
      case EnvelopeKind.commit: {
        const key = logHex(commitHash(suite, env.mlsMessage));
        const record = p.records.get(key);
        const id = messageIdOf(env.mlsMessage);
        bounded(p.commitIds).set(key, id);
        await log.append(env.groupId, {
          kind: EntryKind.commit,
          epoch: env.epoch,
          message: env.mlsMessage,
          ...(record === undefined ? {} : { orderingRecord: record }),
        });
        if (record !== undefined) {
          p.records.delete(key);
          await log.attachOrderingRecord(env.groupId, id, record);
        }
        return;
      }
      case EnvelopeKind.orderingRecord: {
        const key = logHex(env.record.commitHash);
        const record = encodeOrderingRecord(env.record);
        const id = p.commitIds.get(key);
        if (id === undefined || !(await log.attachOrderingRecord(env.groupId, id, record))) {
          bounded(p.records).set(key, record);
        }
        return;
      }
      case EnvelopeKind.application:
      case EnvelopeKind.proposal:
        await log.append(env.groupId, {
          kind: env.kind === EnvelopeKind.application ? EntryKind.application : EntryKind.proposal,
          epoch: env.epoch,
          message: env.mlsMessage,
        });
        return;
      default:
        return; // heartbeats are not kept
    }
  }

  // ---- Catching up ---------------------------------------------------------------------------

  #onPeerOnline(peer: PeerIdString): void {
    for (const e of this.hub.groups.values()) {
      if (!this.authorized(peer, e.hex)) continue;
      let first = this.#askFirst.get(e.hex);
      if (first === undefined) this.#askFirst.set(e.hex, (first = new Set()));
      first.add(peer);
      this.catchUp(e);
    }
  }

  /** The peers of a catch-up: those that just came online, then the others from a rotating start. */
  #order(e: GroupEntry): PeerIdString[] {
    const all = this.#peersFor(e);
    const first = [...(this.#askFirst.get(e.hex) ?? [])].filter((p) => all.includes(p));
    this.#askFirst.delete(e.hex);
    const rest = all.filter((p) => !first.includes(p));
    const turn = this.#turn.get(e.hex) ?? 0;
    this.#turn.set(e.hex, turn + 1);
    const k = rest.length === 0 ? 0 : turn % rest.length;
    return [...first, ...rest.slice(k), ...rest.slice(0, k)];
  }

  /** Member devices we can ask: the group channel's peers and connected members' devices. */
  #peersFor(e: GroupEntry): PeerIdString[] {
    const s = this.hub.session;
    const out = new Set<PeerIdString>();
    for (const p of this.hub.onlinePeers(e)) if (this.authorized(p, e.hex)) out.add(p);
    for (const p of s.node.connectedPeers()) if (this.authorized(p, e.hex)) out.add(p);
    return [...out];
  }

  /** One catch-up at a time per group; a trigger during one runs another after it. */
  catchUp(e: GroupEntry): void {
    if (this.#closed || this.#client === undefined) return;
    const session = e.session;
    if (session === undefined || !session.isRunning) return;
    if (this.#running.has(e.hex)) {
      this.#again.add(e.hex);
      return;
    }
    this.#replayBacklog(session, e.id);
    const peers = this.#order(e);
    if (peers.length === 0) return;
    this.#running.add(e.hex);
    const client = this.#client;
    const back = BigInt(this.options.backEpochs ?? 1);
    const usual = session.epoch > back ? session.epoch - back : 0n;
    const refill = this.#refillFrom.get(e.hex);
    this.#refillFrom.delete(e.hex);
    const from = refill !== undefined && refill < usual ? refill : usual;
    const live = (): boolean => !this.#closed && e.session === session && session.isRunning;
    const once = async (asked: readonly PeerIdString[]): Promise<void> => {
      const result = await client.catchUp(e.id, from, asked, {
        deliver: (items) => {
          if (!live()) return;
          for (const item of items) replay(session, e.id, item);
        },
      });
      if (!live()) return;
      // A peer's commit for an epoch where we hold another is the other side of a fork: the
      // session's fork rule needs it (with its record) to pick the branch.
      for (const item of result.conflicts) replay(session, e.id, item);
      this.#replayBacklog(session, e.id);
    };
    const run = async (): Promise<void> => {
      await once(peers);
      // After an epoch change, one more peer (in turn among the others): application messages
      // have no sequence, so a first peer that lost one as we did looks complete (a catch-up
      // stops at the first peer holding every commit), and the epoch just left stays readable
      // only while MLS keeps it (test/delivery/sim/member.ts does the same).
      if (!this.#askAnother.delete(e.hex) || peers.length < 2 || !live()) return;
      const turn = this.#anotherTurn.get(e.hex) ?? 0;
      this.#anotherTurn.set(e.hex, turn + 1);
      await once([peers[1 + (turn % (peers.length - 1))]!]);
    };
    const done = run()
      .catch((err: unknown) => {
        if (live()) console.error('app: sync', err instanceof Error ? err.name : err);
      })
      .finally(() => {
        this.#running.delete(e.hex);
        if (this.#again.delete(e.hex)) this.catchUp(e);
      });
    void this.#track(done);
  }

  /** What our log holds past the session's epoch (logBacklog.ts), handed to it again. */
  #replayBacklog(session: GroupSession, groupId: Uint8Array): void {
    const log = this.#log;
    if (log === undefined) return;
    for (const item of logBacklog(log, groupId, session.epoch)) replay(session, groupId, item);
  }
}

/** Hands a log item to the session as the envelopes it came in. */
function replay(session: GroupSession, groupId: Uint8Array, item: SyncItem): void {
  const base = { groupId, epoch: item.epoch };
  const envs: GroupEnvelope[] = [];
  if (item.kind === EntryKind.commit) {
    envs.push({ ...base, kind: EnvelopeKind.commit, mlsMessage: item.message });
    if (item.orderingRecord !== undefined) {
      try {
        const record = decodeOrderingRecord(item.orderingRecord);
        envs.push({ ...base, kind: EnvelopeKind.orderingRecord, record });
      } catch {
        // A record that does not parse: the commit waits for a good one from elsewhere.
      }
    }
  } else if (item.kind === EntryKind.application) {
    envs.push({ ...base, kind: EnvelopeKind.application, mlsMessage: item.message });
  } else {
    envs.push({ ...base, kind: EnvelopeKind.proposal, mlsMessage: item.message });
  }
  for (const env of envs) session.receive(encodeEnvelope(env));
}

/** Keeps a pending map under MAX_PENDING entries (oldest out). */
function bounded<V>(m: Map<string, V>): Map<string, V> {
  while (m.size >= MAX_PENDING) m.delete(m.keys().next().value!);
  return m;
}
