/**
 * `devices.*`: the user's devices, linking a new one, revoking one.
 *
 * Linking runs identity/deviceLinking.ts over the `link` request protocol. The API has the
 * existing device E show a code and the new device N type it, so the code is E's: its peer id
 * and addresses, a one-time 128-bit secret and an expiry, in the invite code format prefixed
 * `LINK-` (`PARLEY:1:` codes are contact invites; the prefix keeps the two apart). N dials E (Noise
 * authenticates E's peer id from the code) and proves it holds the secret with
 * HMAC-SHA-256(secret, "parley device link v1" ‖ E's peer id ‖ N's peer id) in every request:
 *
 * ```
 * struct {
 *   uint16 version = 1;
 *   uint8 step;            // 1: offer (answer: LinkGrant), 2: confirm (answer: empty)
 *   opaque proof[32];
 *   opaque payload<V>;     // step 1: LinkOffer; step 2: LinkConfirm
 * } LinkRequest;
 * ```
 *
 * E certifies N's device key in the next record and sends the user key along, encrypted under the
 * link secret N generated (so N can rename, link and revoke too); the record is published only
 * after N's signed confirmation. N then replaces its fresh identity with the linked one.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { decode, encode, fixedBytes, opaque, struct, uint16, uint8 } from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import { DeliveryError } from '../delivery/errors.js';
import type { PendingLink } from '../identity/index.js';
import {
  acceptLinkGrant,
  confirmLink,
  createLinkOffer,
  destroyLinkSession,
  encodeIdentityRecord,
  grantLink,
  linkOfferCodec,
  nextIdentityRecord,
} from '../identity/index.js';
import { decodeInvite, encodeInvite } from '../net/index.js';
import type { Device, DeviceId, LinkOffer, Me } from './api.js';
import type { AppContext, Session, SessionParticipant } from './appContext.js';
import { deviceIdOf, userIdOf } from './appContext.js';
import { qrOfText, secondsToMillis } from './dto.js';
import { mapped } from './errorMapping.js';
import { DeviceFanout } from './groups/deviceFanout.js';
import { bindOwnPeer, ownPeers } from './ownDevices.js';
import { AppError } from './errors.js';
import { publishOwnRecord } from './identityService.js';
import { DEVICE_CERT_LIFETIME_SECONDS, checkDeviceName } from './profileService.js';
import { PROFILE_NS, encodeIdentity } from './profileRecords.js';
import type { DevicesService } from './services.js';

export const LINK_PROTOCOL = 'link';
export const LINK_CODE_PREFIX = 'LINK-';
const LINK_VERSION = 1;
const LINK_SECRET_BYTES = 16;
/** How long a link code shown on E works. */
export const LINK_CODE_TTL_MS = 10 * 60 * 1000;

const enum Step {
  offer = 1,
  confirm = 2,
}

interface LinkRequest {
  readonly version: number;
  readonly step: number;
  readonly proof: Uint8Array;
  readonly payload: Uint8Array;
}

const linkRequestCodec: Codec<LinkRequest> = struct<LinkRequest>({
  version: uint16,
  step: uint8,
  proof: fixedBytes(32),
  payload: opaque,
});

function linkProof(secret: Uint8Array, ePeer: string, nPeer: string): Uint8Array {
  return new Uint8Array(
    createHmac('sha256', secret)
      .update('parley device link v1\0')
      .update(ePeer)
      .update('\0')
      .update(nPeer)
      .digest(),
  );
}

interface PendingOffer {
  readonly secret: Uint8Array;
  readonly expiresAtMs: number;
  /** The new device that presented the offer first; the code is then bound to it. */
  peer: string | undefined;
  pending: PendingLink | undefined;
}

export class DevicesServiceImpl implements DevicesService, SessionParticipant {
  #offers: PendingOffer[] = [];
  #unhandle: (() => void) | undefined;

  constructor(
    private readonly ctx: AppContext,
    private readonly me: () => Promise<Me>,
  ) {
    ctx.join(this);
  }

  async open(s: Session): Promise<void> {
    this.#unhandle = s.ports.requests.handle(LINK_PROTOCOL, (body, from) =>
      this.#serve(s, body, from),
    );
  }

  async close(): Promise<void> {
    this.#unhandle?.();
    this.#unhandle = undefined;
    for (const o of this.#offers.splice(0)) this.#drop(o);
  }

  list(): Promise<Device[]> {
    return mapped('devices.list', async () => {
      const s = this.ctx.session();
      const current = s.deviceId;
      const online = new Set(
        (await ownPeers(s))
          .filter((p) => p.deviceKey !== undefined && s.node.isConnected(p.peerId))
          .map((p) => deviceIdOf(p.deviceKey!)),
      );
      return s.identity.record.devices.map((d) => {
        const deviceId = deviceIdOf(d.deviceKey);
        return {
          deviceId,
          name: d.deviceName,
          current: deviceId === current,
          linkedAt: secondsToMillis(d.createdAt),
          // Presence is known for this device and for our devices connected now (no history).
          lastSeenAt: deviceId === current || online.has(deviceId) ? this.ctx.nowMs() : null,
        };
      });
    });
  }

  offerLink(): Promise<LinkOffer> {
    return mapped('devices.offerLink', async () => {
      const s = this.ctx.session();
      if (s.identity.userKey === undefined) {
        throw new AppError('forbidden', 'this device does not hold the user key');
      }
      const now = this.ctx.nowMs();
      this.#prune(now);
      const addrs = s.node.addresses().slice(0, 16);
      if (addrs.length === 0) throw new AppError('unavailable', 'not listening on any address');
      const secret = new Uint8Array(randomBytes(LINK_SECRET_BYTES));
      const expiresAtMs = now + LINK_CODE_TTL_MS;
      const code =
        LINK_CODE_PREFIX + encodeInvite({ peerId: s.node.peerId, addrs, secret, expiresAtMs });
      this.#offers.push({ secret, expiresAtMs, peer: undefined, pending: undefined });
      return { code, qr: qrOfText(code), expiresAt: expiresAtMs };
    });
  }

  acceptLink(p: { code: string; deviceName: string }): Promise<Me> {
    return mapped('devices.acceptLink', async () => {
      const s = this.ctx.session();
      const deviceName = checkDeviceName(p.deviceName);
      if (s.contacts.ids().length > 0) {
        throw new AppError('conflict', 'only a fresh profile can be linked to another user');
      }
      const text = p.code.trim();
      if (!text.toUpperCase().startsWith(LINK_CODE_PREFIX)) {
        throw new AppError('bad_request', 'not a device link code');
      }
      const code = decodeInvite(text.slice(LINK_CODE_PREFIX.length), this.ctx.nowMs());
      const link = createLinkOffer({
        deviceName,
        address: new TextEncoder().encode(s.node.peerId),
        expiresAt: BigInt(Math.floor(code.expiresAtMs / 1000)),
      });
      try {
        await this.#dialAny(s, code.addrs);
        const proof = linkProof(code.secret, code.peerId, s.node.peerId);
        const ask = (step: Step, payload: Uint8Array) =>
          s.ports.requests.request(
            code.peerId,
            LINK_PROTOCOL,
            encode(linkRequestCodec, { version: LINK_VERSION, step, proof, payload }),
          );
        const grant = await ask(Step.offer, link.offerBytes);
        const accepted = acceptLinkGrant(link, grant, this.ctx.nowSeconds());
        await ask(Step.confirm, accepted.confirm);
        const value = encodeIdentity({
          userKeySeed: accepted.userKey?.privateKey.slice(),
          deviceKeySeed: link.deviceKey.privateKey.slice(),
          record: encodeIdentityRecord(accepted.record),
          createdAtMs: BigInt(this.ctx.nowMs()),
        });
        accepted.userKey?.privateKey.fill(0);
        // Our fresh identity is replaced; the stale record book and trust store go with it. E's
        // peer is our own device from now on (the link protocol proved it): it hands us the
        // Welcomes of the user's groups and we keep a connection to it.
        const userId = userIdOf(accepted.record.userKey);
        await s.store.write((tx) => {
          s.store.namespace(PROFILE_NS).put(tx, 'identity', value);
          bindOwnPeer(s, tx, userId, code.peerId, undefined, this.ctx.nowMs());
        });
        value.fill(0);
        await s.node.addContact(code.peerId, code.addrs).catch(() => undefined);
      } finally {
        code.secret.fill(0);
        destroyLinkSession(link, false);
      }
      await this.ctx.serial(() => this.ctx.reloadSession());
      return this.me();
    });
  }

  revoke(p: { deviceId: DeviceId }): Promise<void> {
    return mapped('devices.revoke', async () => {
      const s = this.ctx.session();
      const userKey = s.identity.userKey;
      if (userKey === undefined) {
        throw new AppError('forbidden', 'this device does not hold the user key');
      }
      if (p.deviceId === s.deviceId) {
        throw new AppError('bad_request', 'this device cannot revoke itself');
      }
      const device = s.identity.record.devices.find((d) => deviceIdOf(d.deviceKey) === p.deviceId);
      if (device === undefined) throw new AppError('not_found', 'no such device');
      const record = nextIdentityRecord(userKey, s.identity.record, {
        revokeDevices: [device.deviceKey],
        issuedAt: this.ctx.nowSeconds(),
      });
      await publishOwnRecord(s, record);
      // Its peers are unbound and it is removed from our groups; members who see the record
      // remove it too (deviceFanout.ts).
      await DeviceFanout.of(this.ctx).revoked(s, device.deviceKey);
    });
  }

  async #dialAny(s: Session, addrs: readonly string[]): Promise<void> {
    let last: unknown;
    for (const a of addrs) {
      try {
        await s.node.dial(a);
        return;
      } catch (err) {
        last = err;
      }
    }
    throw new AppError('unavailable', 'the device that showed the code cannot be reached', {
      cause: last,
    });
  }

  #prune(now: number): void {
    this.#offers = this.#offers.filter((o) => {
      if (o.expiresAtMs > now) return true;
      this.#drop(o);
      return false;
    });
  }

  #drop(o: PendingOffer): void {
    o.secret.fill(0);
    o.pending?.confirmKey.fill(0);
  }

  /** E's side. Every failure is one refusal code, and changes nothing until the confirmation. */
  async #serve(s: Session, body: Uint8Array, from: string): Promise<Uint8Array> {
    let req: LinkRequest;
    try {
      req = decode(linkRequestCodec, body);
    } catch {
      throw new DeliveryError('decode_failed', 'link request');
    }
    if (req.version !== LINK_VERSION) throw new DeliveryError('unsupported_version', 'link');
    const now = this.ctx.nowMs();
    this.#prune(now);
    const offer = this.#offers.find((o) => {
      const expected = linkProof(o.secret, s.node.peerId, from);
      return timingSafeEqual(expected, req.proof) && (o.peer === undefined || o.peer === from);
    });
    const userKey = s.identity.userKey;
    if (offer === undefined || userKey === undefined) {
      throw new DeliveryError('peer_refused', 'no such link code');
    }
    if (req.step === Step.offer && offer.pending === undefined) {
      let offerValue;
      try {
        offerValue = decode(linkOfferCodec, req.payload);
      } catch {
        throw new DeliveryError('decode_failed', 'link offer');
      }
      const nowS = this.ctx.nowSeconds();
      try {
        const { grant, pending } = grantLink({
          offer: offerValue,
          offerBytes: req.payload,
          userKey,
          currentRecord: s.identity.record,
          now: nowS,
          deviceExpiresAt: nowS + DEVICE_CERT_LIFETIME_SECONDS,
          carryUserKey: true,
        });
        offer.peer = from;
        offer.pending = pending;
        return grant;
      } finally {
        offerValue.linkSecret.fill(0);
      }
    }
    if (req.step === Step.confirm && offer.pending !== undefined) {
      let record;
      try {
        record = confirmLink(offer.pending, req.payload);
      } catch {
        throw new DeliveryError('peer_refused', 'the confirmation does not check');
      }
      const deviceKey = offer.pending.deviceKey.slice();
      this.#offers = this.#offers.filter((o) => o !== offer);
      this.#drop(offer);
      await publishOwnRecord(s, record);
      // The new device joins our groups (deviceFanout.ts), from now on or when it is next online.
      await DeviceFanout.of(this.ctx).linked(s, from, deviceKey);
      return new Uint8Array(0);
    }
    throw new DeliveryError('peer_refused', 'unexpected link step');
  }
}
