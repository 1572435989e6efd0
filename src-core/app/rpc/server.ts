/**
 * The server side of the RPC boundary, independent of the carrier: each frame is bounded, parsed
 * and checked against its method's params schema before anything runs; the implementation's
 * result is checked against the result schema before it leaves; events are checked the same way.
 * A frame that fails any check is answered with a typed error and executes nothing.
 */
import type { MethodName, ParleyApi } from '../api.js';
import { AppError } from '../errors.js';
import { ParleyError } from '../../errors.js';
import type { FrameChannel } from './channel.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  checkEvent,
  checkResult,
  errorFrame,
  eventFrameText,
  parseFrameText,
  parseRequest,
  resultFrame,
} from './schema.js';

export interface DispatchOptions {
  maxFrameBytes?: number;
  /** Calls running at once on one channel; more are answered `busy` without running. */
  maxInFlight?: number;
  /**
   * Told when the implementation broke the contract (a result or event that fails its schema, or
   * a thrown non-AppError). The caller only gets `internal`; this is where it is seen.
   */
  onContractViolation?: (where: string, error: unknown) => void;
}

/** Generous for a UI (a screen issues a handful of calls at once), small enough to bound memory. */
export const DEFAULT_MAX_IN_FLIGHT = 256;

type Callable = (params?: unknown) => Promise<unknown>;

/** The implementation's function for a method name, bound to its group. */
function resolve(api: ParleyApi, method: MethodName): Callable {
  const dot = method.indexOf('.');
  const group = (api as unknown as Record<string, Record<string, unknown>>)[method.slice(0, dot)];
  const fn = group?.[method.slice(dot + 1)];
  if (typeof fn !== 'function') {
    throw new AppError('internal', `implementation lacks ${method}`);
  }
  return (fn as Callable).bind(group);
}

/**
 * What a caller may learn from a failure: an AppError as is; for another layer's error its layer
 * and code (they name a rule, never data); for anything else only that it was internal.
 */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof ParleyError) {
    return new AppError('internal', `${error.layer} error ${error.code}`);
  }
  return new AppError('internal', 'internal error');
}

export interface Dispatcher {
  /** Resolves when the frame has been answered (tests and carriers may await it). */
  receive(frame: unknown): Promise<void>;
  close(): void;
}

/** Serves `api` on one channel until the channel closes. */
export function serveChannel(
  api: ParleyApi,
  channel: FrameChannel,
  options: DispatchOptions = {},
): Dispatcher {
  const dispatcher = createDispatcher(api, (frame) => channel.send(frame), options);
  channel.onFrame((frame) => void dispatcher.receive(frame));
  channel.onClose(() => dispatcher.close());
  return dispatcher;
}

/** The same, for a carrier that hands frames in itself (the WebSocket server after its hello). */
export function createDispatcher(
  api: ParleyApi,
  send: (frame: string) => void,
  options: DispatchOptions = {},
): Dispatcher {
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const violation = options.onContractViolation ?? (() => undefined);
  const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  let inFlight = 0;
  let open = true;
  const reply = (frame: string): void => {
    if (open) send(frame);
  };

  const unsubscribe = api.onEvent((e) => {
    if (!open) return;
    let frame: string;
    try {
      frame = eventFrameText(checkEvent(e));
    } catch (error) {
      violation(`event ${e.event}`, error);
      return;
    }
    reply(frame);
  });

  async function receive(text: unknown): Promise<void> {
    if (!open) return;
    let raw: unknown;
    try {
      raw = parseFrameText(text, maxFrameBytes);
    } catch (error) {
      reply(errorFrame(null, toAppError(error)));
      return;
    }
    const request = parseRequest(raw);
    if (!request.ok) {
      reply(errorFrame(request.id, request.error));
      return;
    }
    const { id, method, params } = request;
    if (inFlight >= maxInFlight) {
      reply(errorFrame(id, new AppError('busy', `${maxInFlight} calls already running`)));
      return;
    }
    inFlight++;
    try {
      const fn = resolve(api, method);
      const result = await (params === undefined ? fn() : fn(params));
      reply(resultFrame(id, checkResult(method, result)));
    } catch (error) {
      const appError = toAppError(error);
      if (!(error instanceof AppError) || appError.code === 'internal') violation(method, error);
      reply(errorFrame(id, appError));
    } finally {
      inFlight--;
    }
  }

  return {
    receive,
    close() {
      if (!open) return;
      open = false;
      unsubscribe();
    },
  };
}
