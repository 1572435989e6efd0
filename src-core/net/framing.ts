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

  constructor(stream: Stream, highWaterBytes: number) {
    this.#stream = stream;
    this.#highWater = highWaterBytes;
    stream.addEventListener('message', (evt) => {
      this.#buffer.append(evt.data);
      if (this.#buffer.byteLength > this.#highWater && stream.readStatus === 'readable') {
        stream.pause();
      }
      this.#notify();
    });
    stream.addEventListener('remoteCloseWrite', () => {
      this.#ended = true;
      this.#notify();
    });
    stream.addEventListener('close', (evt) => {
      this.#ended = true;
      if (evt.error !== undefined) {
        this.#failure ??= new NetError('stream_reset', 'the stream was reset', {
          cause: evt.error,
        });
      }
      this.#notify();
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

/** Writes one length-prefixed frame, waiting for `drain` when the transport buffer is full. */
export async function writeFrame(
  stream: Stream,
  frame: Uint8Array,
  signal: AbortSignal,
): Promise<void> {
  if (signal.aborted) throw abortError(signal, 'writing a frame');
  let ready: boolean;
  try {
    ready = stream.send(new Uint8ArrayList(encodeLength(frame.byteLength), frame));
  } catch (cause) {
    throw new NetError('stream_reset', 'the stream is closed for writing', { cause });
  }
  if (!ready) {
    try {
      await stream.onDrain({ signal });
    } catch (cause) {
      if (signal.aborted) throw abortError(signal, 'writing a frame');
      throw new NetError('stream_reset', 'the stream closed while writing', { cause });
    }
  }
}
