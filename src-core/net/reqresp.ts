// Request/response over libp2p streams: one stream per request, protobuf frames, length-prefixed.
// The base for sync, key-package fetch, mailboxes and attachment transfer. A body is either one
// head frame or a head followed by chunks (streamed, for attachments and long logs), each
// bounded; every wait has a timeout; writes wait for the transport to drain and reads pause the
// stream past a high-water mark, so a slow side slows the other instead of filling memory.
//
// Bad input from a peer (garbage, a frame over the limit, a cut-off stream, silence) ends that
// one stream with a typed NetError on our side and a 'peer:misbehaved' event; the connection
// stays open, and nothing throws out of a handler into libp2p.
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { RequestConfig } from './config.js';
import { NetError, describeError, isNetError } from './errors.js';
import type { NetEventEmitter } from './events.js';
import { FrameReader, abortError, writeFrame } from './framing.js';
import { Chunk, RequestHead, ResponseHead } from './pb/rpc.js';

/** Version of the framing itself (RequestHead/ResponseHead/Chunk), carried in every head. */
export const FRAMING_VERSION = 1;

/** Bytes of protobuf overhead around a chunk's data (tag, length, `last` flag). */
const CHUNK_OVERHEAD = 16;

/** Protocol ids are `/parley/<name>/<version>`; the version is negotiated by multistream-select. */
export function protocolId(name: string, version: number): string {
  if (!/^[a-z][a-z0-9-]{0,39}$/.test(name)) {
    throw new NetError('invalid_argument', `protocol name must match [a-z][a-z0-9-]*: ${name}`);
  }
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new NetError('invalid_argument', 'protocol version must be a positive integer');
  }
  return `/parley/${name}/${version}`;
}

/** A body to send: `body` goes in the head frame; `stream`, if given, follows in chunks. */
export interface OutgoingBody {
  readonly body?: Uint8Array;
  readonly stream?: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

export interface IncomingRequest {
  readonly peerId: string;
  readonly protocol: string;
  readonly body: Uint8Array;
  /** The streamed part, or null. Read it in the handler; what is left is drained afterwards. */
  readonly stream: AsyncIterable<Uint8Array> | null;
  /** Fires when the requester goes away or the handler's time is up. */
  readonly signal: AbortSignal;
}

export type RequestHandler = (request: IncomingRequest) => Promise<OutgoingBody> | OutgoingBody;

export interface Response {
  readonly peerId: string;
  readonly body: Uint8Array;
  /**
   * The streamed part, or null. Iterate it to the end, or `break` out of the loop, which
   * resets the stream.
   */
  readonly stream: AsyncIterable<Uint8Array> | null;
}

/** Thrown by a handler to answer with an error code the requester sees. */
export class RequestRefused extends Error {
  constructor(readonly refusal: string) {
    super(`request refused: ${refusal}`);
    if (!/^[a-z0-9_]{1,40}$/.test(refusal)) {
      throw new NetError('invalid_argument', 'refusal codes must match [a-z0-9_]{1,40}');
    }
  }
}

/** The peer answered with an error; `remoteCode` is the handler's refusal code. */
export class RemoteRequestError extends NetError {
  constructor(
    readonly remoteCode: string,
    protocol: string,
  ) {
    super('remote_error', `the peer refused ${protocol}: ${remoteCode}`);
  }
}

export interface HandleOptions {
  /** Also serve over relayed connections (limited in time and bytes). */
  readonly allowRelayed?: boolean;
  readonly limits?: Partial<RequestConfig>;
}

export interface RequestOptions {
  readonly signal?: AbortSignal;
  readonly allowRelayed?: boolean;
  readonly limits?: Partial<RequestConfig>;
}

/**
 * protons types its byte fields as Uint8Array<ArrayBuffer>; ours may sit on any ArrayBufferLike.
 * The encoder only reads them, so the narrower type is safe to claim.
 */
export function wireBytes(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return b as Uint8Array<ArrayBuffer>;
}

function decodeFrame<T>(decode: (b: Uint8Array) => T, bytes: Uint8Array, what: string): T {
  try {
    return decode(bytes);
  } catch (cause) {
    throw new NetError('malformed_message', `${what} does not decode`, { cause });
  }
}

async function* toAsync(
  src: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  yield* src;
}

/** Writes `source` as chunks of at most `chunkBytes`, then the `last` marker. */
async function writeChunks(
  stream: Stream,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  limits: RequestConfig,
  signal: AbortSignal,
): Promise<void> {
  // Each frame must drain within the idle timeout: a peer that stops reading cannot hold us.
  const idle = (): AbortSignal =>
    AbortSignal.any([signal, AbortSignal.timeout(limits.idleTimeoutMs)]);
  let total = 0;
  for await (const piece of toAsync(source)) {
    total += piece.byteLength;
    if (total > limits.maxStreamBytes) {
      throw new NetError('message_too_large', `streamed body over ${limits.maxStreamBytes} bytes`);
    }
    for (let off = 0; off < piece.byteLength; off += limits.chunkBytes) {
      const data = wireBytes(piece.subarray(off, off + limits.chunkBytes));
      await writeFrame(stream, Chunk.encode({ data, last: false }), idle());
    }
  }
  await writeFrame(stream, Chunk.encode({ data: new Uint8Array(0), last: true }), idle());
}

/**
 * Reads chunks until `last`, each read within `idleTimeoutMs`, the total within
 * `maxStreamBytes`. `signal` aborts it from outside.
 */
async function* readChunks(
  reader: FrameReader,
  limits: RequestConfig,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  let total = 0;
  for (;;) {
    const idle = AbortSignal.any([signal, AbortSignal.timeout(limits.idleTimeoutMs)]);
    const frame = await reader.read(limits.chunkBytes + CHUNK_OVERHEAD, idle);
    if (frame === null) throw new NetError('truncated', 'the stream ended before the last chunk');
    const chunk = decodeFrame(Chunk.decode, frame, 'a chunk');
    total += chunk.data.byteLength;
    if (total > limits.maxStreamBytes) {
      throw new NetError('message_too_large', `streamed body over ${limits.maxStreamBytes} bytes`);
    }
    if (chunk.data.byteLength > 0) yield chunk.data;
    if (chunk.last) return;
  }
}

/**
 * The streamed part of a body, readable once. `failure` is set when the peer broke the framing;
 * `onAbandon` runs when a consumer stops before the end (the requester resets the stream; the
 * responder instead drains what is left, so its answer is not lost to a reset).
 */
class ChunkSource implements AsyncIterable<Uint8Array> {
  readonly #chunks: AsyncGenerator<Uint8Array>;
  readonly #onError: (err: NetError) => void;
  readonly #onAbandon: () => void;
  #iterated = false;
  #done = false;
  failure: NetError | undefined;

  constructor(
    reader: FrameReader,
    limits: RequestConfig,
    signal: AbortSignal,
    onError: (err: NetError) => void,
    onAbandon: () => void,
  ) {
    this.#chunks = readChunks(reader, limits, signal);
    this.#onError = onError;
    this.#onAbandon = onAbandon;
  }

  async #next(): Promise<IteratorResult<Uint8Array>> {
    try {
      const r = await this.#chunks.next();
      if (r.done === true) this.#done = true;
      return r;
    } catch (err) {
      this.#done = true;
      this.failure = isNetError(err) ? err : new NetError('aborted', 'reading chunks failed');
      this.#onError(this.failure);
      throw this.failure;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    if (this.#iterated) throw new NetError('invalid_argument', 'a streamed body is read once');
    this.#iterated = true;
    try {
      for (;;) {
        const r = await this.#next();
        if (r.done === true) return;
        yield r.value;
      }
    } finally {
      if (!this.#done) this.#onAbandon();
    }
  }

  /** Reads and drops whatever is left. */
  async drain(): Promise<void> {
    while (!this.#done) await this.#next();
  }
}

const REMOTE_STATUS: Partial<Record<ResponseHead.Status, NetError['code']>> = {
  [ResponseHead.Status.BUSY]: 'busy',
  [ResponseHead.Status.TOO_LARGE]: 'message_too_large',
  [ResponseHead.Status.UNSUPPORTED_VERSION]: 'unsupported_version',
};

/** Errors a peer causes (as opposed to timeouts or our own mistakes). */
const MISBEHAVIOUR = new Set<NetError['code']>([
  'malformed_message',
  'message_too_large',
  'truncated',
]);

export class RequestResponse {
  readonly #libp2p: Libp2p;
  readonly #defaults: RequestConfig;
  readonly #events: NetEventEmitter;
  readonly #inFlight = new Map<string, number>();

  constructor(libp2p: Libp2p, defaults: RequestConfig, events: NetEventEmitter) {
    this.#libp2p = libp2p;
    this.#defaults = defaults;
    this.#events = events;
  }

  /** Serves `protocol` (from protocolId) with `handler`. */
  async handle(
    protocol: string,
    handler: RequestHandler,
    options: HandleOptions = {},
  ): Promise<void> {
    const limits = { ...this.#defaults, ...options.limits };
    try {
      await this.#libp2p.handle(
        protocol,
        (stream, connection) => {
          // The stream handler never rejects: every failure is handled and logged in serve().
          void this.#serve(protocol, stream, connection, handler, limits);
        },
        {
          runOnLimitedConnection: options.allowRelayed ?? false,
          maxInboundStreams: limits.maxConcurrentPerProtocol * 2,
        },
      );
    } catch (cause) {
      throw new NetError('invalid_argument', `cannot serve ${protocol} (already served?)`, {
        cause,
      });
    }
  }

  async unhandle(protocol: string): Promise<void> {
    await this.#libp2p.unhandle(protocol);
  }

  #misbehaved(peerId: string, protocol: string, err: NetError): void {
    if (MISBEHAVIOUR.has(err.code))
      this.#events.emit('peer:misbehaved', { peerId, protocol, code: err.code });
  }

  async #serve(
    protocol: string,
    stream: Stream,
    connection: Connection,
    handler: RequestHandler,
    limits: RequestConfig,
  ): Promise<void> {
    const peerId = connection.remotePeer.toString();
    const reader = new FrameReader(stream, limits.readHighWaterBytes);
    const gone = new AbortController();
    stream.addEventListener('close', () => gone.abort(new NetError('aborted', 'stream closed')));
    const withTimeout = (ms: number): AbortSignal =>
      AbortSignal.any([gone.signal, AbortSignal.timeout(ms)]);
    const reply = (head: Partial<ResponseHead>): Promise<void> =>
      writeFrame(
        stream,
        ResponseHead.encode({ version: FRAMING_VERSION, ...head }),
        withTimeout(limits.idleTimeoutMs),
      );
    let counted = false;
    try {
      let head: RequestHead;
      try {
        const frame = await reader.read(limits.maxHeadBytes, withTimeout(limits.timeoutMs));
        if (frame === null) throw new NetError('truncated', 'no request head');
        head = decodeFrame(RequestHead.decode, frame, 'the request head');
      } catch (err) {
        // Tell an honest but mistaken peer why, before the stream is reset.
        if (isNetError(err, 'message_too_large')) {
          await reply({ status: ResponseHead.Status.TOO_LARGE }).catch(() => undefined);
        } else if (isNetError(err, 'malformed_message')) {
          await reply({ status: ResponseHead.Status.BAD_REQUEST }).catch(() => undefined);
        }
        throw err;
      }
      if (head.version !== FRAMING_VERSION) {
        await reply({ status: ResponseHead.Status.UNSUPPORTED_VERSION });
        await stream.close({ signal: withTimeout(limits.idleTimeoutMs) });
        return;
      }
      const active = this.#inFlight.get(protocol) ?? 0;
      if (active >= limits.maxConcurrentPerProtocol) {
        await reply({ status: ResponseHead.Status.BUSY });
        stream.abort(new Error('busy'));
        return;
      }
      this.#inFlight.set(protocol, active + 1);
      counted = true;

      const source = head.streamed
        ? new ChunkSource(
            reader,
            limits,
            gone.signal,
            () => undefined,
            () => undefined,
          )
        : null;
      // A streamed request may take long to arrive (idle timeouts bound it); a plain one must be
      // answered within timeoutMs.
      const handlerSignal = source === null ? withTimeout(limits.timeoutMs) : gone.signal;
      let out: OutgoingBody;
      try {
        out = await handler({
          peerId,
          protocol,
          body: head.body,
          stream: source,
          signal: handlerSignal,
        });
      } catch (err) {
        if (source?.failure !== undefined) throw source.failure;
        if (gone.signal.aborted) throw abortError(gone.signal, `handling ${protocol}`);
        const refusal = err instanceof RequestRefused ? err.refusal : 'internal';
        if (!(err instanceof RequestRefused))
          console.error(`net: handler for ${protocol} threw ${describeError(err)}`);
        await source?.drain();
        await reply({ status: ResponseHead.Status.ERROR, errorCode: refusal });
        await stream.close({ signal: withTimeout(limits.idleTimeoutMs) });
        return;
      }
      await source?.drain();
      const body = out.body ?? new Uint8Array(0);
      if (body.byteLength > limits.maxHeadBytes - 64) {
        console.error(`net: handler for ${protocol} returned a body over maxHeadBytes`);
        await reply({ status: ResponseHead.Status.ERROR, errorCode: 'internal' });
        await stream.close({ signal: withTimeout(limits.idleTimeoutMs) });
        return;
      }
      await reply({
        status: ResponseHead.Status.OK,
        body: wireBytes(body),
        streamed: out.stream !== undefined,
      });
      if (out.stream !== undefined) await writeChunks(stream, out.stream, limits, gone.signal);
      await stream.close({ signal: withTimeout(limits.idleTimeoutMs) });
    } catch (err) {
      const netErr = isNetError(err)
        ? err
        : new NetError('aborted', `serving ${protocol} failed`, { cause: err });
      this.#misbehaved(peerId, protocol, netErr);
      stream.abort(netErr);
    } finally {
      if (counted) this.#inFlight.set(protocol, (this.#inFlight.get(protocol) ?? 1) - 1);
    }
  }

  /**
   * Sends a request to `peer` (a peer id, or a multiaddr ending in /p2p/<id>) and returns the
   * response head; a streamed response body is read from `response.stream`.
   *
   * Timeouts: opening the stream, sending the head and receiving the response head must fit in
   * `timeoutMs` (counted again after a streamed upload); each chunk up or down must move within
   * `idleTimeoutMs`. `signal` cancels all of it, including reading the response stream.
   */
  async request(
    peer: string,
    protocol: string,
    outgoing: OutgoingBody = {},
    options: RequestOptions = {},
  ): Promise<Response> {
    const limits = { ...this.#defaults, ...options.limits };
    const body = outgoing.body ?? new Uint8Array(0);
    if (body.byteLength > limits.maxHeadBytes - 64) {
      throw new NetError('message_too_large', `request body over ${limits.maxHeadBytes} bytes`);
    }
    const target = parseTarget(peer);
    const peerId = target.peerId;
    const user = options.signal ?? new AbortController().signal;
    const withTimeout = (ms: number): AbortSignal =>
      AbortSignal.any([user, AbortSignal.timeout(ms)]);
    let signal = withTimeout(limits.timeoutMs);
    let stream: Stream;
    try {
      stream = await this.#libp2p.dialProtocol(target.dial, protocol, {
        signal,
        runOnLimitedConnection: options.allowRelayed ?? false,
      });
    } catch (cause) {
      if (signal.aborted) throw abortError(signal, `opening ${protocol}`);
      const unsupported = (cause as Error).name === 'UnsupportedProtocolError';
      throw new NetError(
        unsupported ? 'protocol_unsupported' : 'dial_failed',
        `cannot open ${protocol} to ${peerId}`,
        { cause },
      );
    }
    const reader = new FrameReader(stream, limits.readHighWaterBytes);
    try {
      const streamed = outgoing.stream !== undefined;
      const head = RequestHead.encode({
        version: FRAMING_VERSION,
        body: wireBytes(body),
        streamed,
      });
      await writeFrame(stream, head, signal);
      if (outgoing.stream !== undefined) {
        await writeChunks(stream, outgoing.stream, limits, user);
        signal = withTimeout(limits.timeoutMs);
      }
      await stream.close({ signal });
      const frame = await reader.read(limits.maxHeadBytes, signal);
      if (frame === null) throw new NetError('truncated', `${peerId} closed without a response`);
      const response = decodeFrame(ResponseHead.decode, frame, 'the response head');
      if (response.version !== FRAMING_VERSION) {
        throw new NetError('unsupported_version', `response framing version ${response.version}`);
      }
      if (response.status !== ResponseHead.Status.OK) {
        const code = REMOTE_STATUS[response.status];
        if (code !== undefined) {
          throw new NetError(code, `${peerId} answered ${response.status} on ${protocol}`);
        }
        const remote =
          response.status === ResponseHead.Status.ERROR
            ? response.errorCode || 'error'
            : 'bad_request';
        throw new RemoteRequestError(remote, protocol);
      }
      return {
        peerId,
        body: response.body,
        stream: response.streamed
          ? new ChunkSource(
              reader,
              limits,
              user,
              (e) => {
                this.#misbehaved(peerId, protocol, e);
                stream.abort(e);
              },
              () => stream.abort(new Error('streamed response abandoned')),
            )
          : null,
      };
    } catch (err) {
      const netErr = isNetError(err)
        ? err
        : new NetError('aborted', `${protocol} failed`, { cause: err });
      this.#misbehaved(peerId, protocol, netErr);
      stream.abort(netErr);
      throw netErr;
    }
  }
}

function parseTarget(peer: string): { peerId: string; dial: PeerId | Multiaddr } {
  try {
    if (peer.startsWith('/')) {
      const ma = multiaddr(peer);
      const p2p = ma.getComponents().findLast((c) => c.name === 'p2p');
      if (p2p?.value === undefined) throw new Error('no /p2p/ component');
      return { peerId: p2p.value, dial: ma };
    }
    return { peerId: peer, dial: peerIdFromString(peer) };
  } catch (cause) {
    throw new NetError('invalid_argument', 'not a peer id or a multiaddr with /p2p/', { cause });
  }
}
