/**
 * How a peer proves which user and device it is. libp2p's Noise handshake authenticates a peer id;
 * the identity layer authenticates user and device keys. The introduction joins the two: the
 * device key signs the peer id it speaks from, and the record (signed by the user key) lists the
 * device. Anyone may forward a record; only the device itself can bind it to the peer id that
 * Noise authenticated, so a record arriving from a peer says nothing until its binding checks.
 *
 * ```
 * struct {
 *   uint16 version = 1;
 *   opaque record<V>;          // the sender's newest IdentityRecord
 *   opaque device_key[32];     // the sending device, listed (not revoked) in the record
 *   opaque peer_binding<V>;    // SignWithLabel(device_key, "Parley PeerBinding", peer_id as utf8)
 * } Introduction;
 * ```
 * SignWithLabel is RFC 9420 §5.1.2 with Ed25519 (cipher suite 1's scheme), so the signed content
 * starts "MLS 1.0 Parley PeerBinding": it cannot be mistaken for any MLS or Parley label.
 */
import { decode, encode, fixedBytes, opaque, struct, uint16 } from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import { cipherSuite } from '../crypto/index.js';
import type { DeviceKeyPair, IdentityRecord } from '../identity/index.js';
import {
  checkDeviceCertificateTime,
  decodeIdentityRecord,
  encodeIdentityRecord,
  findDevice,
  verifyIdentityRecord,
} from '../identity/index.js';

export const INTRODUCTION_VERSION = 1;
export const PEER_BINDING_LABEL = 'Parley PeerBinding';
/** Device certificates are checked with this much clock skew (as the credential validator). */
const SKEW_SECONDS = 300n;

interface Introduction {
  readonly version: number;
  readonly record: Uint8Array;
  readonly deviceKey: Uint8Array;
  readonly peerBinding: Uint8Array;
}

const introductionCodec: Codec<Introduction> = struct<Introduction>({
  version: uint16,
  record: opaque,
  deviceKey: fixedBytes(32),
  peerBinding: opaque,
});

const ed25519Suite = cipherSuite(1);
const utf8 = new TextEncoder();

/** Why an introduction was refused (the refusal code sent back to the peer). */
export class IntroductionError extends Error {
  constructor(
    readonly reason: 'malformed' | 'bad_record' | 'unknown_device' | 'bad_binding',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${reason}: ${message}`, options);
    this.name = 'IntroductionError';
  }
}

export function makeIntroduction(
  record: IdentityRecord,
  device: DeviceKeyPair,
  ourPeerId: string,
): Uint8Array {
  return encode(introductionCodec, {
    version: INTRODUCTION_VERSION,
    record: encodeIdentityRecord(record),
    deviceKey: device.publicKey,
    peerBinding: ed25519Suite.signWithLabel(
      device.privateKey,
      PEER_BINDING_LABEL,
      utf8.encode(ourPeerId),
    ),
  });
}

export interface CheckedIntroduction {
  readonly record: IdentityRecord;
  /** The record as received (the record book re-encodes canonically). */
  readonly recordBytes: Uint8Array;
  readonly deviceKey: Uint8Array;
}

/**
 * Checks an introduction received from `fromPeerId` (the id Noise authenticated): the record's
 * signatures, the device listed, current and not revoked, and the binding to that peer id.
 * Throws IntroductionError; never changes anything.
 */
export function checkIntroduction(
  bytes: Uint8Array,
  fromPeerId: string,
  nowSeconds: bigint,
): CheckedIntroduction {
  let intro: Introduction;
  let record: IdentityRecord;
  try {
    intro = decode(introductionCodec, bytes);
    if (intro.version !== INTRODUCTION_VERSION) {
      throw new IntroductionError('malformed', `introduction version ${intro.version}`);
    }
    record = decodeIdentityRecord(intro.record);
  } catch (cause) {
    if (cause instanceof IntroductionError) throw cause;
    throw new IntroductionError('malformed', 'the introduction does not decode', { cause });
  }
  try {
    verifyIdentityRecord(record);
  } catch (cause) {
    throw new IntroductionError('bad_record', 'the identity record does not verify', { cause });
  }
  const cert = findDevice(record, intro.deviceKey);
  if (cert === undefined) {
    throw new IntroductionError('unknown_device', 'the record does not list the sending device');
  }
  try {
    checkDeviceCertificateTime(cert, nowSeconds, SKEW_SECONDS);
  } catch (cause) {
    throw new IntroductionError('unknown_device', 'the device certificate is not current', {
      cause,
    });
  }
  const ok = ed25519Suite.verifyWithLabel(
    intro.deviceKey,
    PEER_BINDING_LABEL,
    utf8.encode(fromPeerId),
    intro.peerBinding,
  );
  if (!ok) throw new IntroductionError('bad_binding', 'the device did not sign this peer id');
  return { record, recordBytes: intro.record, deviceKey: intro.deviceKey };
}
