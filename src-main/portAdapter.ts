/**
 * Electron's MessagePortMain (main and utility process) speaks EventEmitter (`on('message')`,
 * `on('close')`, `start()`), not the DOM's `onmessage`. This adapts it to the RPC carrier
 * (src-core/app/rpc/channel.ts), so both processes use the same validating server and client.
 */
import { AppError } from '../src-core/app/errors.js';
import type { FrameChannel, PortLike } from '../src-core/app/rpc/channel.js';
import { portChannel } from '../src-core/app/rpc/channel.js';

/** The part of MessagePortMain used here (typed loosely enough for Electron's overloads). */
export interface MainPortLike {
  postMessage(message: string): void;
  start(): void;
  close(): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
}

export function mainPortChannel(port: MainPortLike, peer: string): FrameChannel {
  const like: PortLike = { postMessage: (m) => port.postMessage(m), onmessage: null };
  port.on('message', (event) => like.onmessage?.({ data: event.data }));
  const channel = portChannel(like);
  // 'close' fires when the other end is gone (window closed or reloaded, process exited).
  port.on('close', () => channel.close(new AppError('unavailable', `${peer} is gone`)));
  channel.onClose(() => port.close());
  port.start();
  return channel;
}
