/**
 * The preload of the app window (sandboxed: only `electron`'s renderer modules are available, and
 * build-main bundles this file with preloadRelay.ts into one CommonJS script). It exposes exactly
 * one thing to the page, `window.parley`: the PreloadBridge text relay to the core's MessagePort.
 * No ipcRenderer, no Node, no API of its own reaches the page.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { CORE_GONE_CHANNEL, PORT_CHANNEL, PORT_REQUEST_CHANNEL } from './ipcChannels.js';
import { createPreloadRelay } from './preloadRelay.js';

const relay = createPreloadRelay();

ipcRenderer.once(PORT_CHANNEL, (event) => {
  // Only main can send on this channel to us; one port, once.
  const port = event.ports[0];
  if (port === undefined) {
    relay.close();
    return;
  }
  relay.attach(port);
  port.start();
});
ipcRenderer.once(CORE_GONE_CHANNEL, () => relay.close());
ipcRenderer.send(PORT_REQUEST_CHANNEL);

const { bridge } = relay;
contextBridge.exposeInMainWorld('parley', {
  send: (frame: string) => bridge.send(frame),
  onFrame: (listener: (frame: string) => void) => bridge.onFrame(listener),
  onClose: (listener: () => void) => bridge.onClose(listener),
});
