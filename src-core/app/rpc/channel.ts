/**
 * What the RPC layer needs from a carrier: send a text frame, hear text frames, learn that the
 * other side is gone. Two carriers fit it: a MessagePort-like object (Electron's utility process
 * and preload) and a WebSocket (browser mode, `parley serve`). Neither imports Node or Electron, so
 * the renderer bundles this file as is.
 */
import { AppError } from '../errors.js';

export interface FrameChannel {
  send(frame: string): void;
  /** One listener; a frame is whatever the carrier delivered (validated by the receiver). */
  onFrame(listener: (frame: unknown) => void): void;
  /** Called once, when either side closes; the reason is what pending calls fail with. */
  onClose(listener: (reason: AppError) => void): void;
  close(reason?: AppError): void;
}

/**
 * A handler type whose parameter is checked bivariantly (it is taken from a method), so that a
 * DOM MessagePort's `onmessage: (ev: MessageEvent) => any` fits `{ data: unknown }`.
 */
type MessageHandler = { bivariant(event: { data: unknown }): void }['bivariant'];

/**
 * The part of a MessagePort the carrier uses. A browser MessagePort fits as is; Node's and
 * Electron's MessagePortMain (`on('message')`) are adapted by their owner in a few lines.
 */
export interface PortLike {
  postMessage(message: string): void;
  onmessage: MessageHandler | null;
}

export function portChannel(port: PortLike): FrameChannel {
  let frameListener: ((frame: unknown) => void) | null = null;
  const closeListeners: ((reason: AppError) => void)[] = [];
  let closed = false;
  port.onmessage = (event) => {
    if (!closed) frameListener?.(event.data);
  };
  return {
    send(frame) {
      if (closed) return;
      port.postMessage(frame);
    },
    onFrame(listener) {
      frameListener = listener;
    },
    onClose(listener) {
      if (closed) listener(new AppError('unavailable', 'channel closed'));
      else closeListeners.push(listener);
    },
    close(reason = new AppError('unavailable', 'channel closed')) {
      if (closed) return;
      closed = true;
      port.onmessage = null;
      for (const l of closeListeners.splice(0)) l(reason);
    },
  };
}

/**
 * What Electron's preload exposes to the page as `window.parley` (through contextBridge, which
 * passes functions and strings but not ports or setters): a dumb relay of text frames to the
 * MessagePort of the utility process. The page builds its client over it, so every frame is
 * validated in the page and again in the utility process; the preload holds no API of its own.
 */
export interface PreloadBridge {
  send(frame: string): void;
  onFrame(listener: (frame: string) => void): void;
  onClose(listener: () => void): void;
}

export function preloadChannel(bridge: PreloadBridge): FrameChannel {
  const port: PortLike = { postMessage: (m) => bridge.send(m), onmessage: null };
  bridge.onFrame((frame) => port.onmessage?.({ data: frame }));
  const channel = portChannel(port);
  bridge.onClose(() => channel.close(new AppError('unavailable', 'the app process is gone')));
  return channel;
}

/** The part of the WebSocket API the carrier uses: the browser's and the `ws` package's both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number }) => void): void;
  addEventListener(type: 'open' | 'error', listener: () => void): void;
}

const WS_OPEN = 1;

/** WebSocket close codes of RFC 6455 §7.4.1 the server uses, and what a caller learns from them. */
export const CLOSE_POLICY = 1008;
export const CLOSE_TOO_BIG = 1009;

export function closeReason(code: number): AppError {
  if (code === CLOSE_TOO_BIG) return new AppError('too_large', 'frame too large for the server');
  if (code === CLOSE_POLICY) return new AppError('unauthorized', 'connection refused by policy');
  return new AppError('unavailable', `connection closed (${code})`);
}

export function webSocketChannel(socket: WebSocketLike): FrameChannel {
  let frameListener: ((frame: unknown) => void) | null = null;
  const closeListeners: ((reason: AppError) => void)[] = [];
  let closed = false;
  const finish = (reason: AppError): void => {
    if (closed) return;
    closed = true;
    for (const l of closeListeners.splice(0)) l(reason);
  };
  socket.addEventListener('message', (event) => {
    if (!closed) frameListener?.(event.data);
  });
  socket.addEventListener('close', (event) => finish(closeReason(event.code)));
  socket.addEventListener('error', () => finish(new AppError('unavailable', 'connection failed')));
  return {
    send(frame) {
      if (closed || socket.readyState !== WS_OPEN) return;
      socket.send(frame);
    },
    onFrame(listener) {
      frameListener = listener;
    },
    onClose(listener) {
      if (closed) listener(new AppError('unavailable', 'channel closed'));
      else closeListeners.push(listener);
    },
    close(reason = new AppError('unavailable', 'channel closed')) {
      if (closed) return;
      socket.close(1000, 'bye');
      finish(reason);
    },
  };
}
