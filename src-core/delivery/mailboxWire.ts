/**
 * The wire format of mailboxes ('mailbox' request, mailbox.ts): the fetch proof, requests,
 * responses and their codecs.
 */
import type { Codec } from '../codec/index.js';
import {
  constant,
  decode,
  fixedBytes,
  opaque,
  struct,
  uint16,
  uint32,
  uint64,
  uint8,
  utf8String,
  variant,
  vector,
} from '../codec/index.js';
import { DeliveryError } from './errors.js';
import type { DeliveryErrorCode } from './errors.js';

export const MAILBOX_PROTOCOL = 'mailbox';
export const MAILBOX_VERSION = 1;
export const MAILBOX_FETCH_LABEL = 'Parley MailboxFetch';

export const MbType = { deposit: 1, challenge: 2, fetch: 3, ack: 4 } as const;
export type MbType = (typeof MbType)[keyof typeof MbType];

/**
 * ```
 * struct {
 *     opaque holder<V>;      // the holder's peer id (UTF-8): a proof is good at one holder only
 *     opaque recipient<V>;   // the mailbox: the recipient's signature public key
 *     opaque nonce[32];      // the holder's challenge
 * } MailboxFetchTBS;         // signed with SignWithLabel(recipient, "Parley MailboxFetch", .)
 * ```
 */
export interface MailboxFetchTBS {
  readonly holder: string;
  readonly recipient: Uint8Array;
  readonly nonce: Uint8Array;
}
export const fetchTbsCodec = struct<MailboxFetchTBS>({
  holder: utf8String,
  recipient: opaque,
  nonce: fixedBytes(32),
});

/**
 * ```
 * struct { opaque id[32]; opaque payload<V>; uint64 deposited_at; } MailItem;
 *
 * struct {
 *     uint8 version = 1;
 *     MbType type;           // deposit(1), challenge(2), fetch(3), ack(4)
 *     select (type) {
 *         case deposit:   opaque recipient<V>; opaque payload<V>; uint32 ttl_seconds;
 *         case challenge: opaque recipient<V>;
 *         case fetch:     opaque recipient<V>; uint16 cipher_suite; opaque nonce[32];
 *                         opaque signature<V>;
 *         case ack:       opaque recipient<V>; opaque ack_token[32]; opaque ids[32]<V>;
 *     };
 * } MailboxRequest;
 *
 * struct {
 *     uint8 version = 1;
 *     MbType type;
 *     select (type) {
 *         case deposit:   opaque id[32];
 *         case challenge: opaque nonce[32];
 *         case fetch:     MailItem items<V>; opaque ack_token[32]; uint16 remaining;
 *         case ack:       uint16 deleted;
 *     };
 * } MailboxResponse;
 * ```
 */
export interface MailItem {
  /** SHA-256 of the payload: the same message deposited twice is one. */
  readonly id: Uint8Array;
  readonly payload: Uint8Array;
  /** Seconds since the Unix epoch. */
  readonly depositedAt: bigint;
}
export const itemCodec = struct<MailItem>({
  id: fixedBytes(32),
  payload: opaque,
  depositedAt: uint64,
});

export type MbRequest =
  | {
      readonly type: typeof MbType.deposit;
      readonly recipient: Uint8Array;
      readonly payload: Uint8Array;
      readonly ttlSeconds: number;
    }
  | { readonly type: typeof MbType.challenge; readonly recipient: Uint8Array }
  | {
      readonly type: typeof MbType.fetch;
      readonly recipient: Uint8Array;
      readonly cipherSuite: number;
      readonly nonce: Uint8Array;
      readonly signature: Uint8Array;
    }
  | {
      readonly type: typeof MbType.ack;
      readonly recipient: Uint8Array;
      readonly ackToken: Uint8Array;
      readonly ids: Uint8Array[];
    };

export type MbResponse =
  | { readonly type: typeof MbType.deposit; readonly id: Uint8Array }
  | { readonly type: typeof MbType.challenge; readonly nonce: Uint8Array }
  | {
      readonly type: typeof MbType.fetch;
      readonly items: MailItem[];
      readonly ackToken: Uint8Array;
      readonly remaining: number;
    }
  | { readonly type: typeof MbType.ack; readonly deleted: number };

export interface Versioned<T> {
  readonly version: number;
  readonly body: T;
}
const versioned = <T>(inner: Codec<T>): Codec<Versioned<T>> =>
  struct<Versioned<T>>({ version: constant(uint8, MAILBOX_VERSION, 'version'), body: inner });
const typeCodec = uint8 as Codec<MbType>;

export const requestCodec = versioned<MbRequest>(
  variant<MbType, MbRequest, 'type'>('type', typeCodec, {
    [MbType.deposit]: struct({ recipient: opaque, payload: opaque, ttlSeconds: uint32 }),
    [MbType.challenge]: struct({ recipient: opaque }),
    [MbType.fetch]: struct({
      recipient: opaque,
      cipherSuite: uint16,
      nonce: fixedBytes(32),
      signature: opaque,
    }),
    [MbType.ack]: struct({
      recipient: opaque,
      ackToken: fixedBytes(32),
      ids: vector(fixedBytes(32)),
    }),
  }),
);
export const responseCodec = versioned<MbResponse>(
  variant<MbType, MbResponse, 'type'>('type', typeCodec, {
    [MbType.deposit]: struct({ id: fixedBytes(32) }),
    [MbType.challenge]: struct({ nonce: fixedBytes(32) }),
    [MbType.fetch]: struct({
      items: vector(itemCodec),
      ackToken: fixedBytes(32),
      remaining: uint16,
    }),
    [MbType.ack]: struct({ deleted: uint16 }),
  }),
);

export function decodeBody<T>(
  codec: Codec<Versioned<T>>,
  bytes: Uint8Array,
  code: DeliveryErrorCode,
): T {
  if (bytes.byteLength > 0 && bytes[0] !== MAILBOX_VERSION) {
    throw new DeliveryError('unsupported_version', `mailbox version ${bytes[0]}`);
  }
  try {
    return decode(codec, bytes).body;
  } catch (cause) {
    throw new DeliveryError(code, 'mailbox message does not decode', { cause });
  }
}
