// Invites between two people who are not yet contacts. The inviter makes a code (its peer id,
// addresses, a random 128-bit secret, an expiry) and shows it as text or QR; the invitee dials
// the inviter and proves over the invite-redeem protocol that it holds the secret.
//
// What the secret protects: the inviter accepts a new contact only from whoever was handed the
// code, not from any peer that sees it on the LAN or learns its address; the expiry and the use
// count bound the damage of a leaked code (a photo of a screen). What the peer id in the code
// protects: the invitee's dial is authenticated by Noise against that id, so no one on the path
// can pose as the inviter. Neither says who the person is: that is the identity layer's job
// (trust on first use, safety numbers).
//
// Pending invites live in memory only: they are short-lived, and a restart revoking them is the
// safe failure. Secrets are zeroed when an invite is used up, expires or is revoked.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { multiaddr } from '@multiformats/multiaddr';
import type { InviteConfig } from './config.js';
import { NetError } from './errors.js';
import type { NetEventEmitter } from './events.js';
import { INVITE_SECRET_BYTES, decodeInvite, encodeInvite, inviteProof } from './inviteCode.js';
import { RedeemRequest, RedeemResponse } from './pb/invite.js';
import type { RequestResponse, Response } from './reqresp.js';
import { RemoteRequestError, RequestRefused, protocolId, wireBytes } from './reqresp.js';

export const INVITE_PROTOCOL = protocolId('invite', 1);
const REDEEM_VERSION = 1;
const MAX_REDEEM_ADDRS = 16;
const MAX_REDEEM_BODY = 64 * 1024;

/** What the node gives the invite service. */
export interface InviteHost {
  readonly peerId: string;
  /** Our current dialable addresses, with /p2p/<id>. */
  addresses(): string[];
  /** Tells the dialer where a peer can be reached. */
  learnAddresses(peerId: string, addrs: readonly string[]): Promise<void>;
  /** Records a contact in the address book and keeps reconnecting to it. */
  addContact(peerId: string, addrs: readonly string[]): Promise<void>;
}

/**
 * Decides on a valid redemption and returns the payload to send back (the layer above's
 * introduction). Throwing RequestRefused turns the invitee away with that code.
 */
export type RedeemHandler = (
  inviteePeerId: string,
  payload: Uint8Array,
) => Promise<Uint8Array> | Uint8Array;

interface Pending {
  readonly secret: Uint8Array;
  readonly expiresAtMs: number;
  usesLeft: number;
}

export interface CreatedInvite {
  readonly code: string;
  readonly expiresAtMs: number;
}

export interface RedeemedInvite {
  readonly peerId: string;
  readonly payload: Uint8Array;
}

function isLoopback(addr: string): boolean {
  const ip = multiaddr(addr).getComponents()[0];
  return (
    (ip?.name === 'ip4' && ip.value?.startsWith('127.') === true) ||
    (ip?.name === 'ip6' && ip.value === '::1')
  );
}

export class Invites {
  readonly #host: InviteHost;
  readonly #requests: RequestResponse;
  readonly #cfg: InviteConfig;
  readonly #events: NetEventEmitter;
  readonly #pending: Pending[] = [];
  #onRedeem: RedeemHandler = () => new Uint8Array(0);

  constructor(
    host: InviteHost,
    requests: RequestResponse,
    cfg: InviteConfig,
    events: NetEventEmitter,
  ) {
    this.#host = host;
    this.#requests = requests;
    this.#cfg = cfg;
    this.#events = events;
  }

  /** Registers the redeem protocol; relayed connections are allowed (inviter behind NAT). */
  async start(): Promise<void> {
    await this.#requests.handle(INVITE_PROTOCOL, (req) => this.#serve(req.peerId, req.body), {
      allowRelayed: true,
      limits: { maxHeadBytes: MAX_REDEEM_BODY + 1024 },
    });
  }

  /** Drops every pending invite (their secrets are zeroed). */
  stop(): void {
    for (const p of this.#pending.splice(0)) p.secret.fill(0);
  }

  setRedeemHandler(handler: RedeemHandler): void {
    this.#onRedeem = handler;
  }

  /** Makes an invite with our current addresses, usable `uses` times before `ttlMs` passes. */
  create(options: { ttlMs?: number; uses?: number; nowMs?: number } = {}): CreatedInvite {
    const ttlMs = options.ttlMs ?? this.#cfg.ttlMs;
    const uses = options.uses ?? 1;
    if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new NetError('invalid_argument', 'ttlMs');
    if (!Number.isSafeInteger(uses) || uses < 1) throw new NetError('invalid_argument', 'uses');
    const now = options.nowMs ?? Date.now();
    this.#prune(now);
    if (this.#pending.length >= this.#cfg.maxPending) {
      throw new NetError('invalid_argument', `at most ${this.#cfg.maxPending} pending invites`);
    }
    const addrs = this.#host
      .addresses()
      .filter((a) => this.#cfg.includeLoopback || !isLoopback(a))
      .slice(0, this.#cfg.maxAddrs);
    if (addrs.length === 0) {
      throw new NetError('not_started', 'no address to put in an invite (not listening?)');
    }
    const secret = new Uint8Array(randomBytes(INVITE_SECRET_BYTES));
    const expiresAtMs = now + ttlMs;
    const code = encodeInvite({ peerId: this.#host.peerId, addrs, secret, expiresAtMs });
    this.#pending.push({ secret, expiresAtMs, usesLeft: uses });
    return { code, expiresAtMs };
  }

  /** Revokes every invite not yet used up. */
  revokeAll(): void {
    this.stop();
  }

  get pendingCount(): number {
    this.#prune(Date.now());
    return this.#pending.length;
  }

  #prune(now: number): void {
    for (let i = this.#pending.length - 1; i >= 0; i--) {
      const p = this.#pending[i]!;
      if (p.expiresAtMs <= now || p.usesLeft <= 0) {
        p.secret.fill(0);
        this.#pending.splice(i, 1);
      }
    }
  }

  /** The inviter's side: checks the proof against every live invite, in constant time each. */
  async #serve(inviteePeerId: string, body: Uint8Array): Promise<{ body: Uint8Array }> {
    let req: RedeemRequest;
    try {
      req = RedeemRequest.decode(body, { limits: { addrs: MAX_REDEEM_ADDRS } });
    } catch {
      throw new RequestRefused('malformed');
    }
    if (req.version !== REDEEM_VERSION) throw new RequestRefused('unsupported_version');
    this.#prune(Date.now());
    const match = this.#pending.find((p) => {
      const expected = inviteProof(p.secret, this.#host.peerId, inviteePeerId);
      return req.proof.byteLength === expected.byteLength && timingSafeEqual(req.proof, expected);
    });
    if (match === undefined) {
      // One answer for a wrong, expired or used-up code: no oracle for someone guessing.
      return {
        body: RedeemResponse.encode({
          version: REDEEM_VERSION,
          status: RedeemResponse.Status.REJECTED,
        }),
      };
    }
    // Reserve the use before awaiting, so two redemptions racing cannot both take the last one.
    match.usesLeft--;
    const addrs: string[] = [];
    for (const bytes of req.addrs) {
      try {
        addrs.push(multiaddr(bytes).toString());
      } catch {
        // An address we cannot parse is dropped; the contact is still reachable inbound.
      }
    }
    let answer: Uint8Array;
    try {
      answer = await this.#onRedeem(inviteePeerId, req.payload);
    } catch (err) {
      match.usesLeft++; // the layer above turned this one away: the invite stays usable
      throw err;
    }
    this.#prune(Date.now());
    await this.#host.addContact(inviteePeerId, addrs);
    this.#events.emit('invite:redeemed', { peerId: inviteePeerId, role: 'inviter' });
    return {
      body: RedeemResponse.encode({
        version: REDEEM_VERSION,
        status: RedeemResponse.Status.ACCEPTED,
        payload: wireBytes(answer),
      }),
    };
  }

  /**
   * The invitee's side: dials the inviter at the code's addresses and redeems it, sending
   * `payload` (our introduction). Resolves with the inviter's peer id and its answer; the
   * inviter becomes a contact.
   */
  async redeem(
    code: string,
    payload: Uint8Array = new Uint8Array(0),
    options: { signal?: AbortSignal; nowMs?: number } = {},
  ): Promise<RedeemedInvite> {
    if (payload.byteLength > MAX_REDEEM_BODY) {
      throw new NetError('message_too_large', `redeem payload over ${MAX_REDEEM_BODY} bytes`);
    }
    const invite = decodeInvite(code, options.nowMs);
    try {
      if (invite.peerId === this.#host.peerId) {
        throw new NetError('invalid_argument', 'this is our own invite');
      }
      await this.#host.learnAddresses(invite.peerId, invite.addrs);
      const request = RedeemRequest.encode({
        version: REDEEM_VERSION,
        proof: wireBytes(inviteProof(invite.secret, invite.peerId, this.#host.peerId)),
        payload: wireBytes(payload),
        addrs: this.#host
          .addresses()
          .slice(0, MAX_REDEEM_ADDRS)
          .map((a) => multiaddr(a).bytes),
      });
      let response: Response;
      try {
        response = await this.#requests.request(
          invite.peerId,
          INVITE_PROTOCOL,
          { body: request },
          { allowRelayed: true, ...(options.signal ? { signal: options.signal } : {}) },
        );
      } catch (err) {
        if (err instanceof RemoteRequestError) {
          throw new NetError('invite_rejected', `the inviter refused: ${err.remoteCode}`, {
            cause: err,
          });
        }
        throw err;
      }
      let answer: RedeemResponse;
      try {
        answer = RedeemResponse.decode(response.body);
      } catch (cause) {
        throw new NetError('malformed_message', 'the redeem answer does not decode', { cause });
      }
      if (answer.version !== REDEEM_VERSION) {
        throw new NetError('unsupported_version', `redeem answer version ${answer.version}`);
      }
      if (answer.status !== RedeemResponse.Status.ACCEPTED) {
        throw new NetError('invite_rejected', 'the inviter did not accept this invite');
      }
      await this.#host.addContact(invite.peerId, invite.addrs);
      this.#events.emit('invite:redeemed', { peerId: invite.peerId, role: 'invitee' });
      return { peerId: invite.peerId, payload: answer.payload };
    } finally {
      invite.secret.fill(0);
    }
  }
}
