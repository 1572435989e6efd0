/**
 * The logic of the preload's `window.parley` (PreloadBridge, src-core/app/rpc/channel.ts): a dumb
 * relay of text frames between the page and the MessagePort main hands the preload. It holds no
 * API and parses nothing: the page's RPC client and the core's server validate every frame. It
 * only makes sure the page can pass nothing but strings, and that frames sent before the port
 * arrives (the page starts at once) wait in a bounded queue instead of being lost.
 *
 * No Electron import: preload.ts binds it to ipcRenderer and contextBridge.
 */
import type { PortLike, PreloadBridge } from '../src-core/app/rpc/channel.js';

/** Frames the page may send before the port arrives; a page that sends more is broken. */
export const MAX_QUEUED_FRAMES = 256;

export interface PreloadRelay {
  /** What the preload exposes as `window.parley` (functions only: contextBridge copies it). */
  readonly bridge: PreloadBridge;
  /** The port to the core arrived: flush the queue and relay from now on. Once only. */
  attach(port: PortLike): void;
  /** The core is gone (or the queue overflowed): tell the page, drop everything after. */
  close(): void;
}

export function createPreloadRelay(): PreloadRelay {
  let port: PortLike | null = null;
  let closed = false;
  const queue: string[] = [];
  const frameListeners: ((frame: string) => void)[] = [];
  const closeListeners: (() => void)[] = [];

  const close = (): void => {
    if (closed) return;
    closed = true;
    queue.length = 0;
    if (port !== null) port.onmessage = null;
    port = null;
    for (const l of closeListeners.splice(0)) l();
    frameListeners.length = 0;
  };

  const bridge: PreloadBridge = {
    send(frame) {
      if (closed || typeof frame !== 'string') return;
      if (port !== null) {
        port.postMessage(frame);
        return;
      }
      if (queue.length >= MAX_QUEUED_FRAMES) {
        close();
        return;
      }
      queue.push(frame);
    },
    onFrame(listener) {
      if (typeof listener === 'function' && !closed) frameListeners.push(listener);
    },
    onClose(listener) {
      if (typeof listener !== 'function') return;
      if (closed) listener();
      else closeListeners.push(listener);
    },
  };

  return {
    bridge,
    attach(p) {
      if (closed || port !== null) return;
      port = p;
      p.onmessage = (event) => {
        // The core sends text frames only; anything else is not passed to the page.
        if (closed || typeof event.data !== 'string') return;
        for (const l of [...frameListeners]) l(event.data);
      };
      for (const frame of queue.splice(0)) p.postMessage(frame);
    },
    close,
  };
}
