/**
 * `contacts.*`: adding people by invite code, their identity records, trust on first use, safety
 * numbers and verification, key changes, online and LAN presence.
 *
 * A contact is made when an introduction (introduction.ts) checks: over the invite redeem
 * protocol for a new contact, over the `contact` request protocol when a known contact's device
 * connects again. Each introduction goes through the trust store: a first key is pinned, a known
 * key refreshes the record, and another key from a peer that proved to be the contact's device is
 * a key change, held until the user decides. After an exchange both sides top up the KeyPackages
 * they leave with each other (delivery's key-package directory), so either can add the other to a
 * group while the other is offline.
 */
import {
  compareSafetyQr,
  decodeIdentityRecord,
  encodeIdentityRecord,
  findDevice,
  isRevoked,
  safetyHalf,
  safetyNumber,
  safetyQrMatrix,
  safetyQrPayload,
} from '../identity/index.js';
import { RequestRefused } from '../net/index.js';
import { DeliveryError } from '../delivery/errors.js';
import type {
  Contact,
  NearbyUser,
  SafetyCheck,
  SafetyNumberView,
  UserId,
  VerifyParams,
  VerifyResult,
} from './api.js';
import type { AppContext, Session, SessionParticipant } from './appContext.js';
import { userIdOf } from './appContext.js';
import { fromBase64Url, qrOfModules } from './dto.js';
import { mapped } from './errorMapping.js';
import { AppError } from './errors.js';
import type { CheckedIntroduction } from './introduction.js';
import { IntroductionError, checkIntroduction, makeIntroduction } from './introduction.js';
import type { ContactsService } from './services.js';

/** The request protocol on which known contacts' devices exchange introductions. */
export const CONTACT_PROTOCOL = 'contact';
/** KeyPackages a contact should hold for us: refilled to `perHolder` under `lowWater`. */
const KEY_PACKAGE_LOW_WATER = 2;
/** Strangers seen on the LAN kept for `nearby` (oldest dropped). */
const MAX_NEARBY = 64;

const equal = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The app's user id for a user key: the contact it is pinned to (a contact keeps its id across an
 * accepted key change), else the key's own fingerprint id. Groups name members with this.
 */
export function userIdFor(session: Session, userKey: Uint8Array): UserId {
  if (equal(userKey, session.identity.record.userKey)) return session.userId;
  return session.trust.contactByKey(userKey)?.id ?? userIdOf(userKey);
}

type Accepted = { kind: 'self' } | { kind: 'contact'; id: string; keyChanged: boolean };

export class ContactsServiceImpl implements ContactsService, SessionParticipant {
  readonly #offs: (() => void)[] = [];
  /** Peers found by mDNS this session (LAN presence). */
  readonly #lanPeers = new Set<string>();
  readonly #nearby = new Map<string, NearbyUser>();

  constructor(private readonly ctx: AppContext) {
    ctx.join(this);
  }

  async open(s: Session): Promise<void> {
    this.#lanPeers.clear();
    this.#nearby.clear();
    s.node.invites.setRedeemHandler((peerId, payload) => this.#onRedeem(s, peerId, payload));
    this.#offs.push(
      s.ports.requests.handle(CONTACT_PROTOCOL, (body, from) => this.#onHello(s, body, from)),
      s.node.events.on('peer:online', ({ peerId }) => this.#onPeer(s, peerId, true)),
      s.node.events.on('peer:offline', ({ peerId }) => this.#onPeer(s, peerId, false)),
      s.node.events.on('peer:discovered', ({ peerId }) => {
        this.#lanPeers.add(peerId);
        const id = s.contacts.contactOfPeer(peerId);
        if (id !== undefined) this.#emitChanged(s, id);
      }),
    );
    s.recordSink = (bytes, from) => void this.#onGossipRecord(s, bytes, from);
  }

  async close(s: Session): Promise<void> {
    for (const off of this.#offs.splice(0)) off();
    s.node.invites.setRedeemHandler(() => {
      throw new RequestRefused('unavailable');
    });
    s.recordSink = undefined;
  }

  // ---- calls ----------------------------------------------------------------------------------

  list(): Promise<Contact[]> {
    return mapped('contacts.list', async () => {
      const s = this.ctx.session();
      return s.contacts.ids().flatMap((id) => this.#view(s, id) ?? []);
    });
  }

  addByInviteCode(p: { code: string }): Promise<Contact> {
    return mapped('contacts.addByInviteCode', async () => {
      const s = this.ctx.session();
      const intro = makeIntroduction(s.identity.record, s.identity.deviceKey, s.node.peerId);
      const redeemed = await s.node.invites.redeem(p.code, intro, { nowMs: this.ctx.nowMs() });
      const checked = this.#check(redeemed.payload, redeemed.peerId);
      const accepted = await this.#accept(s, checked, redeemed.peerId);
      if (accepted.kind === 'self') {
        throw new AppError('bad_request', 'this invite is from one of your own devices');
      }
      // The inviter knows us now; a hello lets it leave KeyPackages with us, and ours go to it.
      void this.#exchange(s, redeemed.peerId);
      return this.#view(s, accepted.id)!;
    });
  }

  nearby(): Promise<NearbyUser[]> {
    return mapped('contacts.nearby', async () => {
      const s = this.ctx.session();
      if (!s.settings.lanDiscovery) return [];
      return [...this.#nearby.values()].filter((n) => s.contacts.get(n.userId) === undefined);
    });
  }

  safetyNumber(p: { userId: UserId }): Promise<SafetyNumberView> {
    return mapped('contacts.safetyNumber', async () => {
      const s = this.ctx.session();
      const t = this.#trusted(s, p.userId);
      // While a key change is undecided the number shown is the new key's: it is what the user
      // compares to decide.
      const n = safetyNumber(s.identity.record.userKey, t.claimedKey ?? t.userKey);
      return {
        userId: p.userId,
        digits: n.digits,
        groups: [...n.groups],
        qr: qrOfModules(safetyQrMatrix(safetyQrPayload(n))),
      };
    });
  }

  verify(p: VerifyParams): Promise<VerifyResult> {
    return mapped('contacts.verify', async () => {
      const s = this.ctx.session();
      const t = this.#trusted(s, p.userId);
      const now = this.ctx.nowSeconds();
      const ours = s.identity.record.userKey;
      let check: SafetyCheck | 'confirmed_by_user';
      if (p.scannedQr === undefined) {
        s.trust.markVerified(p.userId, t.claimedKey ?? t.userKey, 'safety_number', now);
        check = 'confirmed_by_user';
      } else {
        const scanned = fromBase64Url(p.scannedQr, 'scannedQr');
        const keys = t.claimedKey === undefined ? [t.userKey] : [t.claimedKey, t.userKey];
        check = 'unreadable';
        for (const key of keys) {
          const outcome = compareSafetyQr(scanned, safetyNumber(ours, key));
          if (outcome.kind === 'match') {
            s.trust.markVerified(p.userId, key, 'qr', now);
            check = 'match';
            break;
          }
          if (outcome.kind === 'mismatch' && check === 'unreadable') {
            check = outcome.theirKeyDiffers
              ? outcome.ourKeyDiffers
                ? 'both_differ'
                : 'their_key_differs'
              : 'our_key_differs';
          }
        }
      }
      if (check === 'match' || check === 'confirmed_by_user') {
        await s.store.write((tx) => s.putTrust(tx));
      }
      const contact = this.#view(s, p.userId)!;
      this.ctx.events.emit('contact.changed', { contact });
      return { contact, check };
    });
  }

  acceptKeyChange(p: { userId: UserId }): Promise<Contact> {
    return mapped('contacts.acceptKeyChange', async () => {
      const s = this.ctx.session();
      const t = this.#trusted(s, p.userId);
      if (t.state !== 'changed') throw new AppError('conflict', 'the contact has no key change');
      s.trust.acceptNewKey(p.userId);
      await s.store.write((tx) => s.putTrust(tx));
      return this.#emitChanged(s, p.userId)!;
    });
  }

  /** The user keeps the pinned key; the new key's claim is dropped. */
  rejectKeyChange(p: { userId: UserId }): Promise<Contact> {
    return mapped('contacts.rejectKeyChange', async () => {
      const s = this.ctx.session();
      const t = this.#trusted(s, p.userId);
      if (t.state !== 'changed') throw new AppError('conflict', 'the contact has no key change');
      s.trust.rejectNewKey(p.userId);
      await s.store.write((tx) => s.putTrust(tx));
      return this.#emitChanged(s, p.userId)!;
    });
  }

  // ---- introductions ---------------------------------------------------------------------------

  #check(bytes: Uint8Array, from: string): CheckedIntroduction {
    try {
      return checkIntroduction(bytes, from, this.ctx.nowSeconds());
    } catch (err) {
      if (err instanceof IntroductionError) {
        throw new AppError('forbidden', `the peer's introduction was refused (${err.reason})`, {
          cause: err,
        });
      }
      throw err;
    }
  }

  /**
   * An introduction that checked, from `peerId`. Pins, refreshes or flags a key change; binds the
   * peer to the contact (not for a key change: the peer stays with the key it proved before);
   * stores the trust store, record book and contact book in one batch.
   */
  async #accept(s: Session, c: CheckedIntroduction, peerId: string): Promise<Accepted> {
    const key = c.record.userKey;
    if (equal(key, s.identity.record.userKey)) return { kind: 'self' };
    const now = this.ctx.nowSeconds();
    let id = s.trust.contactByKey(key)?.id ?? s.contacts.contactOfPeer(peerId) ?? userIdOf(key);
    const previousKey = s.trust.contact(id)?.userKey;
    let outcome = s.trust.observe(id, key, c.record.displayName, now);
    if (outcome.kind === 'key_pinned_elsewhere') {
      id = outcome.otherContact;
      outcome = s.trust.observe(id, key, c.record.displayName, now);
    }
    if (outcome.kind === 'key_pinned_elsewhere') {
      throw new AppError('conflict', 'the key is claimed by another contact');
    }
    s.records.add(encodeIdentityRecord(c.record));
    const keyChanged = outcome.kind === 'key_changed';
    await s.store.write((tx) => {
      if (!keyChanged) s.contacts.bind(tx, id, peerId, this.ctx.nowMs());
      s.putTrust(tx);
    });
    if (keyChanged && previousKey !== undefined) {
      this.ctx.events.emit('contact.key_changed', {
        userId: id,
        displayName: s.trust.contact(id)!.displayName,
        previousFingerprint: safetyHalf(previousKey).digits,
        newFingerprint: safetyHalf(key).digits,
        groupIds: this.ctx.groupsOfUser(id),
      });
    }
    this.#emitChanged(s, id);
    return { kind: 'contact', id, keyChanged };
  }

  /** Inviter side of an invite: the invitee's introduction for ours. */
  async #onRedeem(s: Session, peerId: string, payload: Uint8Array): Promise<Uint8Array> {
    let checked: CheckedIntroduction;
    try {
      checked = checkIntroduction(payload, peerId, this.ctx.nowSeconds());
    } catch (err) {
      if (err instanceof IntroductionError) throw new RequestRefused(err.reason);
      throw err;
    }
    const accepted = await this.#accept(s, checked, peerId);
    if (accepted.kind === 'self') throw new RequestRefused('own_device');
    return makeIntroduction(s.identity.record, s.identity.deviceKey, s.node.peerId);
  }

  /** A contact's device introduces itself again (it connected, or it just redeemed our invite). */
  async #onHello(s: Session, body: Uint8Array, from: string): Promise<Uint8Array> {
    if (s.contacts.contactOfPeer(from) === undefined && !this.#newDeviceOfContact(s, body, from)) {
      // Our record goes to contacts only; strangers get nothing from us here.
      throw new DeliveryError('not_member', 'not a contact');
    }
    let checked: CheckedIntroduction;
    try {
      checked = checkIntroduction(body, from, this.ctx.nowSeconds());
    } catch (err) {
      throw new DeliveryError('identity_record_invalid', 'introduction refused', { cause: err });
    }
    const accepted = await this.#accept(s, checked, from);
    if (accepted.kind === 'contact' && !accepted.keyChanged) void this.#topUp(s, from);
    return makeIntroduction(s.identity.record, s.identity.deviceKey, s.node.peerId);
  }

  /**
   * An unbound peer whose introduction proves a current device of a pinned contact (linked after
   * we met; it learnt of us from the contact's other device, ownContacts.ts) is that contact's.
   */
  #newDeviceOfContact(s: Session, body: Uint8Array, from: string): boolean {
    try {
      const c = checkIntroduction(body, from, this.ctx.nowSeconds());
      const t = s.trust.contactByKey(c.record.userKey);
      // Not a device the newest record we hold revoked or dropped (its old record still lists it).
      const newest = s.records.newestRecord(c.record.userKey);
      if (newest !== undefined && isRevoked(newest, c.deviceKey)) return false;
      if (newest !== undefined && newest.sequence > c.record.sequence) {
        if (findDevice(newest, c.deviceKey) === undefined) return false;
      }
      return t !== undefined && t.state !== 'changed';
    } catch {
      return false;
    }
  }

  /** Sends our introduction to a contact's device and takes its answer. */
  async #exchange(s: Session, peerId: string): Promise<void> {
    try {
      const intro = makeIntroduction(s.identity.record, s.identity.deviceKey, s.node.peerId);
      const answer = await s.ports.requests.request(peerId, CONTACT_PROTOCOL, intro);
      if (s.closed) return;
      const accepted = await this.#accept(s, this.#check(answer, peerId), peerId);
      if (accepted.kind === 'contact' && !accepted.keyChanged) await this.#topUp(s, peerId);
    } catch {
      // Best effort: the next connection tries again.
    }
  }

  async #topUp(s: Session, peerId: string): Promise<void> {
    if (s.closed) return;
    try {
      await s.keyPackages.publisher.topUp([peerId], {
        lowWater: KEY_PACKAGE_LOW_WATER,
        perHolder: this.ctx.options.keyPackagesPerContact ?? 8,
      });
      // The packages just made are held by the contact: their private keys must survive us.
      if (!s.closed) await s.store.write((tx) => s.putKeyPackages(tx));
    } catch {
      // The next exchange tops up again.
    }
  }

  #onPeer(s: Session, peerId: string, online: boolean): void {
    const id = s.contacts.contactOfPeer(peerId);
    if (id === undefined) return;
    this.#emitChanged(s, id);
    if (online) void this.#exchange(s, peerId);
  }

  /**
   * A record accepted by identity gossip (pushed by a contact, or announced on the LAN). Only
   * records of pinned contacts enter the record book; strangers on the LAN are listed as nearby.
   */
  async #onGossipRecord(s: Session, bytes: Uint8Array, from: string): Promise<void> {
    if (s.closed) return;
    try {
      const record = decodeIdentityRecord(bytes);
      if (equal(record.userKey, s.identity.record.userKey)) return;
      const contact = s.trust.contactByKey(record.userKey);
      if (contact === undefined) {
        if (this.#lanPeers.has(from)) this.#rememberNearby(record.userKey, record.displayName);
        return;
      }
      const outcome = s.records.add(bytes);
      if (outcome.kind !== 'replaced' && outcome.kind !== 'equivocation') return;
      s.trust.observe(contact.id, record.userKey, record.displayName, this.ctx.nowSeconds());
      await s.store.write((tx) => s.putTrust(tx));
      this.#emitChanged(s, contact.id);
    } catch {
      // A record the book refuses changes nothing.
    }
  }

  #rememberNearby(userKey: Uint8Array, displayName: string): void {
    const userId = userIdOf(userKey);
    this.#nearby.delete(userId);
    // LAN announcements carry records, not invite codes: the code is asked for when adding.
    this.#nearby.set(userId, { userId, displayName, inviteCode: '' });
    while (this.#nearby.size > MAX_NEARBY) this.#nearby.delete(this.#nearby.keys().next().value!);
  }

  // ---- views -----------------------------------------------------------------------------------

  #trusted(s: Session, userId: UserId) {
    const t = s.trust.contact(userId);
    if (t === undefined || s.contacts.get(userId) === undefined) {
      throw new AppError('not_found', 'no such contact');
    }
    return t;
  }

  #view(s: Session, id: string): Contact | undefined {
    const t = s.trust.contact(id);
    const e = s.contacts.get(id);
    if (t === undefined || e === undefined) return undefined;
    const peers = [...e.peerIds];
    return {
      userId: id,
      displayName: t.displayName,
      verification: t.state === 'changed' ? 'key_changed' : t.state,
      online: peers.some((p) => s.node.isConnected(p)),
      onLan: peers.some((p) => this.#lanPeers.has(p)),
      addedAt: e.addedAtMs,
    };
  }

  #emitChanged(s: Session, id: string): Contact | undefined {
    const contact = this.#view(s, id);
    if (contact !== undefined) this.ctx.events.emit('contact.changed', { contact });
    return contact;
  }
}
