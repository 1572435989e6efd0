/**
 * A user's devices are separate members of the user's groups. This keeps them so:
 *
 * - **Linking.** When a device links to us (devicesService.ts), the groups we are in at that moment
 *   are written down for it (namespace `device-fanout`). Whenever that device's peer is online we
 *   ask it for one fresh KeyPackage per group (the `'groupjoin'` request: its peer is bound to our
 *   user, see ownDevices.ts), check it against our own user key and the linked device key, push our
 *   newest record to the group's devices online (so they know the device before the commit that
 *   adds it arrives: their credential check needs it), add it through the group session (ordered
 *   commits, re-made if a fork loses them) and hand it the Welcome. The group's rules let a member
 *   add a device of its own user whatever the membership policy (groupRules.ts). The new device
 *   starts at the epoch that added it: MLS gives it no key to anything sent before.
 * - **Revocation.** A device revoked in its user's newest record (identity gossip, an
 *   introduction, or our own `devices.revoke`) is removed from every group we share with it: every
 *   member that may propose the removal (an admin, anyone under `membership = everyone`, any
 *   device of the same user) asks its session to remove the leaf; the sessions' intents converge
 *   on one commit. Until then the hub refuses the revoked device's messages (deviceRevocation.ts).
 * - **Our own record.** Records of our own user arriving from our other devices (gossip, their
 *   introductions) replace ours when newer; one that revokes this device closes every group here
 *   (the device learns it was removed even if it missed the commit).
 *
 * ```
 * struct { uint16 version = 1; opaque group_ids<V><V>; } PendingFanout;  // key: device id (hex)
 * ```
 */
import { decode, encode, opaque, refine, struct, uint16, vector } from '../../codec/index.js';
import type { Codec } from '../../codec/index.js';
import { DeliveryError } from '../../delivery/errors.js';
import { checkKeyPackage } from '../../delivery/keyPackageDirectory.js';
import { NetError } from '../../net/index.js';
import {
  createCredentialValidator,
  decodeIdentityRecord,
  encodeIdentityRecord,
  findDevice,
  isRevoked,
  parseParleyCredential,
} from '../../identity/index.js';
import type { GroupMember } from '../../mls/client/index.js';
import type { IdentityRecord } from '../../identity/index.js';
import type { AppContext, Session, SessionParticipant } from '../appContext.js';
import { deviceIdOf, userIdOf } from '../appContext.js';
import { CONTACT_PROTOCOL } from '../contactsService.js';
import { AppError } from '../errors.js';
import { publishOwnRecord } from '../identityService.js';
import { checkIntroduction, makeIntroduction } from '../introduction.js';
import { fetchOwnContacts, serveOwnContacts } from '../ownContacts.js';
import { bindOwnPeer, ownPeers, unbindOwnDevice } from '../ownDevices.js';
import { revokedMembers } from './deviceRevocation.js';
import type { GroupEntry } from './groupHub.js';
import { GroupHub } from './groupHub.js';
import { roleOf } from './groupRules.js';
import { requestKeyPackage, sendWelcome } from './joinProtocol.js';
import { waitFor } from './joinFlow.js';
import { hexOf } from './messageLedger.js';

export const DEVICE_FANOUT_NS = 'device-fanout';
const FANOUT_VERSION = 1;
/** Groups written down for one linked device; a person in more than this is not expected. */
const MAX_FANOUT_GROUPS = 10_000;

interface PendingFanout {
  readonly version: number;
  readonly groupIds: Uint8Array[];
}

const pendingCodec: Codec<PendingFanout> = struct<PendingFanout>({
  version: refine(uint16, (v) => (v === FANOUT_VERSION ? undefined : `fanout version ${v}`)),
  groupIds: refine(vector(opaque), (g) =>
    g.length <= MAX_FANOUT_GROUPS ? undefined : 'too many groups',
  ),
});

const equal = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** A Welcome we made for our device whose hand-over failed: tried again when it is next online. */
interface OwedWelcome {
  readonly groupHex: string;
  readonly welcome: Uint8Array;
  readonly name: string;
}

const fanouts = new WeakMap<AppContext, DeviceFanout>();

export class DeviceFanout implements SessionParticipant {
  #session: Session | undefined;
  #offs: (() => void)[] = [];
  /** One run per device at a time (by device id). */
  readonly #running = new Map<string, Promise<void>>();
  readonly #owed = new Map<string, OwedWelcome[]>();
  /** `<group hex>:<signature key hex>` removals asked of a session and not yet merged. */
  readonly #removing = new Set<string>();
  #sinkBefore: Session['recordSink'];
  /** Groups this device was in or joined this session (a new one is written down for the rest). */
  readonly #known = new Set<string>();
  /** Per user key (hex): the record sequence whose revocations were swept for already. */
  readonly #swept = new Map<string, bigint>();
  #pendingChain: Promise<void> = Promise.resolve();

  private constructor(readonly ctx: AppContext) {}

  /**
   * The one fan-out of a context. It must join after the group hub (ParleyApp builds it after the
   * groups service), so that it opens once the groups are loaded.
   */
  static of(ctx: AppContext): DeviceFanout {
    let f = fanouts.get(ctx);
    if (f === undefined) {
      f = new DeviceFanout(ctx);
      fanouts.set(ctx, f);
      GroupHub.of(ctx);
      ctx.join(f);
    }
    return f;
  }

  get #hub(): GroupHub {
    return GroupHub.of(this.ctx);
  }

  async open(s: Session): Promise<void> {
    this.#session = s;
    this.#sinkBefore = s.recordSink;
    const before = this.#sinkBefore;
    s.recordSink = (bytes, from) => {
      before?.(bytes, from);
      void this.#onRecord(s, bytes).catch(() => undefined);
    };
    this.#offs.push(
      serveOwnContacts(s),
      s.node.events.on('peer:online', ({ peerId }) => {
        if (s.contacts.contactOfPeer(peerId) === s.userId) this.meet(peerId);
      }),
      this.ctx.events.on((ev) => {
        if (ev.event === 'contact.changed') {
          const key = s.trust.contact(ev.data.contact.userId)?.userKey;
          if (key !== undefined) this.#sweepOnce(s, key);
        } else if (ev.event === 'group.changed') {
          const g = ev.data.group;
          if (g.state !== 'active' || this.#known.has(g.groupId)) return;
          this.#known.add(g.groupId);
          // A tree received on joining is checked for its chains only (identity README).
          this.sweep(undefined, g.groupId);
          void this.#joined(s, g.groupId).catch((err: unknown) => {
            if (this.#live(s))
              console.error('app: device fan-out', err instanceof Error ? err.name : err);
          });
        }
      }),
    );
    for (const e of this.#hub.groups.values()) this.#known.add(e.hex);
    for (const p of s.node.connectedPeers()) {
      if (s.contacts.contactOfPeer(p) === s.userId) this.meet(p);
    }
    this.sweep();
  }

  async close(s: Session): Promise<void> {
    for (const off of this.#offs.splice(0)) off();
    if (s.recordSink !== undefined) s.recordSink = this.#sinkBefore;
    this.#sinkBefore = undefined;
    // Runs in flight stop at their next step (#live); a commit they wait for times out unheard.
    this.#running.clear();
    this.#owed.clear();
    this.#removing.clear();
    this.#known.clear();
    this.#swept.clear();
    this.#session = undefined;
  }

  #live(s: Session): boolean {
    return this.#session === s && !s.closed;
  }

  // ---- Linking ---------------------------------------------------------------------------------

  /**
   * A device just linked to us from `peerId` (the link protocol proved both): bind its peer, write
   * down our active groups for it, keep a connection to it, and start adding it.
   */
  async linked(s: Session, peerId: string, deviceKey: Uint8Array): Promise<void> {
    const hub = this.#hub;
    const groupIds = [...hub.groups.values()]
      .filter((e) => e.meta.state === 'active' && e.session?.isRunning === true)
      .map((e) => e.id)
      .slice(-MAX_FANOUT_GROUPS);
    await s.store.write((tx) => {
      bindOwnPeer(s, tx, s.userId, peerId, deviceKey, this.ctx.nowMs());
      s.store
        .namespace(DEVICE_FANOUT_NS)
        .put(
          tx,
          deviceIdOf(deviceKey),
          encode(pendingCodec, { version: FANOUT_VERSION, groupIds }),
        );
    });
    await s.node.addContact(peerId, []).catch(() => undefined);
    // The new device restarts its session right after linking; its coming back online runs it
    // again if this first attempt finds it gone.
    this.meet(peerId);
  }

  /**
   * One of our devices' peers is online: learn (or confirm) which device it is from its
   * introduction, take its record if newer, then add it to the groups written down for it.
   */
  meet(peerId: string): void {
    const s = this.#session;
    if (s === undefined) return;
    const key = `peer:${peerId}`;
    const previous = this.#running.get(key) ?? Promise.resolve();
    const run = previous
      .then(() => this.#meet(s, peerId))
      .catch((err: unknown) => {
        // The device gone or refusing (restarting after the link, revoked) is expected: its
        // next coming online runs this again. Anything else is worth a line.
        if (this.#live(s) && !(err instanceof DeliveryError) && !(err instanceof NetError)) {
          console.error('app: own device fan-out', err instanceof Error ? err.name : err);
        }
      })
      .finally(() => {
        if (this.#running.get(key) === run) this.#running.delete(key);
      });
    this.#running.set(key, run);
  }

  async #meet(s: Session, peerId: string): Promise<void> {
    if (!this.#live(s)) return;
    const intro = makeIntroduction(s.identity.record, s.identity.deviceKey, s.node.peerId);
    let answer: Uint8Array;
    try {
      answer = await s.ports.requests.request(peerId, CONTACT_PROTOCOL, intro);
    } catch (err) {
      // Refused by a device of ours: it may have revoked us. Its record says so (identity pulls
      // are answered to anyone); it arrives through the record sink like a pushed one.
      if (this.#live(s)) await s.identityGossip.pullFrom(peerId).catch(() => undefined);
      throw err;
    }
    if (!this.#live(s)) return;
    const checked = checkIntroduction(answer, peerId, this.ctx.nowSeconds());
    if (!equal(checked.record.userKey, s.identity.record.userKey)) return;
    await this.#adoptOwnRecord(s, checked.recordBytes);
    if (!this.#live(s)) return;
    const known = (await ownPeers(s)).find((p) => p.peerId === peerId);
    if (known === undefined) return; // unbound meanwhile (revoked)
    if (known.deviceKey === undefined || !equal(known.deviceKey, checked.deviceKey)) {
      await s.store.write((tx) =>
        bindOwnPeer(s, tx, s.userId, peerId, checked.deviceKey, this.ctx.nowMs()),
      );
    }
    if (isRevoked(s.identity.record, checked.deviceKey)) return;
    // Its contacts we lack (a linked device starts with none); best effort, the next meeting
    // asks again.
    await fetchOwnContacts(s, peerId).catch(() => 0);
    if (!this.#live(s)) return;
    await this.#handOverOwed(s, peerId, deviceIdOf(checked.deviceKey));
    await this.#fanOut(s, peerId, checked.deviceKey);
  }

  /**
   * This device created or joined a group: our other devices are written down for it (whoever
   * added us added one device of ours), and those online are met now.
   */
  async #joined(s: Session, groupHex: string): Promise<void> {
    const self = s.identity.deviceKey.publicKey;
    const others = s.identity.record.devices.filter((d) => !equal(d.deviceKey, self));
    if (others.length === 0) return;
    const groupId = new Uint8Array(Buffer.from(groupHex, 'hex'));
    for (const d of others) {
      await this.#updatePending(s, deviceIdOf(d.deviceKey), (l) =>
        l.some((g) => equal(g, groupId)) ? l : [...l, groupId].slice(-MAX_FANOUT_GROUPS),
      );
    }
    const wanted = new Set(others.map((d) => deviceIdOf(d.deviceKey)));
    for (const p of await ownPeers(s)) {
      if (p.deviceKey === undefined || !wanted.has(deviceIdOf(p.deviceKey))) continue;
      if (s.node.isConnected(p.peerId)) this.meet(p.peerId);
    }
  }

  async #pending(s: Session, deviceId: string): Promise<Uint8Array[]> {
    const bytes = await s.store.namespace(DEVICE_FANOUT_NS).get(deviceId);
    if (bytes === undefined) return [];
    try {
      return decode(pendingCodec, bytes).groupIds;
    } catch (cause) {
      throw new AppError('internal', 'a stored device fan-out does not decode', { cause });
    }
  }

  async #setPending(s: Session, deviceId: string, groupIds: readonly Uint8Array[]): Promise<void> {
    const ns = s.store.namespace(DEVICE_FANOUT_NS);
    await s.store.write((tx) => {
      if (groupIds.length === 0) ns.delete(tx, deviceId);
      else
        ns.put(
          tx,
          deviceId,
          encode(pendingCodec, { version: FANOUT_VERSION, groupIds: [...groupIds] }),
        );
    });
  }

  /** Read-modify-write of a device's list, one at a time (linking, joining, fan-out race). */
  #updatePending(
    s: Session,
    deviceId: string,
    change: (groupIds: Uint8Array[]) => Uint8Array[],
  ): Promise<void> {
    const run = this.#pendingChain.then(async () => {
      await this.#setPending(s, deviceId, change(await this.#pending(s, deviceId)));
    });
    this.#pendingChain = run.catch(() => undefined);
    return run;
  }

  /**
   * Adds the device at `peerId` to each group written down for it, one group at a time. The
   * device gone ends the run (its next coming online starts another); one group failing (MLS
   * refused, no confirmation in time) stays written down and does not hold the others up.
   */
  async #fanOut(s: Session, peerId: string, deviceKey: Uint8Array): Promise<void> {
    const deviceId = deviceIdOf(deviceKey);
    for (const groupId of await this.#pending(s, deviceId)) {
      if (!this.#live(s)) return;
      try {
        await this.#addTo(s, groupId, peerId, deviceKey);
      } catch (err) {
        if (err instanceof DeliveryError || err instanceof NetError) throw err;
        if (this.#live(s)) {
          console.error('app: a device not added', err instanceof Error ? err.name : err);
        }
        continue;
      }
      await this.#updatePending(s, deviceId, (l) => l.filter((g) => !equal(g, groupId)));
    }
  }

  /** Adds our device to one group (nothing when the group is gone or the device is in it). */
  async #addTo(
    s: Session,
    groupId: Uint8Array,
    peerId: string,
    deviceKey: Uint8Array,
  ): Promise<void> {
    const hub = this.#hub;
    const e = hub.groups.get(hexOf(groupId));
    if (e === undefined || e.meta.state !== 'active' || e.session?.isRunning !== true) return;
    const active = hub.active(e.hex);
    if (deviceLeaf(active.group.members(), deviceKey) !== undefined) return;
    const message = await requestKeyPackage(s.ports.requests, peerId);
    const kp = checkKeyPackage(this.ctx.suite, message, this.ctx.nowSeconds());
    const validator = createCredentialValidator({
      records: s.records,
      now: () => this.ctx.nowSeconds(),
      cipherSuite: this.ctx.suite.id,
    });
    const check = validator.checkCredential(kp.keyPackage.leafNode.credential, kp.owner, {
      expectedUserKey: s.identity.record.userKey,
    });
    if (!check.ok || !equal(check.deviceKey, deviceKey)) {
      throw new AppError('forbidden', 'our device offered a KeyPackage of another device');
    }
    // The members' devices online must know the device before the commit adding it arrives.
    const record = encodeIdentityRecord(s.identity.record);
    await Promise.allSettled(hub.onlinePeers(e).map((p) => s.identityGossip.pushTo(p, [record])));
    const owner = kp.owner;
    const deviceId = deviceIdOf(deviceKey);
    // Listened to until the Welcome comes: a commit merged after we stopped waiting (below)
    // still owes the device its Welcome. Only our own commit brings one (another device of ours
    // adding it first brings none here).
    const offWelcome = active.session.on('welcome', (w) => {
      if (!w.added.some((m) => equal(m.signatureKey, owner))) return;
      offWelcome();
      void this.#deliver(s, deviceId, peerId, {
        groupHex: e.hex,
        welcome: w.welcome,
        name: e.meta.name,
      });
    });
    const merged = waitFor(active.session, 'membership', (m) =>
      m.added.some((a) => equal(a.signatureKey, owner)),
    );
    active.session.add([message]);
    await merged;
  }

  /** Hands a Welcome to our device, or keeps it for the device's next coming online. */
  async #deliver(s: Session, deviceId: string, peerId: string, w: OwedWelcome): Promise<void> {
    if (!this.#live(s) || (await this.#handOver(s, peerId, w))) return;
    if (!this.#live(s)) return;
    const list = this.#owed.get(deviceId) ?? [];
    list.push(w);
    this.#owed.set(deviceId, list);
  }

  async #handOver(s: Session, peerId: string, w: OwedWelcome): Promise<boolean> {
    try {
      await sendWelcome(s.ports.requests, peerId, w.welcome, w.name);
      return true;
    } catch {
      return false;
    }
  }

  async #handOverOwed(s: Session, peerId: string, deviceId: string): Promise<void> {
    const list = this.#owed.get(deviceId);
    if (list === undefined) return;
    this.#owed.delete(deviceId);
    const left: OwedWelcome[] = [];
    for (const w of list) if (!(await this.#handOver(s, peerId, w))) left.push(w);
    if (left.length > 0) this.#owed.set(deviceId, left);
  }

  // ---- Revocation ------------------------------------------------------------------------------

  /** We revoked `deviceKey`: unbind its peers, forget its fan-out, remove it from our groups. */
  async revoked(s: Session, deviceKey: Uint8Array): Promise<void> {
    const deviceId = deviceIdOf(deviceKey);
    this.#owed.delete(deviceId);
    await s.store.write((tx) => s.store.namespace(DEVICE_FANOUT_NS).delete(tx, deviceId));
    await unbindOwnDevice(s, deviceKey);
    this.sweep(s.identity.record.userKey);
  }

  /**
   * A contact changed (presence, a record): sweep its user's devices once per record that
   * revokes any, not on every presence change.
   */
  #sweepOnce(s: Session, userKey: Uint8Array): void {
    const record = s.records.newestRecord(userKey);
    if (record === undefined || record.revoked.length === 0) return;
    const id = hexOf(userKey);
    if (this.#swept.get(id) === record.sequence) return;
    this.#swept.set(id, record.sequence);
    this.sweep(userKey);
  }

  /**
   * Asks each group's session to remove the revoked devices we may remove: in every group, or in
   * `groupHex` only; of every user, or of the user with key `userKey` only.
   */
  sweep(userKey?: Uint8Array, groupHex?: string): void {
    const s = this.#session;
    if (s === undefined || !this.#live(s)) return;
    const hub = this.#hub;
    const groups =
      groupHex === undefined
        ? [...hub.groups.values()]
        : [hub.groups.get(groupHex)].flatMap((x) => (x === undefined ? [] : [x]));
    for (const e of groups) {
      if (e.meta.state !== 'active' || e.session?.isRunning !== true || e.group === undefined) {
        continue;
      }
      this.#sweepGroup(s, e, userKey);
    }
  }

  #sweepGroup(s: Session, e: GroupEntry, userKey: Uint8Array | undefined): void {
    const session = e.session!;
    const group = session.group;
    const members = group.members();
    const present = new Set(members.map((m) => `${e.hex}:${hexOf(m.signatureKey)}`));
    for (const k of this.#removing) {
      if (k.startsWith(`${e.hex}:`) && !present.has(k)) this.#removing.delete(k);
    }
    const rules = this.#hub.rules(e);
    const mayRemoveOthers =
      rules?.policy.membership === 'everyone' || roleOf(rules, s.userId) === 'admin';
    const leaves: number[] = [];
    for (const c of revokedMembers(members, s.records, this.ctx.nowSeconds(), userKey)) {
      if (c.leafIndex === group.ownLeaf) continue;
      const own = c.userKey !== undefined && userIdOf(c.userKey) === s.userId;
      if (!own && !mayRemoveOthers) continue;
      const m = members.find((x) => x.leafIndex === c.leafIndex)!;
      const key = `${e.hex}:${hexOf(m.signatureKey)}`;
      if (this.#removing.has(key)) continue;
      this.#removing.add(key);
      leaves.push(c.leafIndex);
    }
    if (leaves.length === 0) return;
    try {
      session.remove(leaves);
    } catch (err) {
      console.error('app: removing revoked devices', err instanceof Error ? err.name : err);
    }
  }

  // ---- Our own record --------------------------------------------------------------------------

  async #onRecord(s: Session, bytes: Uint8Array): Promise<void> {
    if (!this.#live(s)) return;
    let userKey: Uint8Array;
    try {
      userKey = decodeIdentityRecord(bytes).userKey;
    } catch {
      return;
    }
    if (equal(userKey, s.identity.record.userKey)) await this.#adoptOwnRecord(s, bytes);
  }

  /**
   * A record of our own user signed on another device. Newer and listing this device: it becomes
   * ours. Newer and revoking this device: kept in the record book, and every group closes here.
   */
  async #adoptOwnRecord(s: Session, bytes: Uint8Array): Promise<void> {
    let record: IdentityRecord;
    try {
      record = decodeIdentityRecord(bytes);
    } catch {
      return;
    }
    if (record.sequence <= s.identity.record.sequence) return;
    const self = s.identity.deviceKey.publicKey;
    if (findDevice(record, self) !== undefined && !isRevoked(record, self)) {
      // Checks the signature; stores it; hands it to our contacts (they may not have it yet).
      await publishOwnRecord(s, record);
      // Another device of ours revoked one: as if we had (its peers unbound, groups swept).
      for (const r of record.revoked) {
        this.#owed.delete(deviceIdOf(r.deviceKey));
        await unbindOwnDevice(s, r.deviceKey);
      }
      if (record.revoked.length > 0) this.sweep(record.userKey);
      return;
    }
    const outcome = s.records.add(bytes);
    if (outcome.kind !== 'replaced' && outcome.kind !== 'new') return;
    await s.store.write((tx) => s.putTrust(tx));
    const hub = this.#hub;
    for (const e of [...hub.groups.values()]) {
      if (e.meta.state === 'active') hub.closeRevoked(e);
    }
  }
}

/** The leaf of `deviceKey`'s device among `members`, if any. */
function deviceLeaf(members: readonly GroupMember[], deviceKey: Uint8Array): number | undefined {
  for (const m of members) {
    try {
      if (equal(parseParleyCredential(m.credential).deviceCertificate.deviceKey, deviceKey)) {
        return m.leafIndex;
      }
    } catch {
      // not a Parley credential: not one of our devices
    }
  }
  return undefined;
}
