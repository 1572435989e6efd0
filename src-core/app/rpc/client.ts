/**
 * The client side of the RPC boundary: a `ParleyApi` whose calls travel as frames over a channel.
 * Params are checked before sending (a bad call fails here with `bad_request` and sends nothing);
 * results and events are checked on arrival, so the UI only ever holds data of the contract's
 * shape, whoever sits on the other end.
 */
import type {
  MethodName,
  MethodParams,
  MethodResult,
  ParleyApi,
  ParleyCalls,
  ParleyEvent,
  Unsubscribe,
} from '../api.js';
import { AppError } from '../errors.js';
import type { FrameChannel, WebSocketLike } from './channel.js';
import { webSocketChannel } from './channel.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  HELLO_METHOD,
  METHODS,
  METHOD_NAMES,
  PROTOCOL_VERSION,
  checkEvent,
  checkResult,
  describeIssues,
  frameBytes,
  helloResult,
  parseFrameText,
  serverFrame,
} from './schema.js';

export interface ParleyClient extends ParleyApi {
  /** Fails every pending call with `unavailable` and closes the channel. */
  close(): void;
  /** Settles with the reason once the channel is gone. */
  readonly closed: Promise<AppError>;
  /** Calls by name (what the method table of the proxy uses). */
  call<N extends MethodName>(method: N, params: MethodParams<N>): Promise<MethodResult<N>>;
}

export interface ClientOptions {
  maxFrameBytes?: number;
  /** Told of frames from the server that fail the protocol (they are dropped). */
  onProtocolError?: (error: AppError) => void;
}

interface Pending {
  method: MethodName;
  resolve: (value: unknown) => void;
  reject: (error: AppError) => void;
}

export function createClient(channel: FrameChannel, options: ClientOptions = {}): ParleyClient {
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const protocolError = options.onProtocolError ?? (() => undefined);
  const pending = new Map<number, Pending>();
  const listeners = new Set<(e: ParleyEvent) => void>();
  let nextId = 1;
  let closedReason: AppError | null = null;
  let settleClosed: (reason: AppError) => void = () => undefined;
  const closed = new Promise<AppError>((resolve) => (settleClosed = resolve));

  channel.onClose((reason) => {
    closedReason = reason;
    for (const p of pending.values()) p.reject(reason);
    pending.clear();
    listeners.clear();
    settleClosed(reason);
  });

  channel.onFrame((text) => {
    let frame;
    try {
      const parsed = serverFrame.safeParse(parseFrameText(text, maxFrameBytes));
      if (!parsed.success) {
        throw new AppError('bad_request', `server frame: ${describeIssues(parsed.error)}`);
      }
      frame = parsed.data;
    } catch (error) {
      protocolError(
        error instanceof AppError ? error : new AppError('bad_request', 'server frame'),
      );
      return;
    }
    if ('event' in frame) {
      let e: ParleyEvent;
      try {
        e = checkEvent(frame);
      } catch (error) {
        protocolError(error as AppError);
        return;
      }
      for (const l of [...listeners]) l(e);
      return;
    }
    if (typeof frame.id !== 'number' || !pending.has(frame.id)) {
      if (!frame.ok) protocolError(new AppError(frame.error.code, frame.error.message));
      else protocolError(new AppError('bad_request', 'answer to no pending call'));
      return;
    }
    const p = pending.get(frame.id)!;
    pending.delete(frame.id);
    if (!frame.ok) {
      p.reject(new AppError(frame.error.code, frame.error.message));
      return;
    }
    try {
      p.resolve(checkResult(p.method, frame.result));
    } catch (error) {
      p.reject(error as AppError);
    }
  });

  function call<N extends MethodName>(
    method: N,
    params: MethodParams<N>,
  ): Promise<MethodResult<N>> {
    if (closedReason) return Promise.reject(closedReason);
    const checked = METHODS[method].params.safeParse(params);
    if (!checked.success) {
      return Promise.reject(
        new AppError('bad_request', `${method} params: ${describeIssues(checked.error)}`),
      );
    }
    const id = nextId++;
    const text = JSON.stringify({ v: PROTOCOL_VERSION, id, method, params: checked.data });
    if (frameBytes(text) > maxFrameBytes) {
      return Promise.reject(new AppError('too_large', `frame over ${maxFrameBytes} bytes`));
    }
    return new Promise<MethodResult<N>>((resolve, reject) => {
      pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject });
      channel.send(text);
    });
  }

  const groups: Record<string, Record<string, (params?: unknown) => Promise<unknown>>> = {};
  for (const method of METHOD_NAMES) {
    const [group, name] = method.split('.') as [string, string];
    groups[group] ??= {};
    groups[group][name] = (params?: unknown) => call(method, params as never);
  }

  const client = {
    ...(groups as unknown as ParleyCalls),
    onEvent(listener: (e: ParleyEvent) => void): Unsubscribe {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      channel.close(new AppError('unavailable', 'client closed'));
    },
    closed,
    call,
  };
  return client;
}

export type Credential = { token: string } | { session: string };

export interface WebSocketConnection {
  client: ParleyClient;
  /** Resumes this connection's session later (e.g. after a page reload) without a new token. */
  session: string;
}

/**
 * Opens a client over a WebSocket to `parley serve`: waits for the socket, trades the one-time
 * token (or an earlier session) for a session in the first frame, then serves calls.
 */
export function connectWebSocket(
  socket: WebSocketLike,
  credential: Credential,
  options: ClientOptions = {},
): Promise<WebSocketConnection> {
  const channel = webSocketChannel(socket);
  return new Promise<WebSocketConnection>((resolve, reject) => {
    let done = false;
    const fail = (error: AppError): void => {
      if (done) return;
      done = true;
      channel.close(error);
      reject(error);
    };
    channel.onClose((reason) => fail(reason));
    channel.onFrame((text) => {
      if (done) return;
      let session: string;
      try {
        const frame = serverFrame.safeParse(parseFrameText(text, 4096));
        if (!frame.success || 'event' in frame.data || frame.data.id !== 0) {
          throw new AppError('bad_request', 'unexpected answer to the session hello');
        }
        if (!frame.data.ok) throw new AppError(frame.data.error.code, frame.data.error.message);
        const result = helloResult.safeParse(frame.data.result);
        if (!result.success) throw new AppError('bad_request', 'malformed session');
        session = result.data.session;
      } catch (error) {
        fail(error instanceof AppError ? error : new AppError('bad_request', 'session hello'));
        return;
      }
      done = true;
      resolve({ client: createClient(channel, options), session });
    });
    const hello = (): void =>
      channel.send(
        JSON.stringify({ v: PROTOCOL_VERSION, id: 0, method: HELLO_METHOD, params: credential }),
      );
    if (socket.readyState === 1) hello();
    else socket.addEventListener('open', hello);
  });
}
