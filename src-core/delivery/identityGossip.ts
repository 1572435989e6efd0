/**
 * Transport for the identity layer's records (signed device lists and the like): pushed to and
 * pulled from contacts over the 'identity' request, and, when LAN discovery is on, announced on
 * the LAN directory channel. The records are opaque signed bytes here; whether one is genuine,
 * newer, or from someone we know is the identity layer's call, injected as `validate`, so this
 * module never depends on how identities work.
 *
 * Every record is validated once (dedupe by SHA-256); records over the size limit, bundles over
 * the count limit and bytes that do not decode are refused with a typed error. A LAN neighbour
 * whose announcements the validator keeps rejecting is ignored after a few.
 */
import type { Codec } from '../codec/index.js';
import {
  constant,
  decode,
  encode,
  opaque,
  struct,
  uint16,
  uint8,
  variant,
  vector,
} from '../codec/index.js';
import { hexOf, messageIdOf } from './ciphertextLog.js';
import { DeliveryError } from './errors.js';
import { peerRequest } from './peerRequest.js';
import type {
  ChannelMessage,
  ChannelPort,
  Clock,
  PeerIdString,
  Random,
  RequestPort,
  TimerHandle,
} from './ports.js';

export const LAN_DIRECTORY_CHANNEL = 'parley/lan-directory/1';
export const IDENTITY_PROTOCOL = 'identity';
export const IDENTITY_GOSSIP_VERSION = 1;

export type IdentityVerdict = 'accept' | 'reject' | 'ignore';
/** The identity layer's check of one record (signature, freshness, whose it is). */
export type IdentityValidator = (record: Uint8Array) => IdentityVerdict | Promise<IdentityVerdict>;

/**
 * ```
 * struct { uint8 version = 1; opaque records<V><V>; } IdentityAnnouncement;   // LAN channel
 *
 * struct {
 *     uint8 version = 1;
 *     IdentityRequestType type;       // push(1), pull(2)
 *     select (type) {
 *         case push: opaque records<V><V>;
 *         case pull: struct {};
 *     };
 * } IdentityRequest;
 *
 * struct {
 *     uint8 version = 1;
 *     IdentityRequestType type;
 *     select (type) {
 *         case push: uint16 accepted;
 *         case pull: opaque records<V><V>;
 *     };
 * } IdentityResponse;
 * ```
 */
interface Announcement {
  readonly version: number;
  readonly records: Uint8Array[];
}
const announcementCodec = struct<Announcement>({
  version: constant(uint8, IDENTITY_GOSSIP_VERSION, 'version'),
  records: vector(opaque),
});

const IdType = { push: 1, pull: 2 } as const;
type IdType = (typeof IdType)[keyof typeof IdType];
type IdRequest =
  | { readonly type: typeof IdType.push; readonly records: Uint8Array[] }
  | { readonly type: typeof IdType.pull };
type IdResponse =
  | { readonly type: typeof IdType.push; readonly accepted: number }
  | { readonly type: typeof IdType.pull; readonly records: Uint8Array[] };

interface Versioned<T> {
  readonly version: number;
  readonly body: T;
}
const versioned = <T>(inner: Codec<T>): Codec<Versioned<T>> =>
  struct<Versioned<T>>({
    version: constant(uint8, IDENTITY_GOSSIP_VERSION, 'version'),
    body: inner,
  });
const requestCodec = versioned<IdRequest>(
  variant<IdType, IdRequest, 'type'>('type', uint8 as Codec<IdType>, {
    [IdType.push]: struct({ records: vector(opaque) }),
    [IdType.pull]: struct({}),
  }),
);
const responseCodec = versioned<IdResponse>(
  variant<IdType, IdResponse, 'type'>('type', uint8 as Codec<IdType>, {
    [IdType.push]: struct({ accepted: uint16 }),
    [IdType.pull]: struct({ records: vector(opaque) }),
  }),
);

function decodeOr<T>(codec: Codec<T>, bytes: Uint8Array): T {
  try {
    return decode(codec, bytes);
  } catch (cause) {
    throw new DeliveryError('identity_record_invalid', 'identity gossip does not decode', {
      cause,
    });
  }
}

export interface IdentityGossipOptions {
  readonly channels: ChannelPort;
  readonly requests: RequestPort;
  readonly clock: Clock;
  readonly random: Random;
  readonly validate: IdentityValidator;
  /** Called once per record the validator accepted, with where it came from. */
  readonly onRecord: (record: Uint8Array, from: PeerIdString) => void;
  /** Largest record (default 64 KiB) and most records per message (default 32). */
  readonly maxRecordBytes?: number;
  readonly maxRecords?: number;
  /** LAN re-announcement period (default 60 s, ±20 % jitter). */
  readonly lanIntervalMs?: number;
}

/** Rejections after which a LAN neighbour's announcements are ignored. */
const MAX_REJECTS = 3;
/** Records remembered as already validated. */
const SEEN_LIMIT = 4096;

export class IdentityGossip {
  readonly #o: IdentityGossipOptions;
  readonly #maxBytes: number;
  readonly #maxRecords: number;
  readonly #seen = new Map<string, IdentityVerdict>();
  readonly #validating = new Map<string, Promise<IdentityVerdict>>();
  readonly #rejects = new Map<PeerIdString, number>();
  #own: Uint8Array[] = [];
  #lan: { unsubscribe: () => void; timer: TimerHandle | undefined } | undefined;
  readonly #unregister: () => void;

  constructor(options: IdentityGossipOptions) {
    this.#o = options;
    this.#maxBytes = options.maxRecordBytes ?? 64 * 1024;
    this.#maxRecords = options.maxRecords ?? 32;
    this.#unregister = options.requests.handle(IDENTITY_PROTOCOL, (body, from) =>
      this.#answer(body, from),
    );
  }

  /** The records we give out (our own signed device list, from the identity layer). */
  setOwnRecords(records: readonly Uint8Array[]): void {
    this.#checkBundle(records);
    this.#own = records.map((r) => r.slice());
  }

  #checkBundle(records: readonly Uint8Array[]): void {
    if (records.length > this.#maxRecords) {
      throw new DeliveryError(
        'identity_record_invalid',
        `${records.length} records in one message`,
      );
    }
    for (const r of records) {
      if (r.byteLength === 0 || r.byteLength > this.#maxBytes) {
        throw new DeliveryError('identity_record_invalid', `record of ${r.byteLength} bytes`);
      }
    }
  }

  /** Validates records not seen before; returns how many were accepted (new or already known). */
  async #take(
    records: readonly Uint8Array[],
    from: PeerIdString,
  ): Promise<{ accepted: number; rejected: number }> {
    this.#checkBundle(records);
    let accepted = 0;
    let rejected = 0;
    for (const record of records) {
      const id = hexOf(messageIdOf(record));
      let verdict = this.#seen.get(id);
      if (verdict === undefined) {
        // The same record arriving twice at once (LAN and a push) is validated and reported once.
        let pending = this.#validating.get(id);
        const first = pending === undefined;
        if (pending === undefined) {
          pending = Promise.resolve()
            .then(() => this.#o.validate(record))
            .catch((): IdentityVerdict => 'ignore');
          this.#validating.set(id, pending);
        }
        verdict = await pending;
        if (first) {
          this.#validating.delete(id);
          // 'ignore' is not remembered: the validator may know more later (an unknown signer).
          if (verdict !== 'ignore') this.#seen.set(id, verdict);
          while (this.#seen.size > SEEN_LIMIT) {
            this.#seen.delete(this.#seen.keys().next().value!);
          }
          if (verdict === 'accept') this.#o.onRecord(record, from);
        }
      }
      if (verdict === 'accept') accepted++;
      else if (verdict === 'reject') rejected++;
    }
    return { accepted, rejected };
  }

  async #answer(body: Uint8Array, from: PeerIdString): Promise<Uint8Array> {
    if (body.byteLength > 0 && body[0] !== IDENTITY_GOSSIP_VERSION) {
      throw new DeliveryError('unsupported_version', `identity gossip version ${body[0]}`);
    }
    const req = decodeOr(requestCodec, body).body;
    const reply = (r: IdResponse): Uint8Array =>
      encode(responseCodec, { version: IDENTITY_GOSSIP_VERSION, body: r });
    if (req.type === IdType.pull) return reply({ type: IdType.pull, records: this.#own });
    const { accepted } = await this.#take(req.records, from);
    return reply({ type: IdType.push, accepted });
  }

  async #ask(peer: PeerIdString, req: IdRequest): Promise<IdResponse> {
    const body = encode(requestCodec, { version: IDENTITY_GOSSIP_VERSION, body: req });
    const res = decodeOr(
      responseCodec,
      await peerRequest(this.#o.requests, peer, IDENTITY_PROTOCOL, body),
    ).body;
    if (res.type !== req.type) throw new DeliveryError('peer_misbehaved', 'answer of another type');
    return res;
  }

  /** Sends our records (or `records`) to a contact; resolves with how many it accepted. */
  async pushTo(peer: PeerIdString, records: readonly Uint8Array[] = this.#own): Promise<number> {
    this.#checkBundle(records);
    const res = await this.#ask(peer, { type: IdType.push, records: [...records] });
    return res.type === IdType.push ? res.accepted : 0;
  }

  /** Asks a contact for its records; the accepted ones go to `onRecord` and are returned. */
  async pullFrom(peer: PeerIdString): Promise<Uint8Array[]> {
    const res = await this.#ask(peer, { type: IdType.pull });
    if (res.type !== IdType.pull) return [];
    this.#checkBundle(res.records);
    const out: Uint8Array[] = [];
    for (const r of res.records) {
      if ((await this.#take([r], peer)).accepted === 1) out.push(r);
    }
    return out;
  }

  /** Joins the LAN directory channel: announces our records now and periodically, and listens. */
  startLan(): void {
    if (this.#lan !== undefined) return;
    const unsubscribe = this.#o.channels.subscribe(LAN_DIRECTORY_CHANNEL, (m) => this.#onLan(m));
    this.#lan = { unsubscribe, timer: undefined };
    this.#announce();
  }

  stopLan(): void {
    if (this.#lan === undefined) return;
    this.#lan.unsubscribe();
    if (this.#lan.timer !== undefined) this.#o.clock.clearTimer(this.#lan.timer);
    this.#lan = undefined;
  }

  /** Publishes our records on the LAN channel now (also done periodically while on). */
  async announceLan(): Promise<void> {
    if (this.#own.length === 0) return;
    await this.#o.channels.publish(
      LAN_DIRECTORY_CHANNEL,
      encode(announcementCodec, { version: IDENTITY_GOSSIP_VERSION, records: this.#own }),
    );
  }

  #announce(): void {
    const lan = this.#lan;
    if (lan === undefined) return;
    this.announceLan().catch(() => undefined); // best effort: the next period tries again
    const base = this.#o.lanIntervalMs ?? 60_000;
    const delay = base * (0.8 + 0.4 * this.#o.random.next());
    lan.timer = this.#o.clock.setTimer(delay, () => this.#announce());
  }

  #onLan(m: ChannelMessage): void {
    if ((this.#rejects.get(m.receivedFrom) ?? 0) >= MAX_REJECTS) return;
    let records: Uint8Array[];
    try {
      if (m.data.byteLength > 0 && m.data[0] !== IDENTITY_GOSSIP_VERSION) return; // newer: not ours
      records = decodeOr(announcementCodec, m.data).records;
      this.#checkBundle(records);
    } catch {
      this.#blame(m.receivedFrom);
      return;
    }
    void this.#take(records, m.receivedFrom).then(
      ({ rejected }) => {
        if (rejected > 0) this.#blame(m.receivedFrom);
      },
      () => this.#blame(m.receivedFrom),
    );
  }

  #blame(peer: PeerIdString): void {
    this.#rejects.set(peer, (this.#rejects.get(peer) ?? 0) + 1);
    while (this.#rejects.size > SEEN_LIMIT)
      this.#rejects.delete(this.#rejects.keys().next().value!);
  }

  close(): void {
    this.stopLan();
    this.#unregister();
  }
}
