/**
 * `identity.*`: who we are (user id, names, invite code and QR, our half of safety numbers) and
 * renaming, which signs the next identity record and gives it to contacts.
 */
import type { IdentityRecord } from '../identity/index.js';
import {
  MAX_DISPLAY_NAME_BYTES,
  encodeIdentityRecord,
  nextIdentityRecord,
  safetyHalf,
} from '../identity/index.js';
import type { Me } from './api.js';
import type { AppContext, Session, SessionParticipant } from './appContext.js';
import { qrOfText } from './dto.js';
import { mapped } from './errorMapping.js';
import { AppError } from './errors.js';
import type { IdentityService } from './services.js';

/** An invite is replaced this long before it expires, so a code shown is never about to die. */
const INVITE_REFRESH_MARGIN_MS = 60_000;

export function checkDisplayName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0) throw new AppError('bad_request', 'the display name is empty');
  if (new TextEncoder().encode(trimmed).length > MAX_DISPLAY_NAME_BYTES) {
    throw new AppError('bad_request', `the display name is over ${MAX_DISPLAY_NAME_BYTES} bytes`);
  }
  return trimmed;
}

/**
 * Makes `record` our current one: stored (identity material and record book in one batch), then
 * handed to identity gossip and pushed to every connected contact device. Pushing is best effort:
 * contacts not reached get it when they next connect (the introduction carries it).
 */
export async function publishOwnRecord(session: Session, record: IdentityRecord): Promise<void> {
  const bytes = encodeIdentityRecord(record);
  const previous = session.identity.record;
  session.identity.record = record;
  try {
    session.records.add(bytes);
    await session.store.write((tx) => {
      session.putIdentity(tx);
      session.putTrust(tx);
    });
  } catch (err) {
    session.identity.record = previous;
    throw err;
  }
  session.identityGossip.setOwnRecords([bytes]);
  const peers = new Set(session.node.connectedPeers());
  const targets = session.contacts
    .ids()
    .flatMap((id) => [...(session.contacts.get(id)?.peerIds ?? [])])
    .filter((p) => peers.has(p));
  await Promise.allSettled(targets.map((p) => session.identityGossip.pushTo(p)));
  if (session.settings.lanDiscovery)
    await session.identityGossip.announceLan().catch(() => undefined);
}

export class IdentityServiceImpl implements IdentityService, SessionParticipant {
  #invite: { code: string; expiresAtMs: number } | undefined;
  #offRedeemed: (() => void) | undefined;

  constructor(private readonly ctx: AppContext) {
    ctx.join(this);
  }

  async open(session: Session): Promise<void> {
    this.#invite = undefined;
    // Our invites are single use: once one is redeemed the code shown is spent.
    this.#offRedeemed = session.node.events.on('invite:redeemed', (e) => {
      if (e.role === 'inviter') this.#invite = undefined;
    });
  }

  async close(): Promise<void> {
    this.#offRedeemed?.();
    this.#offRedeemed = undefined;
    this.#invite = undefined;
  }

  /** The invite code to show now: the current one while it is unused and fresh, else a new one. */
  currentInvite(session: Session): { code: string; expiresAtMs: number } {
    const now = this.ctx.nowMs();
    if (this.#invite === undefined || this.#invite.expiresAtMs - INVITE_REFRESH_MARGIN_MS <= now) {
      this.#invite = session.node.invites.create({ nowMs: now });
    }
    return this.#invite;
  }

  me(): Promise<Me> {
    return mapped('identity.me', async () => {
      const s = this.ctx.session();
      const invite = this.currentInvite(s);
      return {
        userId: s.userId,
        displayName: s.identity.record.displayName,
        deviceId: s.deviceId,
        deviceName: s.deviceName,
        inviteCode: invite.code,
        inviteQr: qrOfText(invite.code),
        fingerprint: safetyHalf(s.identity.record.userKey).digits,
      };
    });
  }

  setDisplayName(p: { displayName: string }): Promise<Me> {
    return mapped('identity.setDisplayName', async () => {
      const s = this.ctx.session();
      const displayName = checkDisplayName(p.displayName);
      if (displayName === s.identity.record.displayName) return this.me();
      const userKey = s.identity.userKey;
      if (userKey === undefined) {
        throw new AppError('forbidden', 'this device does not hold the user key');
      }
      const record = nextIdentityRecord(userKey, s.identity.record, {
        displayName,
        issuedAt: this.ctx.nowSeconds(),
      });
      await publishOwnRecord(s, record);
      return this.me();
    });
  }
}
