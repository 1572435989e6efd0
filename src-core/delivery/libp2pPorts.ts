/**
 * The production DeliveryPorts: group channels on gossipsub topics and request protocols on
 * `/parley/<name>/1` streams of a running ParleyNode, a monotonic clock on setTimeout, and
 * randomness from the system CSPRNG. Everything net-specific stops here: the delivery logic sees
 * DeliveryErrors and peer-id strings, exactly as it does over the simulation.
 */
import { randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { ParleyNode, RequestConfig } from '../net/index.js';
import { RemoteRequestError, RequestRefused, isNetError, protocolId } from '../net/index.js';
import { DeliveryError, isDeliveryError } from './errors.js';
import type { DeliveryErrorCode } from './errors.js';
import type {
  ChannelMessage,
  ChannelPort,
  Clock,
  DeliveryPorts,
  PeerIdString,
  Random,
  RequestOptions,
  RequestPort,
  TimerHandle,
} from './ports.js';

/** Gossip envelope kind of every delivery channel message (what it is, the bytes say). */
export const CHANNEL_KIND = 1;
/** Version of the request protocols in their ids; the bodies carry their own versions too. */
export const REQUEST_PROTOCOL_VERSION = 1;
/**
 * Bodies up to this size travel in the request/response head; larger ones are streamed in chunks
 * (the head is limited to 1 MiB and is held in memory whole, chunks flow with back-pressure).
 */
export const INLINE_BODY_BYTES = 256 * 1024;

/** A refusal from the peer; `remoteCode` is the code its handler gave (a DeliveryErrorCode). */
export class PeerRefusedError extends DeliveryError {
  constructor(
    readonly remoteCode: string,
    protocol: string,
  ) {
    super('peer_refused', `the peer refused ${protocol}: ${remoteCode}`);
  }
}

/** Milliseconds from a monotonic origin (performance.now), timers on setTimeout. */
export class SystemClock implements Clock {
  readonly #timers = new Map<number, ReturnType<typeof setTimeout>>();
  #nextId = 1;

  now(): number {
    return performance.now();
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const id = this.#nextId++;
    const t = setTimeout(
      () => {
        this.#timers.delete(id);
        callback();
      },
      Math.max(0, delayMs),
    );
    this.#timers.set(id, t);
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    const t = this.#timers.get(handle.id);
    if (t !== undefined) clearTimeout(t);
    this.#timers.delete(handle.id);
  }

  /** Cancels every pending timer (the ports are closing). */
  clearAll(): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }

  get pending(): number {
    return this.#timers.size;
  }
}

/** 53 uniform bits from the system CSPRNG, drawn from a refilled pool. */
export class SystemRandom implements Random {
  readonly #pool = new Uint32Array(256);
  #at = this.#pool.length;

  next(): number {
    if (this.#at + 2 > this.#pool.length) {
      randomFillSync(this.#pool);
      this.#at = 0;
    }
    const hi = this.#pool[this.#at++]! >>> 5; // 27 bits
    const lo = this.#pool[this.#at++]! >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }
}

/** A plain Uint8Array view (protobuf decoders hand out Buffers; callers compare bytes). */
function plain(b: Uint8Array): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return plain(chunks[0]!);
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

async function readAll(source: AsyncIterable<Uint8Array>, head: Uint8Array): Promise<Uint8Array> {
  const chunks: Uint8Array[] = head.byteLength > 0 ? [head] : [];
  let total = head.byteLength;
  for await (const c of source) {
    chunks.push(c);
    total += c.byteLength;
  }
  return concat(chunks, total);
}

function outgoing(body: Uint8Array): { body?: Uint8Array; stream?: Iterable<Uint8Array> } {
  return body.byteLength > INLINE_BODY_BYTES ? { stream: [body] } : { body };
}

/** A net failure as the delivery layer names it. */
function fromNet(err: unknown, protocol: string, signal: AbortSignal | undefined): Error {
  if (signal?.aborted === true) {
    return signal.reason instanceof Error ? signal.reason : new Error('aborted');
  }
  if (err instanceof RemoteRequestError) return new PeerRefusedError(err.remoteCode, protocol);
  if (isDeliveryError(err)) return err;
  let code: DeliveryErrorCode = 'peer_unreachable';
  if (isNetError(err, 'busy')) return new PeerRefusedError('busy', protocol);
  if (isNetError(err, 'timeout', 'aborted')) code = 'peer_timeout';
  else if (
    isNetError(err, 'malformed_message', 'truncated', 'stream_reset', 'unsupported_version')
  ) {
    code = 'peer_misbehaved';
  } else if (isNetError(err, 'message_too_large')) code = 'request_too_large';
  return new DeliveryError(code, `${protocol} failed`, { cause: err });
}

class Libp2pChannels implements ChannelPort {
  readonly #node: ParleyNode;
  readonly #handlers = new Map<string, Set<(m: ChannelMessage) => void>>();

  constructor(node: ParleyNode) {
    this.#node = node;
  }

  async publish(channel: string, data: Uint8Array): Promise<void> {
    try {
      await this.#node.gossip.publish(channel, CHANNEL_KIND, data);
    } catch (err) {
      // The same bytes already went out on this channel: the network has them.
      if (isNetError(err, 'duplicate_message')) return;
      if (isNetError(err, 'message_too_large', 'invalid_argument')) {
        throw new DeliveryError('invalid_argument', 'cannot publish this message', { cause: err });
      }
      if (isNetError(err, 'not_started')) {
        throw new DeliveryError('inactive', 'the node is not running', { cause: err });
      }
      throw new DeliveryError('peer_unreachable', 'publish failed', { cause: err });
    }
  }

  subscribe(channel: string, onMessage: (message: ChannelMessage) => void): () => void {
    let set = this.#handlers.get(channel);
    if (set === undefined) {
      const handlers = new Set<(m: ChannelMessage) => void>();
      this.#node.gossip.subscribe(channel, {
        onMessage: (m) => {
          if (m.kind !== CHANNEL_KIND) return;
          const msg: ChannelMessage = {
            channel,
            data: plain(m.payload),
            receivedFrom: m.receivedFrom,
          };
          for (const h of [...handlers]) {
            try {
              h(msg);
            } catch {
              // A handler must not throw (ports contract); one that does loses only its call.
            }
          }
        },
        // Other kinds on a delivery channel come from a newer or foreign publisher: no blame.
        validate: (m) => (m.kind === CHANNEL_KIND ? 'accept' : 'ignore'),
      });
      set = handlers;
      this.#handlers.set(channel, set);
    }
    const mine = set;
    const handler = onMessage;
    mine.add(handler);
    return () => {
      mine.delete(handler);
      if (mine.size === 0 && this.#handlers.get(channel) === mine) {
        this.#handlers.delete(channel);
        this.#node.gossip.unsubscribe(channel);
      }
    };
  }

  subscribers(channel: string): readonly PeerIdString[] {
    return this.#node.gossip.subscribers(channel);
  }

  close(): void {
    for (const channel of this.#handlers.keys()) this.#node.gossip.unsubscribe(channel);
    this.#handlers.clear();
  }
}

class Libp2pRequests implements RequestPort {
  readonly #node: ParleyNode;
  readonly #limits: Partial<RequestConfig>;
  readonly #served = new Set<string>();
  readonly #pending = new Set<Promise<void>>();

  constructor(node: ParleyNode, limits: Partial<RequestConfig>) {
    this.#node = node;
    this.#limits = limits;
  }

  async request(
    peer: PeerIdString,
    protocol: string,
    body: Uint8Array,
    options: RequestOptions = {},
  ): Promise<Uint8Array> {
    const id = protocolId(protocol, REQUEST_PROTOCOL_VERSION);
    try {
      const res = await this.#node.requests.request(peer, id, outgoing(body), {
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        limits: {
          ...this.#limits,
          ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        },
      });
      return res.stream === null ? plain(res.body) : await readAll(res.stream, res.body);
    } catch (err) {
      throw fromNet(err, protocol, options.signal);
    }
  }

  handle(
    protocol: string,
    handler: (body: Uint8Array, from: PeerIdString) => Promise<Uint8Array>,
  ): () => void {
    const id = protocolId(protocol, REQUEST_PROTOCOL_VERSION);
    if (this.#served.has(id)) {
      throw new DeliveryError('invalid_argument', `${protocol} is already handled`);
    }
    this.#served.add(id);
    const registered = this.#node.requests
      .handle(
        id,
        async (req) => {
          const body = req.stream === null ? plain(req.body) : await readAll(req.stream, req.body);
          try {
            return outgoing(await handler(body, req.peerId));
          } catch (err) {
            // Our own codes go back to the requester; anything else is 'internal' (and logged).
            if (isDeliveryError(err)) throw new RequestRefused(err.code);
            throw err;
          }
        },
        { limits: this.#limits },
      )
      .catch((err: unknown) => {
        this.#served.delete(id);
        console.error(`delivery: cannot serve ${protocol}: ${(err as Error).message}`);
      });
    this.#track(registered);
    return () => {
      if (!this.#served.delete(id)) return;
      this.#track(this.#node.requests.unhandle(id).catch(() => undefined));
    };
  }

  #track(p: Promise<void>): void {
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  /** Resolves once every handle/unhandle so far has reached libp2p. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  async close(): Promise<void> {
    await this.settled();
    await Promise.all(
      [...this.#served].map((id) => this.#node.requests.unhandle(id).catch(() => undefined)),
    );
    this.#served.clear();
  }
}

export interface Libp2pPortsOptions {
  /** Request limits for the delivery protocols (timeouts, sizes), over the node's defaults. */
  readonly requestLimits?: Partial<RequestConfig>;
}

/** DeliveryPorts over a started ParleyNode. `close()` leaves the channels and protocols. */
export class Libp2pPorts implements DeliveryPorts {
  readonly self: PeerIdString;
  readonly clock: SystemClock;
  readonly random: SystemRandom;
  readonly channels: ChannelPort;
  readonly requests: RequestPort;
  readonly #channels: Libp2pChannels;
  readonly #requests: Libp2pRequests;

  constructor(node: ParleyNode, options: Libp2pPortsOptions = {}) {
    this.self = node.peerId;
    this.clock = new SystemClock();
    this.random = new SystemRandom();
    this.#channels = new Libp2pChannels(node);
    this.#requests = new Libp2pRequests(node, options.requestLimits ?? {});
    this.channels = this.#channels;
    this.requests = this.#requests;
  }

  /** Resolves when every protocol handled so far is registered with libp2p. */
  ready(): Promise<void> {
    return this.#requests.settled();
  }

  async close(): Promise<void> {
    this.clock.clearAll();
    this.#channels.close();
    await this.#requests.close();
  }
}
