/**
 * Linking a new device to a user (pure messages, no network):
 *
 *   new device N                                   existing device E (holds the user key)
 *   createLinkOffer: device key, one-time secret
 *   shows LinkOffer as text / QR  ---- scanned ---> readLinkOffer
 *                                                  grantLink: certify N, next record (seq + 1),
 *                                                  optionally wrap the user key; MAC
 *   acceptLinkGrant: check MAC, record, <--------- LinkGrant
 *   unwrap user key; sign + MAC a confirmation
 *                            ---- LinkConfirm ---> confirmLink: check signature and MAC,
 *                                                  then publish the record
 *
 * Every key below comes from the one-time secret, which travels only inside the code N shows.
 * Someone who saw part of the code (N's device key and address, say) can neither forge a grant
 * N accepts nor a confirmation E accepts; both MACs cover the hash of the whole offer, so a
 * grant for a different offer fails too. The signature in LinkConfirm proves N holds the
 * private half of the device key E certified.
 *
 * ```
 * HPRK       = HKDF-Extract(salt = "Parley 1.0 DeviceLink", IKM = link_secret)     (SHA-256)
 * offer_hash = SHA-256(LinkOffer)
 * k_grant    = HKDF-Expand(HPRK, "grant mac"     || offer_hash, 32)
 * k_wrap     = HKDF-Expand(HPRK, "user key wrap" || offer_hash, 32)
 * k_confirm  = HKDF-Expand(HPRK, "confirm mac"   || offer_hash, 32)
 * ```
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { base32upper } from 'multiformats/bases/base32';
import { toString as qrToString } from 'qrcode';
import { encode, fixedBytes, opaque, optional, struct, uint16, uint64 } from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import { randomBytes } from '../crypto/random.js';
import type { DeviceCertificate } from './deviceCertificate.js';
import { checkDeviceCertificateTime, issueDeviceCertificate } from './deviceCertificate.js';
import { IdentityError } from './errors.js';
import {
  IDENTITY_FORMAT_VERSION,
  boundedString,
  decodeVersioned,
  ed25519PublicKey,
  equalBytes,
  utf8Length,
} from './format.js';
import type { IdentityRecord } from './identityRecord.js';
import {
  findDevice,
  identityRecordCodec,
  nextIdentityRecord,
  verifyIdentityRecord,
} from './identityRecord.js';
import type { DeviceKeyPair, UserKeyPair } from './keys.js';
import {
  SignLabel,
  generateDeviceKey,
  signWithParleyLabel,
  userKeyFromPrivate,
  verifyWithParleyLabel,
  zeroizeKey,
} from './keys.js';
import { MAX_DEVICE_NAME_BYTES } from './deviceCertificate.js';

export const LINK_TEXT_PREFIX = 'PARLEY-LINK:1:';
export const LINK_SECRET_BYTES = 32;
export const MAX_LINK_ADDRESS_BYTES = 1024;
const CHECKSUM_BYTES = 4;
const MAX_TEXT_LENGTH = 4096;
const HASH_BYTES = 32;
const NONCE_BYTES = 24;

/**
 * ```
 * struct {
 *     uint16 version = 1;
 *     opaque device_key[32];     // the new device's key (Ed25519)
 *     opaque link_secret[32];    // one-time, random
 *     opaque device_name<V>;     // suggested name, UTF-8, at most 64 bytes
 *     uint64 expires_at;         // seconds since the Unix epoch
 *     opaque address<V>;         // how to reach the new device; opaque here, at most 1024 bytes
 * } LinkOffer;
 * ```
 */
export interface LinkOffer {
  readonly version: number;
  readonly deviceKey: Uint8Array;
  readonly linkSecret: Uint8Array;
  readonly deviceName: string;
  readonly expiresAt: bigint;
  readonly address: Uint8Array;
}

export const linkOfferCodec: Codec<LinkOffer> = struct<LinkOffer>({
  version: uint16,
  deviceKey: ed25519PublicKey,
  linkSecret: fixedBytes(LINK_SECRET_BYTES),
  deviceName: boundedString(MAX_DEVICE_NAME_BYTES, 'device name'),
  expiresAt: uint64,
  address: opaque,
});

/**
 * ```
 * struct {
 *     opaque nonce[24];
 *     opaque ciphertext<V>;      // XChaCha20-Poly1305(k_wrap, nonce, user private key,
 * } WrappedUserKey;              //                    aad = offer_hash)
 *
 * struct {
 *     uint16 version = 1;
 *     opaque offer_hash[32];
 *     IdentityRecord record;               // the next record, listing the new device
 *     optional<WrappedUserKey> user_key;
 *     opaque mac[32];   // HMAC-SHA256(k_grant, "Parley 1.0 LinkGrant" || LinkGrant without mac)
 * } LinkGrant;
 * ```
 */
export interface WrappedUserKey {
  readonly nonce: Uint8Array;
  readonly ciphertext: Uint8Array;
}

export interface LinkGrant {
  readonly version: number;
  readonly offerHash: Uint8Array;
  readonly record: IdentityRecord;
  readonly userKey: WrappedUserKey | undefined;
  readonly mac: Uint8Array;
}

const wrappedUserKeyCodec: Codec<WrappedUserKey> = struct<WrappedUserKey>({
  nonce: fixedBytes(NONCE_BYTES),
  ciphertext: opaque,
});

const grantFields = {
  version: uint16,
  offerHash: fixedBytes(HASH_BYTES),
  record: identityRecordCodec,
  userKey: optional(wrappedUserKeyCodec),
};
const grantTbsCodec: Codec<Omit<LinkGrant, 'mac'>> = struct<Omit<LinkGrant, 'mac'>>(grantFields);
export const linkGrantCodec: Codec<LinkGrant> = struct<LinkGrant>({
  ...grantFields,
  mac: fixedBytes(HASH_BYTES),
});

/**
 * ```
 * struct {
 *     uint16 version = 1;
 *     opaque grant_hash[32];     // SHA-256(LinkGrant)
 *     opaque signature<V>;       // SignWithParleyLabel(device_key, "LinkConfirm", LinkTranscript)
 *     opaque mac[32];            // HMAC-SHA256(k_confirm, "Parley 1.0 LinkConfirm" || LinkTranscript)
 * } LinkConfirm;
 *
 * struct { opaque offer_hash[32]; opaque grant_hash[32]; } LinkTranscript;
 * ```
 */
export interface LinkConfirm {
  readonly version: number;
  readonly grantHash: Uint8Array;
  readonly signature: Uint8Array;
  readonly mac: Uint8Array;
}

export const linkConfirmCodec: Codec<LinkConfirm> = struct<LinkConfirm>({
  version: uint16,
  grantHash: fixedBytes(HASH_BYTES),
  signature: opaque,
  mac: fixedBytes(HASH_BYTES),
});

const textEncoder = new TextEncoder();
const label = (s: string): Uint8Array => textEncoder.encode(s);

interface LinkKeys {
  readonly grant: Uint8Array;
  readonly wrap: Uint8Array;
  readonly confirm: Uint8Array;
}

function linkKeys(secret: Uint8Array, offerHash: Uint8Array): LinkKeys {
  const ikm = Uint8Array.from(secret);
  const expand = (what: string) =>
    hkdf(sha256, ikm, label('Parley 1.0 DeviceLink'), concat(label(what), offerHash), 32);
  const keys = {
    grant: expand('grant mac'),
    wrap: expand('user key wrap'),
    confirm: expand('confirm mac'),
  };
  ikm.fill(0);
  return keys;
}

function wipeKeys(keys: LinkKeys): void {
  keys.grant.fill(0);
  keys.wrap.fill(0);
  keys.confirm.fill(0);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function transcript(offerHash: Uint8Array, grantHash: Uint8Array): Uint8Array {
  return concat(offerHash, grantHash);
}

// ---- The new device ---------------------------------------------------------------------------

/** What the new device keeps while the link is open. `destroyLinkSession` when done. */
export interface LinkSession {
  readonly offer: LinkOffer;
  readonly offerBytes: Uint8Array;
  /** The text to show (and to draw as a QR). It contains the secret: never log it. */
  readonly text: string;
  readonly deviceKey: DeviceKeyPair;
}

export interface LinkOfferRequest {
  readonly deviceName: string;
  readonly address: Uint8Array;
  readonly expiresAt: bigint;
  /** Default: a fresh device key. */
  readonly deviceKey?: DeviceKeyPair;
}

export function createLinkOffer(request: LinkOfferRequest): LinkSession {
  if (utf8Length(request.deviceName) > MAX_DEVICE_NAME_BYTES) {
    throw new IdentityError('invalid_argument', `device name over ${MAX_DEVICE_NAME_BYTES} bytes`);
  }
  if (request.address.length > MAX_LINK_ADDRESS_BYTES) {
    throw new IdentityError('invalid_argument', `address over ${MAX_LINK_ADDRESS_BYTES} bytes`);
  }
  const deviceKey = request.deviceKey ?? generateDeviceKey();
  const offer: LinkOffer = {
    version: IDENTITY_FORMAT_VERSION,
    deviceKey: deviceKey.publicKey,
    linkSecret: randomBytes(LINK_SECRET_BYTES),
    deviceName: request.deviceName,
    expiresAt: request.expiresAt,
    address: Uint8Array.from(request.address),
  };
  const offerBytes = encode(linkOfferCodec, offer);
  return { offer, offerBytes, text: linkOfferText(offerBytes), deviceKey };
}

export interface AcceptedLink {
  /** The record E will publish once it has the confirmation; it lists this device. */
  readonly record: IdentityRecord;
  readonly deviceCertificate: DeviceCertificate;
  /** Present when E carried the user key over; the caller stores it and wipes it when done. */
  readonly userKey?: UserKeyPair;
  /** Bytes to send back to E. */
  readonly confirm: Uint8Array;
}

/**
 * Checks a grant from the existing device: 'link_bad_mac' unless it was made with this offer's
 * secret, 'link_mismatch' if it is for another offer or does not list this device, record errors
 * ('bad_signature', 'malformed', ...), 'link_decryption_failed' for a user key that does not open
 * or does not match the record.
 */
export function acceptLinkGrant(
  session: LinkSession,
  grantBytes: Uint8Array,
  now: bigint,
): AcceptedLink {
  const grant = decodeVersioned(linkGrantCodec, grantBytes, 'link grant');
  const offerHash = sha256(session.offerBytes);
  if (!equalBytes(grant.offerHash, offerHash)) {
    throw new IdentityError('link_mismatch', 'the grant is for another link code');
  }
  const keys = linkKeys(session.offer.linkSecret, offerHash);
  try {
    const expected = hmac(
      sha256,
      keys.grant,
      concat(label('Parley 1.0 LinkGrant'), encode(grantTbsCodec, grant)),
    );
    if (!equalBytes(expected, grant.mac)) {
      throw new IdentityError('link_bad_mac', 'the grant was not made with this link code');
    }
    verifyIdentityRecord(grant.record);
    const cert = findDevice(grant.record, session.deviceKey.publicKey);
    if (cert === undefined) {
      throw new IdentityError('link_mismatch', 'the record does not list this device');
    }
    checkDeviceCertificateTime(cert, now, 0n);
    let userKey: UserKeyPair | undefined;
    if (grant.userKey !== undefined) userKey = unwrapUserKey(keys.wrap, offerHash, grant);
    const grantHash = sha256(grantBytes);
    const t = transcript(offerHash, grantHash);
    const confirm: LinkConfirm = {
      version: IDENTITY_FORMAT_VERSION,
      grantHash,
      signature: signWithParleyLabel(session.deviceKey.privateKey, SignLabel.linkConfirm, t),
      mac: hmac(sha256, keys.confirm, concat(label('Parley 1.0 LinkConfirm'), t)),
    };
    return {
      record: grant.record,
      deviceCertificate: cert,
      ...(userKey === undefined ? {} : { userKey }),
      confirm: encode(linkConfirmCodec, confirm),
    };
  } finally {
    wipeKeys(keys);
  }
}

function unwrapUserKey(wrapKey: Uint8Array, offerHash: Uint8Array, grant: LinkGrant): UserKeyPair {
  const wrapped = grant.userKey!;
  let seed: Uint8Array;
  try {
    seed = xchacha20poly1305(wrapKey, wrapped.nonce, offerHash).decrypt(wrapped.ciphertext);
  } catch (e) {
    throw new IdentityError('link_decryption_failed', 'the user key does not decrypt', {
      cause: e,
    });
  }
  try {
    const key = userKeyFromPrivate(seed);
    if (!equalBytes(key.publicKey, grant.record.userKey)) {
      zeroizeKey(key);
      throw new IdentityError('link_decryption_failed', 'the carried key is not the user key');
    }
    return key;
  } finally {
    seed.fill(0);
  }
}

/** Wipes the session's secret and device private key (after the link, or when it is abandoned). */
export function destroyLinkSession(session: LinkSession, keepDeviceKey = true): void {
  session.offer.linkSecret.fill(0);
  session.offerBytes.fill(0);
  if (!keepDeviceKey) zeroizeKey(session.deviceKey);
}

// ---- The existing device ----------------------------------------------------------------------

/**
 * Parses a link code as typed, pasted or scanned (white space ignored, lower case accepted).
 * Throws 'malformed' (also for a typo: the checksum), 'unsupported_version', 'link_expired'.
 */
export function readLinkOffer(text: string, now: bigint): { offer: LinkOffer; bytes: Uint8Array } {
  if (text.length > MAX_TEXT_LENGTH) throw new IdentityError('malformed', 'link code too long');
  const clean = text.replace(/\s+/g, '').toUpperCase();
  if (!clean.startsWith(LINK_TEXT_PREFIX)) {
    if (/^PARLEY-LINK:\d+:/.test(clean)) {
      throw new IdentityError('unsupported_version', 'link code from a newer Parley');
    }
    throw new IdentityError('malformed', 'not a Parley link code');
  }
  let framed: Uint8Array;
  try {
    framed = base32upper.baseDecode(clean.slice(LINK_TEXT_PREFIX.length));
  } catch (e) {
    throw new IdentityError('malformed', 'link code has characters outside base32', { cause: e });
  }
  if (framed.length <= CHECKSUM_BYTES) throw new IdentityError('malformed', 'link code too short');
  const bytes = framed.subarray(0, framed.length - CHECKSUM_BYTES);
  if (!equalBytes(checksum(bytes), framed.subarray(framed.length - CHECKSUM_BYTES))) {
    throw new IdentityError('malformed', 'link code checksum does not match (a typo?)');
  }
  const offer = decodeVersioned(linkOfferCodec, bytes, 'link offer');
  if (offer.address.length > MAX_LINK_ADDRESS_BYTES) {
    throw new IdentityError('malformed', 'link address too long');
  }
  if (now > offer.expiresAt) throw new IdentityError('link_expired', 'the link code has expired');
  return { offer, bytes: Uint8Array.from(bytes) };
}

export interface LinkGrantRequest {
  readonly offer: LinkOffer;
  readonly offerBytes: Uint8Array;
  readonly userKey: UserKeyPair;
  /** The newest record of this user; the grant carries its successor. */
  readonly currentRecord: IdentityRecord;
  readonly now: bigint;
  readonly deviceExpiresAt: bigint;
  /** Default: the name the new device suggested. */
  readonly deviceName?: string;
  /** Send the user key along (encrypted under a key from the link secret). Default false. */
  readonly carryUserKey?: boolean;
}

/** What E keeps until the confirmation arrives. */
export interface PendingLink {
  readonly record: IdentityRecord;
  readonly deviceKey: Uint8Array;
  readonly offerHash: Uint8Array;
  readonly grantHash: Uint8Array;
  readonly confirmKey: Uint8Array;
}

export function grantLink(request: LinkGrantRequest): { grant: Uint8Array; pending: PendingLink } {
  const { offer, userKey } = request;
  if (!equalBytes(encode(linkOfferCodec, offer), request.offerBytes)) {
    throw new IdentityError('invalid_argument', 'offer and offer bytes differ');
  }
  if (request.now > offer.expiresAt) throw new IdentityError('link_expired', 'link code expired');
  verifyIdentityRecord(request.currentRecord);
  const cert = issueDeviceCertificate(userKey, {
    deviceKey: offer.deviceKey,
    deviceName: request.deviceName ?? offer.deviceName,
    createdAt: request.now,
    expiresAt: request.deviceExpiresAt,
  });
  const record = nextIdentityRecord(userKey, request.currentRecord, {
    addDevices: [cert],
    issuedAt: request.now,
  });
  const offerHash = sha256(request.offerBytes);
  const keys = linkKeys(offer.linkSecret, offerHash);
  try {
    let wrapped: WrappedUserKey | undefined;
    if (request.carryUserKey === true) {
      const nonce = randomBytes(NONCE_BYTES);
      const ciphertext = xchacha20poly1305(keys.wrap, nonce, offerHash).encrypt(userKey.privateKey);
      wrapped = { nonce, ciphertext };
    }
    const tbs = { version: IDENTITY_FORMAT_VERSION, offerHash, record, userKey: wrapped };
    const mac = hmac(
      sha256,
      keys.grant,
      concat(label('Parley 1.0 LinkGrant'), encode(grantTbsCodec, tbs)),
    );
    const grant = encode(linkGrantCodec, { ...tbs, mac });
    return {
      grant,
      pending: {
        record,
        deviceKey: Uint8Array.from(offer.deviceKey),
        offerHash,
        grantHash: sha256(grant),
        confirmKey: Uint8Array.from(keys.confirm),
      },
    };
  } finally {
    wipeKeys(keys);
  }
}

/**
 * Checks the new device's confirmation; returns the record to publish. Throws 'link_mismatch'
 * (a confirmation of another grant), 'link_bad_mac' (made without the link secret),
 * 'bad_signature' (not signed by the certified device key). The confirm key is wiped on success.
 */
export function confirmLink(pending: PendingLink, confirmBytes: Uint8Array): IdentityRecord {
  const confirm = decodeVersioned(linkConfirmCodec, confirmBytes, 'link confirmation');
  if (!equalBytes(confirm.grantHash, pending.grantHash)) {
    throw new IdentityError('link_mismatch', 'the confirmation is for another grant');
  }
  const t = transcript(pending.offerHash, pending.grantHash);
  const mac = hmac(sha256, pending.confirmKey, concat(label('Parley 1.0 LinkConfirm'), t));
  if (!equalBytes(mac, confirm.mac)) {
    throw new IdentityError('link_bad_mac', 'the confirmation was not made with the link code');
  }
  if (!verifyWithParleyLabel(pending.deviceKey, SignLabel.linkConfirm, t, confirm.signature)) {
    throw new IdentityError('bad_signature', 'the confirmation is not signed by the new device');
  }
  pending.confirmKey.fill(0);
  return pending.record;
}

// ---- Text and QR ------------------------------------------------------------------------------

function checksum(payload: Uint8Array): Uint8Array {
  return sha256(concat(label('Parley link code v1'), payload)).subarray(0, CHECKSUM_BYTES);
}

/**
 * `PARLEY-LINK:1:` + RFC 4648 base32 (upper case, no padding) of the LinkOffer and a 4-byte
 * checksum: all inside the QR alphanumeric set, so the QR stays small.
 */
export function linkOfferText(offerBytes: Uint8Array): string {
  return LINK_TEXT_PREFIX + base32upper.baseEncode(concat(offerBytes, checksum(offerBytes)));
}

/** The link code as an SVG QR image. */
export function linkOfferQrSvg(text: string): Promise<string> {
  return qrToString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}

/** The link code as a QR of block characters, for the CLI. */
export function linkOfferQrTerminal(text: string): Promise<string> {
  return qrToString(text, { type: 'terminal', small: true, errorCorrectionLevel: 'M' });
}
