// Length-prefixed frames on a libp2p stream, with back-pressure both ways. Reading: bytes are
// buffered up to a high-water mark, then the stream is paused, which (on yamux) stops window
// updates so the sender blocks; it resumes once the reader has taken frames out. Writing: a
// frame waits for `drain` when the transport's buffer is full. Every read has a size limit
// checked from the length prefix alone, before any body byte is buffered past it.
import type { Stream } from '@libp2p/interface';
import { Uint8ArrayList } from 'uint8arraylist';
import { NetError } from './errors.js';

/** A 32-bit length as a protobuf-style varint takes at most 5 bytes. */
const MAX_PREFIX_BYTES = 5;

function encodeLength(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Uint8Array.from(out);
}

/** Converts an abort of `signal` to the NetError the caller should see. */
export function abortError(signal: AbortSignal, what: string): NetError {
  const reason: unknown = signal.reason;
  if (reason instanceof NetError) return reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new NetError('timeout', `${what} timed out`);
  }
  return new NetError('aborted', `${what} was aborted`);
}

export class FrameReader {
  readonly #stream: Stream;
  readonly #highWater: number;
  readonly #buffer = new Uint8ArrayList();
  #ended = false;
  #failure: NetError | undefined;
  #wake: (() => void) | undefined;
  #pausePending = false;

  constructor(stream: Stream, highWaterBytes: number) {
    this.#stream = stream;
    this.#highWater = highWaterBytes;
    stream.addEventListener('message', (evt) => {
      this.#buffer.append(evt.data);
      if (this.#buffer.byteLength > this.#highWater) this.#pauseSoon();
      this.#notify();
    });
    // 'end' comes once the remote closed its side and everything it sent was delivered to us;
    // data held while paused defers it, so a paused reader never mistakes a pause for the end.
    stream.addEventListener('end', () => {
      this.#ended = true;
      this.#notify();
    });
    stream.addEventListener('close', (evt) => {
      if (evt.error !== undefined) {
        this.#failure ??= new NetError('stream_reset', 'the stream was reset', {
          cause: evt.error,
        });
        this.#ended = true;
      } else if (stream.readableEnded || stream.readBufferLength === 0) {
        this.#ended = true;
      }
      this.#notify();
    });
  }

  /**
   * Pauses after the current dispatch. A 'message' event can be dispatched from inside
   * `resume()`, which re-opens the yamux window after dispatching: pausing synchronously there
   * would leave the stream paused with the window open, and a fast sender would then overrun
   * the stream's read buffer.
   */
  #pauseSoon(): void {
    if (this.#pausePending) return;
    this.#pausePending = true;
    queueMicrotask(() => {
      this.#pausePending = false;
      if (this.#buffer.byteLength > this.#highWater && this.#stream.readStatus === 'readable') {
        this.#stream.pause();
      }
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Bytes buffered and not yet read as frames. */
  get buffered(): number {
    return this.#buffer.byteLength;
  }

  /**
   * Reads one frame of at most `maxBytes`. Returns null if the stream ended cleanly before the
   * first byte of a frame; throws `truncated` if it ended inside one, `message_too_large` if the
   * prefix announces more than `maxBytes`, `timeout`/`aborted` when `signal` fires.
   */
  async read(maxBytes: number, signal: AbortSignal): Promise<Uint8Array | null> {
    for (;;) {
      const frame = this.#tryTake(maxBytes);
      if (frame !== undefined) return frame;
      if (this.#failure !== undefined && this.#buffer.byteLength === 0) throw this.#failure;
      if (this.#ended) {
        if (this.#buffer.byteLength === 0) return null;
        throw new NetError('truncated', `the stream ended inside a frame`);
      }
      if (signal.aborted) throw abortError(signal, 'reading a frame');
      // No whole frame is buffered, so more bytes are needed: a paused stream must flow again
      // (a frame may be larger than the high-water mark).
      if (this.#stream.readStatus === 'paused') this.#stream.resume();
      await new Promise<void>((resolve) => {
        const onAbort = (): void => resolve();
        signal.addEventListener('abort', onAbort, { once: true });
        this.#wake = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
      });
      if (signal.aborted) throw abortError(signal, 'reading a frame');
    }
  }

  /** A whole frame if buffered; undefined if more bytes are needed. */
  #tryTake(maxBytes: number): Uint8Array | undefined {
    const buf = this.#buffer;
    let length = 0;
    let prefix = 0;
    for (;;) {
      if (prefix === buf.byteLength) return undefined;
      if (prefix === MAX_PREFIX_BYTES) {
        throw new NetError('malformed_message', 'frame length prefix is longer than 5 bytes');
      }
      const byte = buf.get(prefix);
      length += (byte & 0x7f) * 2 ** (7 * prefix);
      prefix++;
      if ((byte & 0x80) === 0) break;
    }
    if (length > maxBytes) {
      throw new NetError('message_too_large', `frame of ${length} bytes, limit ${maxBytes}`);
    }
    if (buf.byteLength < prefix + length) return undefined;
    const frame = buf.subarray(prefix, prefix + length);
    buf.consume(prefix + length);
    if (this.#buffer.byteLength <= this.#highWater / 2 && this.#stream.readStatus === 'paused') {
      this.#stream.resume();
    }
    // subarray may return a view into a larger chunk: copy so the frame owns its bytes.
    return frame.slice();
  }
}

/**
 * Bytes a stream may hold unsent before a writer waits. libp2p's `send()` only reports a full
 * transport, and 'drain' fires on every window update even with megabytes still queued, so the
 * queue itself is watched to keep a producer from running ahead of a slow reader.
 */
const WRITE_HIGH_WATER = 256 * 1024;

function queueDrained(stream: Stream, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      stream.removeEventListener('drain', check);
      stream.removeEventListener('idle', check);
      stream.removeEventListener('close', onClose);
      signal.removeEventListener('abort', onAbort);
      if (err === undefined) resolve();
      else reject(err);
    };
    const check = (): void => {
      if (!stream.writableNeedsDrain && stream.writeBufferLength <= WRITE_HIGH_WATER) done();
    };
    const onClose = (): void =>
      done(new NetError('stream_reset', 'the stream closed while writing'));
    const onAbort = (): void => done(abortError(signal, 'writing a frame'));
    stream.addEventListener('drain', check);
    stream.addEventListener('idle', check);
    stream.addEventListener('close', onClose);
    signal.addEventListener('abort', onAbort);
    check();
  });
}

/** Writes one length-prefixed frame, waiting while the stream's send queue is over its mark. */
export async function writeFrame(
  stream: Stream,
  frame: Uint8Array,
  signal: AbortSignal,
): Promise<void> {
  if (signal.aborted) throw abortError(signal, 'writing a frame');
  try {
    stream.send(new Uint8ArrayList(encodeLength(frame.byteLength), frame));
  } catch (cause) {
    throw new NetError('stream_reset', 'the stream is closed for writing', { cause });
  }
  if (stream.writableNeedsDrain || stream.writeBufferLength > WRITE_HIGH_WATER) {
    await queueDrained(stream, signal);
  }
}
