/**
 * The live groups of an unlocked profile, shared by the groups, messages and attachments services:
 * one GroupSession per active group, the group states in the store, each group's message ledger
 * and membership log, and the events the UI sees.
 *
 * Persistence: every change of a group's MLS state (a message sent or received, a merged commit)
 * is saved through `store.groups` in the same transaction as what it carries (the message, the
 * membership entries), one transaction at a time per group (`#persist`). A group's state is
 * therefore never behind its stored messages, and a message is never stored without the ratchet
 * step that decrypted it. (Fork points kept by the session are not stored: after a restart a fork
 * older than the restart is resolved by the delivery layer's rejoin path, not by a switch.)
 */
import { groupChannel } from '../../delivery/channel.js';
import { SenderType } from '../../mls/framing/sender.js';
import { GroupSession } from '../../delivery/groupSession.js';
import type { ChannelPort } from '../../delivery/ports.js';
import { createCredentialValidator } from '../../identity/index.js';
import type { Group, GroupMember } from '../../mls/client/index.js';
import { Group as MlsGroup } from '../../mls/client/index.js';
import type { GroupConfig } from '../../mls/group/index.js';
import type { OrderedLog, StoredGroup, Transaction } from '../../store/index.js';
import type { MembershipLogEntry } from '../api.js';
import type { AppContext, Session, SessionParticipant } from '../appContext.js';
import type { AppContent } from '../content/index.js';
import { ContentType, decodeAppContent, encodeAppContent } from '../content/index.js';
import { AppError } from '../errors.js';
import { isRevokedCredential } from './deviceRevocation.js';
import type { GroupRules } from './groupRules.js';
import { parleyProposalPolicy, roleOf, rulesOf, userIdOfCredential } from './groupRules.js';
import type { GroupMeta, StoredLogEntry, StoredMessage } from './groupRecords.js';
import {
  GROUP_META_NS,
  decodeGroupMeta,
  decodeLogEntry,
  encodeGroupMeta,
  encodeLogEntry,
  membershipLogName,
} from './groupRecords.js';
import type { LedgerChange } from './messageLedger.js';
import { MessageLedger, hexOf } from './messageLedger.js';
import { GroupViews } from './groupViews.js';
import { JoinFlow } from './joinFlow.js';
import { KeyPolicy } from './keyPolicy.js';
import { ChunkTransfers } from './chunkTransfers.js';
import { GroupSync } from './groupSync.js';
import { GroupRejoin } from './groupRejoin.js';
import { keepElection, resumeElection } from './electionKeep.js';
import { OfflineJoin } from './offlineJoin.js';
import { UnsentEnvelopes, isApplicationEnvelope } from './unsentEnvelopes.js';
import type { QueuedWrite } from './groupBatch.js';
import { flushWrites } from './groupBatch.js';
import type { AttachmentManifest } from '../content/index.js';

export interface GroupEntry {
  readonly id: Uint8Array;
  readonly hex: string;
  meta: GroupMeta;
  /** The stored MLS state; undefined once we are out of the group (its keys are deleted). */
  stored: StoredGroup | undefined;
  /** The group's MLS state while we are in it (the session's). */
  group: Group | undefined;
  session: GroupSession | undefined;
  readonly ledger: MessageLedger;
  readonly mlog: OrderedLog;
  /** Our sends awaiting the network, by the session's local id: (message id hex). */
  readonly sends: Map<number, string>;
  leaving: boolean;
  /** The committer's leaf of the latest merged commit (from the session's `epoch` event). */
  committer: number | undefined;
  chain: Promise<void>;
  /** Writes waiting for the group's next batch (`persist`). */
  readonly writes: QueuedWrite[];
  readonly off: (() => void)[];
}

export interface HubOptions {
  /** How often key updates and disappearing messages are checked (ms, default 30 s). */
  readonly policyTickMs?: number;
  /** Session timing overrides (tests). */
  readonly sessionTiming?: ConstructorParameters<typeof GroupSession>[0]['timing'];
}

const hubs = new WeakMap<AppContext, GroupHub>();

export class GroupHub implements SessionParticipant {
  readonly groups = new Map<string, GroupEntry>();
  readonly views: GroupViews;
  readonly joins: JoinFlow;
  readonly chunks: ChunkTransfers;
  /** Store and forward: the ciphertext log, the 'sync' server and catch-ups. */
  readonly sync: GroupSync;
  /** KeyPackages from the directory and Welcomes by mailbox (contacts offline). */
  readonly offline: OfflineJoin;
  /** Our application messages stored with their batch until our ciphertext log holds them. */
  readonly unsent = new UnsentEnvelopes(this);
  /** Rejoining by external commit: GroupInfo server, fetcher, resync rule (groupRejoin.ts). */
  readonly rejoin = new GroupRejoin(this);
  #session: Session | undefined;
  #config: GroupConfig | undefined;
  /** Key updates, disappearing messages, idle members, rule changes (keyPolicy.ts). */
  readonly policy: KeyPolicy;
  #unserve: (() => void)[] = [];
  /** `<group hex>:<leaf>` of members whose self-removal we saw proposed. */
  readonly #leavers = new Set<string>();

  private constructor(
    readonly ctx: AppContext,
    readonly options: HubOptions = {},
  ) {
    this.views = new GroupViews(this);
    this.joins = new JoinFlow(this);
    this.chunks = new ChunkTransfers(this);
    this.sync = new GroupSync(this, ctx.options.storeAndForward);
    this.offline = new OfflineJoin(this);
    this.policy = new KeyPolicy(this);
  }

  /** The one hub of a context (the three services share it); it joins the session once. */
  static of(ctx: AppContext, options?: HubOptions): GroupHub {
    let hub = hubs.get(ctx);
    if (hub === undefined) {
      hub = new GroupHub(ctx, options);
      hubs.set(ctx, hub);
      ctx.join(hub);
    }
    return hub;
  }

  get session(): Session {
    if (this.#session === undefined) throw new AppError('locked', 'the profile is locked');
    return this.#session;
  }

  get myUserId(): string {
    return this.session.userId;
  }

  /** The MLS config of every Parley group: credentials checked by identity, roles enforced. */
  get config(): GroupConfig {
    if (this.#config === undefined) throw new AppError('locked', 'the profile is locked');
    return this.#config;
  }

  async open(session: Session): Promise<void> {
    this.#session = session;
    const validator = createCredentialValidator({
      records: session.records,
      now: () => this.ctx.nowSeconds(),
      cipherSuite: this.ctx.suite.id,
    });
    this.#config = {
      validateCredential: validator.validate,
      proposalPolicy: (proposal, sender, state) => {
        const ok = parleyProposalPolicy(proposal, sender, state);
        // A member removing itself is leaving: remembered so the log says so once it is merged.
        if (
          ok &&
          'remove' in proposal &&
          sender.senderType === SenderType.member &&
          proposal.remove.removed === sender.leafIndex
        ) {
          this.#leavers.add(`${hexOf(state.groupId)}:${sender.leafIndex}`);
        }
        return ok;
      },
      now: () => this.ctx.nowSeconds(),
    };
    await this.sync.open(session);
    const metaNs = session.store.namespace(GROUP_META_NS);
    for await (const [hex, metaBytes] of metaNs.entries()) {
      const meta = decodeGroupMeta(metaBytes);
      const id = new Uint8Array(Buffer.from(hex, 'hex'));
      if (meta.state !== 'active') {
        await this.#entry(id, meta, undefined, undefined);
        continue;
      }
      const stored = await session.store.groups.load(id, { config: this.#config });
      const entry = await this.#entry(id, meta, stored, new MlsGroup(stored.state));
      if (entry.group?.isActive === true) this.startSession(entry);
    }
    this.#unserve = [
      this.joins.serve(),
      this.chunks.serve(),
      this.offline.open(session),
      this.rejoin.serve(),
      session.node.events.on('peer:online', ({ peerId }) => this.joins.retryWelcomes(peerId)),
    ];
    this.policy.start(this.options.policyTickMs ?? 30_000);
  }

  async close(): Promise<void> {
    this.policy.stop();
    for (const off of this.#unserve.splice(0)) off();
    await this.sync.close();
    for (const e of this.groups.values()) {
      e.session?.stop();
      for (const off of e.off.splice(0)) off();
    }
    await Promise.all([...this.groups.values()].map((e) => e.chain.catch(() => undefined)));
    for (const e of this.groups.values()) e.group?.destroy();
    this.groups.clear();
    this.#session = undefined;
    this.#config = undefined;
  }

  async #entry(
    id: Uint8Array,
    meta: GroupMeta,
    stored: StoredGroup | undefined,
    group: Group | undefined,
  ): Promise<GroupEntry> {
    const s = this.session;
    const hex = hexOf(id);
    const entry: GroupEntry = {
      id,
      hex,
      meta,
      stored,
      group,
      session: undefined,
      ledger: await MessageLedger.open(s.store, hex),
      mlog: await s.store.log(membershipLogName(hex)),
      sends: new Map(),
      leaving: false,
      committer: undefined,
      chain: Promise.resolve(),
      writes: [],
      off: [],
    };
    this.groups.set(hex, entry);
    return entry;
  }

  /** A new group entry, stored in `tx` with its first state and meta. */
  async addGroup(tx: Transaction, group: Group, meta: GroupMeta): Promise<GroupEntry> {
    const s = this.session;
    if (this.groups.has(hexOf(group.groupId))) {
      throw new AppError('conflict', 'we are in this group already');
    }
    const stored = await s.store.groups.create(tx, group.groupId, group.state);
    s.store.namespace(GROUP_META_NS).put(tx, hexOf(group.groupId), encodeGroupMeta(meta));
    return this.#entry(group.groupId, meta, stored, group);
  }

  get(groupHex: string): GroupEntry {
    const e = this.groups.get(groupHex);
    if (e === undefined) throw new AppError('not_found', 'no such group');
    return e;
  }

  active(groupHex: string): GroupEntry & { session: GroupSession; group: Group } {
    const e = this.get(groupHex);
    if (e.meta.state !== 'active' || e.group === undefined) {
      throw new AppError('conflict', 'we are no longer in this group');
    }
    // A group just joined is listed once its state is stored, a moment before its session runs.
    if (e.session === undefined || !e.session.isRunning) {
      throw new AppError('busy', 'the group is starting; try again');
    }
    return e as GroupEntry & { session: GroupSession; group: Group };
  }

  attachmentComplete(m: AttachmentManifest): Promise<boolean> {
    return this.chunks.complete(m);
  }

  rules(e: GroupEntry): GroupRules | undefined {
    return e.group === undefined ? undefined : rulesOf(e.group.state.groupContext.extensions);
  }

  // ---- Sessions --------------------------------------------------------------------------------

  startSession(e: GroupEntry): void {
    const s = this.session;
    if (e.group === undefined) throw new AppError('internal', 'a group without its state');
    const inner = this.sync.channels(s.ports.channels);
    // Nothing leaves before the state that made it is on disk: a publish waits for the group's
    // pending transactions (a send stores its ratchet step in the one it runs in). Otherwise a
    // crash between the two would restore an older sender ratchet and encrypt again under a key
    // and nonce already used. An application message is also written itself in that batch, and
    // published again at unlock if a crash kept it from our log (unsentEnvelopes.ts).
    const channels: ChannelPort = {
      publish: (channel, data) =>
        isApplicationEnvelope(data)
          ? this.unsent.publish(e, s.ports.channels, channel, data)
          : e.chain.then(() => inner.publish(channel, data)),
      subscribe: (channel, onMessage) => inner.subscribe(channel, onMessage),
      subscribers: (channel) => inner.subscribers(channel),
    };
    const session = new GroupSession({
      group: e.group,
      ports: { clock: s.ports.clock, channels },
      ...(this.options.sessionTiming === undefined ? {} : { timing: this.options.sessionTiming }),
      rejoin: this.rejoin.options(e),
      ...resumeElection(e),
    });
    e.session = session;
    e.off.push(keepElection(this, e, session));
    e.off.push(
      session.on('epoch', (ev) => {
        e.committer = ev.committer;
        // A rejoin replaces the session's group (the old one is destroyed) before its 'epoch'.
        if (session.isRunning) e.group = session.group;
      }),
      session.on('message', (m) => this.#onMessage(e, m.sender, m.data)),
      session.on('membership', (m) =>
        this.#onMembership(e, m.epoch, m.added, m.removed, m.updated),
      ),
      session.on('welcome', (w) => this.joins.deliverWelcomes(e, w.welcome, w.added)),
      session.on('removed', () => this.#onRemoved(e)),
      session.on('notDelivered', (n) => this.#markSend(e, n.id, 'failed')),
      session.on('sendFailed', (n) => {
        if (n.id !== undefined) this.#markSend(e, n.id, 'failed');
      }),
      this.policy.attach(e, session),
      this.rejoin.attach(e, session),
    );
    session.start();
    e.off.push(this.sync.attach(e, session));
    void this.unsent.resend(e, s.ports.channels, groupChannel(e.id)).catch((err: unknown) => {
      console.error('app: unsent messages', err instanceof Error ? err.name : err);
    });
  }

  /** Peers that are in the group's channel now (members' devices online). */
  onlinePeers(e: GroupEntry): readonly string[] {
    return this.session.ports.channels.subscribers(groupChannel(e.id));
  }

  // ---- Persistence -----------------------------------------------------------------------------

  /**
   * Runs `fill` and saves the group's current state in one transaction, after the group's earlier
   * transactions. Resolves with `fill`'s result once committed. Writes queued meanwhile share a
   * batch (groupBatch.ts says why).
   */
  persist<T>(e: GroupEntry, fill: (tx: Transaction) => Promise<T> | T): Promise<T> {
    const done = new Promise<T>((resolve, reject) => {
      e.writes.push({ fill, resolve: resolve as (value: unknown) => void, reject });
    });
    e.chain = e.chain.then(() => flushWrites(this, e));
    return done;
  }

  // ---- Sending ---------------------------------------------------------------------------------

  /** Encrypts and sends our content, stores it with the state in one transaction. */
  async send(e: GroupEntry, content: AppContent): Promise<LedgerChange> {
    const active = this.active(e.hex);
    let bytes: Uint8Array;
    try {
      bytes = encodeAppContent(content);
    } catch (cause) {
      // Our own content out of bounds (an over-long text, an empty emoji): the caller's mistake.
      throw new AppError('bad_request', 'the message breaks the content limits', { cause });
    }
    const change = await this.persist(e, async (tx) => {
      const c = await e.ledger.apply(tx, this.myUserId, true, content, this.ctx.nowMs());
      const localId = active.session.send(bytes);
      e.meta.sentSinceUpdate++;
      if (c.kind === 'added') {
        e.sends.set(localId, hexOf(content.messageId));
        c.message.delivery = 'delivered';
        e.ledger.replace(tx, c.seq, c.message);
      }
      if (content.body.type === ContentType.rename) e.meta.name = content.body.name;
      return c;
    });
    this.policy.afterSend(e);
    return change;
  }

  #markSend(e: GroupEntry, localId: number, to: 'failed'): void {
    const idHex = e.sends.get(localId);
    if (idHex === undefined) return;
    e.sends.delete(localId);
    void this.persist(e, async (tx) => {
      const found = await e.ledger.find(Buffer.from(idHex, 'hex'));
      if (found === undefined) return;
      found.message.delivery = to;
      e.ledger.replace(tx, found.seq, found.message);
    }).catch(() => undefined);
  }

  // ---- Incoming --------------------------------------------------------------------------------

  #onMessage(e: GroupEntry, sender: GroupMember, data: Uint8Array): void {
    const senderId = userIdOfCredential(sender.credential);
    let content: AppContent | undefined;
    try {
      // A device its user revoked is refused from the moment we know, before the commit that
      // removes it (deviceRevocation.ts).
      const revoked = isRevokedCredential(this.session.records, sender.credential);
      content = senderId === undefined || revoked ? undefined : decodeAppContent(data);
    } catch {
      content = undefined; // Bad content from a member: the ratchet step is still saved.
    }
    void this.persist(e, async (tx) => {
      if (content === undefined || senderId === undefined) return { kind: 'none' } as const;
      const body = content.body;
      if (body.type === ContentType.rename) {
        const rules = this.rules(e);
        if (rules?.policy.membership === 'admins' && roleOf(rules, senderId) !== 'admin') {
          return { kind: 'none' } as const;
        }
        e.meta.name = body.name;
        const entry = this.logEntry(tx, e, 'renamed', senderId, undefined, body.name);
        return { kind: 'log', entry } as const;
      }
      return e.ledger.apply(tx, senderId, false, content, this.ctx.nowMs());
    })
      .then((c) => {
        if (c.kind === 'log') {
          this.emitLog(e, c.entry);
          this.views.emitGroup(e);
        } else this.views.emitLedger(e, c);
      })
      .catch(() => undefined);
  }

  #onMembership(
    e: GroupEntry,
    epoch: bigint,
    added: readonly GroupMember[],
    removed: readonly GroupMember[],
    updated: readonly number[],
  ): void {
    const ownLeaf = e.group?.ownLeaf;
    // Our leaf is renewed by an Update of ours, or by our own commit (its path).
    const own = ownLeaf !== undefined && (updated.includes(ownLeaf) || e.committer === ownLeaf);
    if (own) {
      e.meta.sentSinceUpdate = 0;
      e.meta.lastUpdateMs = this.ctx.nowMs();
    }
    const actor = this.#userAt(e, e.committer) ?? this.myUserId;
    // A user's other device joining or going (linking, revocation: deviceFanout.ts) is logged as
    // such when another leaf of that user stays in the group.
    const after = (e.session?.group ?? e.group)?.members() ?? [];
    const staying = (m: GroupMember): boolean => {
      const id = userIdOfCredential(m.credential);
      return (
        id !== undefined &&
        after.some((x) => x.leafIndex !== m.leafIndex && userIdOfCredential(x.credential) === id)
      );
    };
    void this.persist(e, (tx) => {
      const entries: StoredLogEntry[] = [];
      for (const m of added) {
        const id = userIdOfCredential(m.credential);
        const change = staying(m) ? 'device_added' : 'added';
        entries.push(this.logEntry(tx, e, change, actor, id, undefined, epoch));
      }
      for (const m of removed) {
        const id = userIdOfCredential(m.credential);
        const left = this.#leavers.delete(`${e.hex}:${m.leafIndex}`);
        const by = left && id !== undefined ? id : actor;
        const change = left ? 'left' : staying(m) ? 'device_removed' : 'removed';
        entries.push(this.logEntry(tx, e, change, by, id, undefined, epoch));
      }
      // A commit's own path renews its committer's keys; only a commit that changed nobody's
      // membership is logged as a key update.
      if (added.length === 0 && removed.length === 0) {
        const renewed = new Set(updated);
        if (e.committer !== undefined) renewed.add(e.committer);
        for (const leaf of renewed) {
          const id = this.#userAt(e, leaf);
          if (id !== undefined) {
            entries.push(this.logEntry(tx, e, 'keys_updated', id, id, undefined, epoch));
          }
        }
      }
      return entries;
    })
      .then((entries) => {
        for (const entry of entries) this.emitLog(e, entry);
        this.views.emitGroup(e);
      })
      .catch(() => undefined);
  }

  #userAt(e: GroupEntry, leaf: number | undefined): string | undefined {
    if (leaf === undefined) return undefined;
    const m = e.group?.members().find((x) => x.leafIndex === leaf);
    return m === undefined ? undefined : userIdOfCredential(m.credential);
  }

  /**
   * Our own device was revoked (a newer record of our user says so, deviceFanout.ts): the group
   * closes here as if a commit had removed us, whether or not that commit reached us.
   */
  closeRevoked(e: GroupEntry): void {
    if (e.meta.state !== 'active') return;
    e.session?.stop();
    this.#onRemoved(e);
  }

  /**
   * A commit removed us: the history stays readable, the MLS state (every key of the group) is
   * deleted from memory and from the store in the same transaction as the log entry.
   */
  #onRemoved(e: GroupEntry): void {
    e.meta.state = e.leaving ? 'left' : 'removed';
    for (const off of e.off.splice(0)) off();
    const session = e.session;
    e.session = undefined;
    this.sync.drop(e);
    void this.persist(e, async (tx) => {
      const entry = this.logEntry(
        tx,
        e,
        e.leaving ? 'left' : 'removed',
        this.myUserId,
        this.myUserId,
      );
      await this.session.store.groups.delete(tx, e.id);
      e.stored = undefined;
      if (session !== undefined) session.destroy();
      else e.group?.destroy();
      e.group = undefined;
      return entry;
    })
      .then((entry) => {
        this.emitLog(e, entry);
        this.views.emitGroup(e);
      })
      .catch(() => undefined);
  }

  // ---- Membership log --------------------------------------------------------------------------

  logEntry(
    tx: Transaction,
    e: GroupEntry,
    change: StoredLogEntry['change'],
    actorUserId: string,
    subjectUserId: string | undefined,
    detail?: string,
    epoch: bigint = BigInt(e.meta.epoch),
  ): StoredLogEntry {
    const entry: StoredLogEntry = {
      epoch: Number(epoch),
      atMs: this.ctx.nowMs(),
      change,
      actorUserId,
      subjectUserId,
      detail,
    };
    e.mlog.append(tx, encodeLogEntry(entry));
    return entry;
  }

  emitLog(e: GroupEntry, entry: StoredLogEntry): void {
    this.ctx.events.emit('group.member_changed', {
      groupId: e.hex,
      entry: this.views.logView(entry),
    });
  }

  async membershipLog(
    e: GroupEntry,
    before: bigint | undefined,
    limit: number,
  ): Promise<{ entries: MembershipLogEntry[]; next: bigint | null }> {
    if (before !== undefined && before <= 1n) return { entries: [], next: null };
    const page = await e.mlog.page({
      direction: 'backward',
      limit: limit + 1,
      ...(before === undefined ? {} : { from: before - 1n }),
    });
    const kept = page.slice(0, limit);
    const entries = kept.map((p) => this.views.logView(decodeLogEntry(p.value)));
    const last = kept[kept.length - 1];
    return { entries, next: last === undefined || page.length <= limit ? null : last.seq };
  }
}

export type { StoredMessage };
