// Invite codes as text and QR. The text is `PARLEY:1:` and the RFC 4648 base32 (upper case, no
// padding) of an Invite protobuf followed by a 4-byte checksum. Base32 upper case keeps the whole
// code inside the QR "alphanumeric" mode (0-9, A-Z, and `:`), which packs 5.5 bits per character
// instead of 8, so the QR stays small; the checksum turns a mistyped character into a clear
// error instead of a dial to a wrong peer. The `1` is the text format's version; the protobuf
// carries its own.
import { createHash, createHmac } from 'node:crypto';
import { peerIdFromMultihash, peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { base32upper } from 'multiformats/bases/base32';
import * as Digest from 'multiformats/hashes/digest';
import { toString as qrToString } from 'qrcode';
import { NetError } from './errors.js';
import { Invite } from './pb/invite.js';
import { wireBytes } from './reqresp.js';

export const INVITE_TEXT_PREFIX = 'PARLEY:1:';
export const INVITE_VERSION = 1;
export const INVITE_SECRET_BYTES = 16;
const CHECKSUM_BYTES = 4;
const MAX_INVITE_ADDRS = 16;
/** Longest code text accepted: bounds decoding work on pasted junk. */
const MAX_TEXT_LENGTH = 4096;
/**
 * The invitee's clock may run ahead of the inviter's; it tolerates this much past expiry and
 * leaves the final word to the inviter, whose clock set the expiry.
 */
export const INVITEE_CLOCK_GRACE_MS = 2 * 60 * 1000;

export interface InviteCode {
  readonly peerId: string;
  /** The inviter's addresses, each with /p2p/<peerId> appended if it had none. */
  readonly addrs: readonly string[];
  readonly secret: Uint8Array;
  readonly expiresAtMs: number;
}

function checksum(payload: Uint8Array): Uint8Array {
  return new Uint8Array(
    createHash('sha256').update('parley invite code v1').update(payload).digest(),
  ).subarray(0, CHECKSUM_BYTES);
}

function invalid(message: string, cause?: unknown): NetError {
  return new NetError('invite_invalid', message, cause === undefined ? undefined : { cause });
}

/** Addresses as dialable multiaddrs ending in /p2p/<peerId>. */
function withPeer(addr: string, peerId: string): string {
  const ma = multiaddr(addr);
  const last = ma.getComponents().findLast((c) => c.name === 'p2p');
  if (last === undefined) return ma.encapsulate(`/p2p/${peerId}`).toString();
  if (last.value !== peerId) throw invalid('an invite address names another peer');
  return ma.toString();
}

export function encodeInvite(invite: InviteCode): string {
  if (invite.secret.byteLength !== INVITE_SECRET_BYTES) {
    throw new NetError('invalid_argument', `invite secret must be ${INVITE_SECRET_BYTES} bytes`);
  }
  if (invite.addrs.length === 0 || invite.addrs.length > MAX_INVITE_ADDRS) {
    throw new NetError('invalid_argument', `an invite needs 1..${MAX_INVITE_ADDRS} addresses`);
  }
  let peerBytes: Uint8Array;
  try {
    peerBytes = peerIdFromString(invite.peerId).toMultihash().bytes;
  } catch (cause) {
    throw new NetError('invalid_argument', 'invite has an invalid peer id', { cause });
  }
  const payload = Invite.encode({
    version: INVITE_VERSION,
    peerId: wireBytes(peerBytes),
    addrs: invite.addrs.map((a) => multiaddr(withPeer(a, invite.peerId)).bytes),
    secret: wireBytes(invite.secret),
    expiresAt: BigInt(invite.expiresAtMs),
  });
  const framed = new Uint8Array(payload.byteLength + CHECKSUM_BYTES);
  framed.set(payload);
  framed.set(checksum(payload), payload.byteLength);
  return INVITE_TEXT_PREFIX + base32upper.baseEncode(framed);
}

/**
 * Parses a code as typed, pasted or scanned: white space is ignored and lower case accepted.
 * Throws `invite_invalid` for anything malformed, `invite_expired` past its expiry (with
 * INVITEE_CLOCK_GRACE_MS of slack).
 */
export function decodeInvite(text: string, nowMs = Date.now()): InviteCode {
  if (text.length > MAX_TEXT_LENGTH) throw invalid('the text is too long to be an invite');
  const clean = text.replace(/\s+/g, '').toUpperCase();
  if (!clean.startsWith(INVITE_TEXT_PREFIX)) {
    if (/^PARLEY:\d+:/.test(clean)) {
      throw new NetError('unsupported_version', 'this invite is from a newer Parley');
    }
    throw invalid('not a Parley invite');
  }
  let framed: Uint8Array;
  try {
    framed = base32upper.baseDecode(clean.slice(INVITE_TEXT_PREFIX.length));
  } catch (cause) {
    throw invalid('the invite text has characters outside base32', cause);
  }
  if (framed.byteLength <= CHECKSUM_BYTES) throw invalid('the invite is too short');
  const payload = framed.subarray(0, framed.byteLength - CHECKSUM_BYTES);
  const sum = framed.subarray(framed.byteLength - CHECKSUM_BYTES);
  if (!checksum(payload).every((b, i) => b === sum[i])) {
    throw invalid('the invite checksum does not match (a typo?)');
  }
  let inv: Invite;
  try {
    inv = Invite.decode(payload, { limits: { addrs: MAX_INVITE_ADDRS } });
  } catch (cause) {
    throw invalid('the invite does not decode', cause);
  }
  if (inv.version !== INVITE_VERSION) {
    throw new NetError('unsupported_version', `invite version ${inv.version}`);
  }
  if (inv.secret.byteLength !== INVITE_SECRET_BYTES)
    throw invalid('the invite secret is malformed');
  let peerId: string;
  try {
    peerId = peerIdFromMultihash(Digest.decode(inv.peerId)).toString();
  } catch (cause) {
    throw invalid('the invite peer id is malformed', cause);
  }
  if (inv.addrs.length === 0) throw invalid('the invite has no address');
  let addrs: string[];
  try {
    addrs = inv.addrs.map((b) => withPeer(multiaddr(b).toString(), peerId));
  } catch (cause) {
    if (cause instanceof NetError) throw cause;
    throw invalid('an invite address is malformed', cause);
  }
  const expiresAtMs = Number(inv.expiresAt);
  if (!Number.isSafeInteger(expiresAtMs)) throw invalid('the invite expiry is out of range');
  if (nowMs > expiresAtMs + INVITEE_CLOCK_GRACE_MS) {
    throw new NetError('invite_expired', 'the invite has expired');
  }
  return { peerId, addrs, secret: inv.secret, expiresAtMs };
}

/**
 * What the invitee sends instead of the secret: HMAC-SHA-256 keyed by the secret over both peer
 * ids. Both ids are authenticated by the Noise handshake, so a proof is bound to this invitee
 * talking to this inviter and is worthless to anyone else.
 */
export function inviteProof(
  secret: Uint8Array,
  inviterPeerId: string,
  inviteePeerId: string,
): Uint8Array {
  return new Uint8Array(
    createHmac('sha256', secret)
      .update('parley invite redeem v1\0')
      .update(inviterPeerId)
      .update('\0')
      .update(inviteePeerId)
      .digest(),
  );
}

/** The code as an SVG QR image (error correction M: survives some glare or a crease). */
export function inviteQrSvg(code: string): Promise<string> {
  return qrToString(code, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}

/** The code as a QR drawn with block characters, for the CLI. */
export function inviteQrTerminal(code: string): Promise<string> {
  return qrToString(code, { type: 'terminal', small: true, errorCorrectionLevel: 'M' });
}
