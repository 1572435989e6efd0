/**
 * The one way the UI reaches the app: Electron's preload bridge when it is there (`window.parley`,
 * a relay of text frames to the utility process's MessagePort), otherwise the WebSocket of
 * `parley serve` (browser mode). Either way the page runs the same RPC client, which validates
 * every result and event, and the UI holds a `ParleyApi` and nothing else.
 *
 * Browser mode: `parley serve` opens `http://127.0.0.1:<port>/#token=<one-time token>&ws=<port>`.
 * The token is read once, removed from the address bar and history, and traded for a session
 * kept in sessionStorage (this tab only), so a reload reconnects without a new token.
 */
import type { ParleyApi } from '../../src-core/app/api.js';
import { AppError } from '../../src-core/app/errors.js';
import { preloadChannel } from '../../src-core/app/rpc/channel.js';
import type { PreloadBridge } from '../../src-core/app/rpc/channel.js';
import { connectWebSocket, createClient } from '../../src-core/app/rpc/client.js';
import type { Credential } from '../../src-core/app/rpc/client.js';

declare global {
  interface Window {
    /** Set by src-main's preload: a relay of text frames, not an API (see PreloadBridge). */
    parley?: PreloadBridge;
  }
}

const SESSION_KEY = 'parley.session';

export interface Bridge {
  api: ParleyApi;
  kind: 'electron' | 'websocket';
  /** Settles when the bridge is gone (the server stopped, the tab lost its session). */
  closed: Promise<AppError>;
}

interface BrowserLink {
  credential: Credential;
  port: string;
}

/** Reads (and wipes) the token from the fragment, or falls back to this tab's session. */
function readLink(): BrowserLink {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const token = fragment.get('token');
  const port = fragment.get('ws') ?? location.port;
  if (token !== null) {
    history.replaceState(null, '', location.pathname + location.search);
    return { credential: { token }, port };
  }
  const saved = sessionStorage.getItem(SESSION_KEY);
  if (saved !== null) {
    const [session, savedPort] = saved.split(' ');
    if (session && savedPort) return { credential: { session }, port: savedPort };
  }
  throw new AppError(
    'unauthorized',
    'no token: open the address that `parley serve` printed (it is valid once)',
  );
}

export async function connectBridge(): Promise<Bridge> {
  if (window.parley !== undefined) {
    const client = createClient(preloadChannel(window.parley));
    return { api: client, kind: 'electron', closed: client.closed };
  }
  const { credential, port } = readLink();
  if (!/^[0-9]{1,5}$/.test(port))
    throw new AppError('bad_request', 'no WebSocket port in the link');
  const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
  try {
    const { client, session } = await connectWebSocket(socket, credential);
    sessionStorage.setItem(SESSION_KEY, `${session} ${port}`);
    return { api: client, kind: 'websocket', closed: client.closed };
  } catch (error) {
    if (error instanceof AppError && error.code === 'unauthorized') {
      sessionStorage.removeItem(SESSION_KEY);
    }
    throw error;
  }
}
