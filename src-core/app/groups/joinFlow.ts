/**
 * How people get into a group: creating one (our own fresh leaf key, certified for this group
 * only), fetching contacts' KeyPackages from their devices and checking them against the pinned
 * user key, adding them (directly at creation, through the session's ordered commits later),
 * handing each new member its Welcome, and joining from a Welcome a contact hands us. A contact
 * offline is added from the directory and gets its Welcome by mailbox (offlineJoin.ts).
 */
import { randomBytes } from 'node:crypto';
import { checkKeyPackage } from '../../delivery/keyPackageDirectory.js';
import { DeliveryError } from '../../delivery/errors.js';
import type { GroupSession } from '../../delivery/groupSession.js';
import type { SessionEventName, SessionEvents } from '../../delivery/sessionEvents.js';
import type { Group, GroupMember } from '../../mls/client/index.js';
import { MlsClient } from '../../mls/client/index.js';
import { CredentialType } from '../../mls/credential.js';
import { createCredentialValidator, findDevice, newLeafCredential } from '../../identity/index.js';
import { AppError } from '../errors.js';

/** Our leaf certificate in a group we create (the KeyPackage leaves' lifetime, one year). */
export const GROUP_LEAF_LIFETIME_SECONDS = 365n * 24n * 3600n;
import { toAppError } from '../errorMapping.js';
import type { GroupEntry, GroupHub } from './groupHub.js';
import {
  DEFAULT_POLICY,
  parleyCapabilities,
  rulesExtension,
  rulesOf,
  userIdOfCredential,
} from './groupRules.js';
import { requestKeyPackage, sendWelcome, serveJoin } from './joinProtocol.js';
import { hexOf } from './messageLedger.js';
import { noKeyPackage } from './offlineJoin.js';

interface FetchedKeyPackage {
  readonly userId: string;
  readonly message: Uint8Array;
  readonly owner: Uint8Array;
  /** The device that answered; undefined for a package from the directory (it is offline). */
  readonly peer: string | undefined;
}

/** A Welcome not handed over yet: given directly when a device of the user comes online. */
interface Undelivered {
  readonly userId: string;
  readonly welcome: Uint8Array;
  readonly name: string;
  readonly untilMs: number;
}

/** How long an adder keeps trying to hand a Welcome over directly (the mailbox's 14 days). */
const UNDELIVERED_MS = 14 * 24 * 3600 * 1000;
const MAX_UNDELIVERED = 256;

export class JoinFlow {
  /** Welcomes owed to members being added, by their leaf signature key (hex). */
  readonly #owed = new Map<string, { peer: string | undefined; userId: string }>();
  readonly #undelivered: Undelivered[] = [];

  constructor(private readonly hub: GroupHub) {}

  serve(): () => void {
    const s = this.hub.session;
    return serveJoin(s.ports.requests, {
      isContactPeer: (from) => s.contacts.contactOfPeer(from) !== undefined,
      keyPackage: () => this.#ownKeyPackage(),
      welcome: (from, welcome, name) => this.#join(from, welcome, name),
    });
  }

  /** A fresh one-time KeyPackage of this device, listing what Parley groups need; stored. */
  async #ownKeyPackage(): Promise<Uint8Array> {
    const s = this.hub.session;
    const { client } = s.keyPackages;
    const batch = client.createKeyPackages({
      count: 1,
      lastResort: false,
      capabilities: parleyCapabilities(this.hub.ctx.suite, CredentialType.basic),
    });
    await s.store.write((tx) => s.putKeyPackages(tx));
    return batch.oneTime[0]!.message;
  }

  #join(from: string, welcome: Uint8Array, name: string): Promise<void> {
    const s = this.hub.session;
    const adder = s.contacts.contactOfPeer(from);
    if (adder === undefined) throw new DeliveryError('not_member', 'not a contact');
    return this.joinChecked(welcome, name, (group) => {
      // The contact who hands us the Welcome must be in the group.
      if (!group.members().some((m) => userIdOfCredential(m.credential) === adder)) {
        throw new DeliveryError('invalid_argument', 'a Welcome into a group without its sender');
      }
      return adder;
    });
  }

  /**
   * Joins from a Welcome once `adderOf` (which throws to refuse) names the contact who added us;
   * the group must carry Parley rules. A refused group is destroyed and nothing is stored.
   */
  async joinChecked(
    welcome: Uint8Array,
    name: string,
    adderOf: (group: Group) => string,
  ): Promise<void> {
    const hub = this.hub;
    const s = hub.session;
    let group;
    try {
      group = s.keyPackages.client.joinGroup(welcome, {
        config: hub.config,
        isGroupIdInUse: (id) => hub.groups.has(hexOf(id)),
      });
    } catch (cause) {
      throw new DeliveryError('mls_rejected', 'the Welcome was refused', { cause });
    }
    let adder: string;
    try {
      adder = adderOf(group);
      if (rulesOf(group.state.groupContext.extensions) === undefined) {
        throw new DeliveryError('invalid_argument', 'a Welcome into a group without rules');
      }
    } catch (err) {
      group.destroy();
      // MLS deleted the one-time package the Welcome used: a package a stranger added us with
      // is spent at its holder anyway, so its deletion is stored rather than undone.
      await s.store.write((tx) => s.putKeyPackages(tx));
      throw err;
    }
    const now = hub.ctx.nowMs();
    const tx = s.store.transaction();
    const entry = await hub.addGroup(tx, group, {
      name: name.length > 0 ? name : 'Group',
      state: 'active',
      createdAtMs: now,
      readThrough: 0n,
      sentSinceUpdate: 0,
      lastUpdateMs: now,
      epoch: Number(group.epoch),
    });
    const logged = hub.logEntry(tx, entry, 'added', adder, hub.myUserId);
    // The consumed KeyPackage's private keys go in the same batch as the group they opened.
    s.putKeyPackages(tx);
    await tx.commit();
    hub.startSession(entry);
    hub.emitLog(entry, logged);
    hub.views.emitGroup(entry);
  }

  /** One checked KeyPackage per user, from the first of its devices that answers. */
  async fetchKeyPackages(userIds: readonly string[]): Promise<FetchedKeyPackage[]> {
    const s = this.hub.session;
    const validator = createCredentialValidator({
      records: s.records,
      now: () => this.hub.ctx.nowSeconds(),
      cipherSuite: this.hub.ctx.suite.id,
    });
    const out: FetchedKeyPackage[] = [];
    for (const userId of new Set(userIds)) {
      if (userId === s.userId) throw new AppError('bad_request', 'we are in the group already');
      const contact = s.trust.contact(userId);
      if (contact === undefined) throw new AppError('not_found', 'not a contact');
      if (contact.state === 'changed') {
        throw new AppError('conflict', `${contact.displayName}'s key changed; accept it first`);
      }
      const peers = [...(s.contacts.get(userId)?.peerIds ?? [])];
      let got: FetchedKeyPackage | undefined;
      for (const peer of peers) {
        try {
          const message = await requestKeyPackage(s.ports.requests, peer);
          const kp = checkKeyPackage(this.hub.ctx.suite, message, this.hub.ctx.nowSeconds());
          const check = validator.checkCredential(kp.keyPackage.leafNode.credential, kp.owner, {
            expectedUserKey: contact.userKey,
          });
          if (!check.ok) continue;
          got = { userId, message, owner: kp.owner, peer };
          void this.hub.offline.rememberOwner(userId, kp.owner).catch(() => undefined);
          break;
        } catch {
          // This device is offline or answered badly; try the next one.
        }
      }
      if (got === undefined) {
        // Offline: a package it left with its contacts (the directory), checked alike.
        const kp = await this.hub.offline.keyPackageOf(userId);
        const check =
          kp === undefined
            ? undefined
            : validator.checkCredential(kp.keyPackage.leafNode.credential, kp.owner, {
                expectedUserKey: contact.userKey,
              });
        if (kp === undefined || check?.ok !== true) throw noKeyPackage(contact.displayName);
        got = { userId, message: kp.message, owner: kp.owner, peer: undefined };
      }
      out.push(got);
    }
    return out;
  }

  /** A new group with us as its admin and the given contacts in it (epoch 1). */
  async create(name: string, memberIds: readonly string[]): Promise<GroupEntry> {
    const hub = this.hub;
    const s = hub.session;
    const suite = hub.ctx.suite;
    const kps = await this.fetchKeyPackages(memberIds);
    const cert = findDevice(s.identity.record, s.identity.deviceKey.publicKey);
    if (cert === undefined) throw new AppError('internal', 'our record does not list this device');
    const groupId = new Uint8Array(randomBytes(32));
    const now = hub.ctx.nowSeconds();
    const leaf = newLeafCredential({
      suite,
      userKey: s.identity.record.userKey,
      deviceCertificate: cert,
      deviceKey: s.identity.deviceKey,
      groupId,
      notBefore: now - 300n,
      notAfter: now + GROUP_LEAF_LIFETIME_SECONDS,
    });
    const client = new MlsClient({
      suite,
      credential: leaf.credential,
      signatureKeyPair: leaf.signatureKeyPair,
      config: hub.config,
    });
    const group = client.createGroup({
      groupId,
      capabilities: parleyCapabilities(suite, CredentialType.basic),
      extensions: [rulesExtension({ admins: [s.userId], policy: DEFAULT_POLICY })],
      config: hub.config,
    });
    let welcome: Uint8Array | undefined;
    if (kps.length > 0) {
      // Nobody else is in the group yet: the first commit needs no ordering.
      const out = group.add(kps.map((k) => k.message));
      group.merge(out.pending);
      welcome = out.welcome;
    }
    const nowMs = hub.ctx.nowMs();
    const tx = s.store.transaction();
    const entry = await hub.addGroup(tx, group, {
      name,
      state: 'active',
      createdAtMs: nowMs,
      readThrough: 0n,
      sentSinceUpdate: 0,
      lastUpdateMs: nowMs,
      epoch: Number(group.epoch),
    });
    const logged = [hub.logEntry(tx, entry, 'created', s.userId, undefined, name, 0n)];
    for (const k of kps) logged.push(hub.logEntry(tx, entry, 'added', s.userId, k.userId));
    await tx.commit();
    hub.startSession(entry);
    for (const l of logged) hub.emitLog(entry, l);
    if (welcome !== undefined) {
      await Promise.all(kps.map((k) => this.#deliver(entry, welcome, k.owner, k.userId, k.peer)));
    }
    return entry;
  }

  /** Adds contacts through the session; resolves once the commit adding them is merged. */
  async add(e: GroupEntry, userIds: readonly string[]): Promise<void> {
    const active = this.hub.active(e.hex);
    const present = new Set(this.hub.views.members(e).map((m) => m.userId));
    const kps = await this.fetchKeyPackages(userIds.filter((u) => !present.has(u)));
    if (kps.length === 0) return;
    for (const k of kps) this.#owed.set(hexOf(k.owner), { peer: k.peer, userId: k.userId });
    const owners = new Set(kps.map((k) => hexOf(k.owner)));
    const merged = waitFor(active.session, 'membership', (m) =>
      m.added.some((a) => owners.has(hexOf(a.signatureKey))),
    );
    active.session.add(kps.map((k) => k.message));
    await merged;
  }

  /** The session merged our commit adding `added`: hand each its Welcome. */
  deliverWelcomes(e: GroupEntry, welcome: Uint8Array, added: readonly GroupMember[]): void {
    for (const m of added) {
      const owed = this.#owed.get(hexOf(m.signatureKey));
      if (owed === undefined) continue;
      this.#owed.delete(hexOf(m.signatureKey));
      void this.#deliver(e, welcome, m.signatureKey, owed.userId, owed.peer);
    }
  }

  /**
   * Hands the Welcome to the device that gave the package if it is online; otherwise leaves it
   * in the member's mailbox at the group's devices online and hands it over directly when a
   * device of the member comes online (whichever comes first joins; the other is refused).
   */
  async #deliver(
    e: GroupEntry,
    welcome: Uint8Array,
    recipient: Uint8Array,
    userId: string,
    peer: string | undefined,
  ): Promise<void> {
    const name = e.meta.name;
    if (peer !== undefined && (await this.#handOver(peer, welcome, name))) return;
    const s = this.hub.session;
    const peers = [...(s.contacts.get(userId)?.peerIds ?? [])];
    try {
      await this.hub.offline.deposit(e, welcome, recipient, peers);
    } catch (err) {
      console.error('app: a Welcome was not mailed', toAppError(err, 'welcome').code);
    }
    this.#undelivered.push({
      userId,
      welcome,
      name,
      untilMs: this.hub.ctx.nowMs() + UNDELIVERED_MS,
    });
    while (this.#undelivered.length > MAX_UNDELIVERED) this.#undelivered.shift();
  }

  /** A contact's device came online: the Welcomes it still lacks, directly. */
  retryWelcomes(peer: string): void {
    const s = this.hub.session;
    const userId = s.contacts.contactOfPeer(peer);
    const now = this.hub.ctx.nowMs();
    for (let i = this.#undelivered.length - 1; i >= 0; i--) {
      const u = this.#undelivered[i]!;
      if (u.untilMs < now) this.#undelivered.splice(i, 1);
      else if (u.userId === userId) {
        this.#undelivered.splice(i, 1);
        void this.#handOver(peer, u.welcome, u.name, true);
      }
    }
  }

  async #handOver(
    peer: string,
    welcome: Uint8Array,
    name: string,
    retry = false,
  ): Promise<boolean> {
    try {
      await sendWelcome(this.hub.session.ports.requests, peer, welcome, name);
      return true;
    } catch (err) {
      // Refused on a retry: the member joined from its mailbox already (or cannot use it).
      if (!retry) {
        console.error('app: a Welcome was not handed over', toAppError(err, 'welcome').code);
      }
      return false;
    }
  }
}

/** Resolves with the first session event `name` matching `match` (AppError after `timeoutMs`). */
export function waitFor<K extends SessionEventName>(
  session: GroupSession,
  name: K,
  match: (e: SessionEvents[K]) => boolean,
  timeoutMs = 60_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new AppError('unavailable', 'the group did not confirm the change in time'));
    }, timeoutMs);
    const off = session.on(name, (ev) => {
      if (!match(ev)) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}
