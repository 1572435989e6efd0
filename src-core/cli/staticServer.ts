/**
 * The renderer's files for browser mode, on 127.0.0.1 only. Only GET and HEAD of files under the
 * build folder; a Host header that does not name loopback is refused (DNS rebinding); every
 * answer carries a strict Content-Security-Policy whose connect-src is the one RPC WebSocket.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { isLoopbackHost } from '../app/rpc/wsServer.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

export function contentSecurityPolicy(rpcPort: number): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob:",
    "font-src 'self'",
    `connect-src ws://127.0.0.1:${rpcPort}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

function hostOf(header: string | undefined): string {
  const h = header ?? '';
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.lastIndexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}

export interface StaticServer {
  readonly port: number;
  /** Sets the port the CSP allows for the WebSocket (known after the RPC server started). */
  setRpcPort(port: number): void;
  close(): Promise<void>;
}

export async function startStaticServer(root: string, port: number): Promise<StaticServer> {
  const base = resolve(root);
  let csp = contentSecurityPolicy(0);
  const server: Server = createServer((req, res) => {
    const headers = {
      'Content-Security-Policy': csp,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cache-Control': 'no-store',
    };
    const refuse = (status: number): void => {
      res.writeHead(status, { ...headers, 'Content-Length': 0 }).end();
    };
    if (!isLoopbackHost(hostOf(req.headers.host)) || hostOf(req.headers.host) === 'localhost') {
      return refuse(403);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(405);
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    } catch {
      return refuse(400);
    }
    if (path.includes('\0')) return refuse(400);
    const file = normalize(join(base, path.endsWith('/') ? `${path}index.html` : path));
    if (file !== base && !file.startsWith(base + sep)) return refuse(404);
    stat(file).then(
      (s) => {
        if (!s.isFile()) return refuse(404);
        res.writeHead(200, {
          ...headers,
          'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
          'Content-Length': s.size,
        });
        if (req.method === 'HEAD') return res.end();
        createReadStream(file)
          .on('error', () => res.destroy())
          .pipe(res);
      },
      () => refuse(404),
    );
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', rej);
      res();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('listener has no port');
  return {
    port: address.port,
    setRpcPort(p) {
      csp = contentSecurityPolicy(p);
    },
    close: () =>
      new Promise<void>((res) => {
        server.closeAllConnections();
        server.close(() => res());
      }),
  };
}
