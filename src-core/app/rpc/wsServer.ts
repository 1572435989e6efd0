/**
 * The app API over a WebSocket on loopback, for browser mode (`parley serve`).
 *
 * Who may call: whoever holds a one-time token. `parley serve` issues one and puts it in the
 * URL fragment it opens (a fragment never reaches a server, a referrer or an HTTP log). The page
 * sends it in its first frame and gets a session secret back; the token is then spent. A page
 * reload resumes with the session, which lives as long as the server. Both are compared in
 * constant time through their SHA-256 digests.
 *
 * Which pages may connect: a browser always sends Origin with a WebSocket handshake; only the
 * origins given here are accepted, so another site open in the same browser cannot even reach
 * the token check. The Host header must name loopback, which defeats DNS rebinding. Clients that
 * are not browsers (the CLI, tests) send no Origin and still need a token.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { ParleyApi } from '../api.js';
import { AppError } from '../errors.js';
import { CLOSE_POLICY } from './channel.js';
import type { DispatchOptions, Dispatcher } from './server.js';
import { createDispatcher, toAppError } from './server.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  HELLO_METHOD,
  errorFrame,
  helloParams,
  parseFrameText,
  requestFrame,
  resultFrame,
} from './schema.js';

export interface WsServerOptions extends DispatchOptions {
  api: ParleyApi;
  /** A loopback address; anything else is refused. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Exact origins (scheme://host:port) of pages allowed to connect. */
  allowedOrigins?: readonly string[];
  /** Unauthenticated connections are closed after this long. */
  helloTimeoutMs?: number;
}

export interface RpcWebSocketServer {
  readonly host: string;
  readonly port: number;
  /** ws://host:port/ */
  readonly url: string;
  /** A fresh one-time token (base64url, 256 bits). */
  issueToken(): string;
  /** Forgets every session and closes every connection and the listener. */
  close(): Promise<void>;
}

const LOOPBACK_V4 = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function isLoopbackHost(host: string): boolean {
  const m = LOOPBACK_V4.exec(host);
  if (m) return m.slice(1).every((o) => Number(o) <= 255);
  return host === '::1' || host === '[::1]' || host === 'localhost';
}

/** The host part of a Host header (`127.0.0.1:8080`, `[::1]:8080`, `localhost`). */
function hostOfHeader(header: string): string {
  if (header.startsWith('[')) return header.slice(0, header.indexOf(']') + 1);
  const colon = header.lastIndexOf(':');
  return colon === -1 ? header : header.slice(0, colon);
}

const digest = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest();

/** A set of secrets compared in constant time (per entry) through their digests. */
class SecretSet {
  private readonly digests: Buffer[] = [];

  add(secret: string): void {
    this.digests.push(digest(secret));
  }

  /** Finds and, when `consume`, removes the secret; every entry is compared in full. */
  match(secret: string, consume: boolean): boolean {
    const d = digest(secret);
    let found = -1;
    this.digests.forEach((entry, i) => {
      if (timingSafeEqual(entry, d) && found === -1) found = i;
    });
    if (found !== -1 && consume) this.digests.splice(found, 1);
    return found !== -1;
  }

  clear(): void {
    this.digests.length = 0;
  }
}

function refuseUpgrade(socket: Duplex, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

export async function startWebSocketServer(options: WsServerOptions): Promise<RpcWebSocketServer> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host) || host === 'localhost') {
    throw new AppError('bad_request', `refusing to listen on ${host}: loopback addresses only`);
  }
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const allowedOrigins = new Set(options.allowedOrigins ?? []);
  const helloTimeoutMs = options.helloTimeoutMs ?? 10_000;
  const tokens = new SecretSet();
  const sessions = new SecretSet();
  const dispatchers = new Set<Dispatcher>();

  const http: Server = createServer((_req, res) => {
    res.writeHead(426, { Connection: 'close' }).end();
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxFrameBytes });

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const origin = req.headers.origin;
    const hostHeader = req.headers.host ?? '';
    if (!isLoopbackHost(hostOfHeader(hostHeader))) return refuseUpgrade(socket, '403 Forbidden');
    if (origin !== undefined && !allowedOrigins.has(origin)) {
      return refuseUpgrade(socket, '403 Forbidden');
    }
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws));
  });

  function accept(ws: WebSocket): void {
    let dispatcher: Dispatcher | null = null;
    const timer = setTimeout(() => ws.close(CLOSE_POLICY, 'no session'), helloTimeoutMs);
    timer.unref();
    const refuse = (id: number | string | null, error: AppError): void => {
      ws.send(errorFrame(id, error));
      ws.close(CLOSE_POLICY, error.code);
    };
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? null : data.toString();
      if (dispatcher) {
        void dispatcher.receive(text);
        return;
      }
      // Until a session exists the only frame accepted is the hello; anything else closes.
      clearTimeout(timer);
      let raw: unknown;
      try {
        raw = parseFrameText(text, 4096);
      } catch (error) {
        return refuse(null, toAppError(error));
      }
      const frame = requestFrame.safeParse(raw);
      if (!frame.success || frame.data.method !== HELLO_METHOD) {
        const id = frame.success ? frame.data.id : null;
        return refuse(id, new AppError('unauthorized', `${HELLO_METHOD} with a token comes first`));
      }
      const credential = helloParams.safeParse(frame.data.params);
      let session: string | null = null;
      if (credential.success && 'token' in credential.data) {
        if (tokens.match(credential.data.token, true)) {
          session = randomBytes(32).toString('base64url');
          sessions.add(session);
        }
      } else if (credential.success && 'session' in credential.data) {
        if (sessions.match(credential.data.session, false)) session = credential.data.session;
      }
      if (session === null) {
        return refuse(
          frame.data.id,
          new AppError('unauthorized', 'unknown, used or malformed token'),
        );
      }
      ws.send(resultFrame(frame.data.id, { session }));
      const d = createDispatcher(options.api, (f) => ws.send(f), options);
      dispatchers.add(d);
      dispatcher = d;
    });
    ws.on('close', () => {
      clearTimeout(timer);
      if (dispatcher) {
        dispatcher.close();
        dispatchers.delete(dispatcher);
      }
    });
    ws.on('error', () => ws.terminate());
  }

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const address = http.address();
  if (address === null || typeof address === 'string') {
    throw new AppError('internal', 'listener has no port');
  }
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    host,
    port: address.port,
    url: `ws://${urlHost}:${address.port}/`,
    issueToken() {
      const token = randomBytes(32).toString('base64url');
      tokens.add(token);
      return token;
    },
    async close() {
      tokens.clear();
      sessions.clear();
      for (const d of dispatchers) d.close();
      dispatchers.clear();
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
