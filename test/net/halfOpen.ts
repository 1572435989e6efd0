// A TCP relay on 127.0.0.1 that can go silent: it forwards bytes both ways until frozen, then
// drops them and keeps both sockets open. The side that dialled through it holds a connection
// that looks open and is dead: what a laptop has after sleep or a Wi-Fi change, on loopback.
import { createConnection, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';

export interface HalfOpenProxy {
  /** Multiaddr of the proxy (no /p2p). */
  readonly addr: string;
  freeze(): void;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number): Promise<HalfOpenProxy> {
  const sockets = new Set<Socket>();
  let frozen = false;
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.on('data', (chunk) => {
        if (!frozen) to.write(chunk);
      });
      from.on('end', () => {
        if (!frozen) to.end();
      });
      from.on('error', () => undefined);
      from.on('close', () => sockets.delete(from));
    }
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    addr: `/ip4/127.0.0.1/tcp/${port}`,
    freeze: () => {
      frozen = true;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
