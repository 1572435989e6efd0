// Coming back on the same port after a restart. Contacts find a node again by redialling its last
// addresses, and a restarted node redials its contacts; but when two contacts both restart on
// fresh ports, each holds only the other's dead address and neither finds the other again (no
// mDNS on the path, no third peer telling them). So a listen address configured with port 0 asks
// for the port it had last time, if that port is free; otherwise the OS picks one as before. The
// node's own bound addresses are kept in the address book under its own peer id (never a
// contact, so Discovery does not dial it).
import { createServer } from 'node:net';
import { multiaddr } from '@multiformats/multiaddr';
import type { PeerAddressBook } from './addressBook.js';
import { MAX_ADDRS_PER_PEER } from './addressBook.js';
import { describeError } from './errors.js';

interface TcpShape {
  readonly family: 'ip4' | 'ip6';
  readonly host: string;
  readonly port: number;
  /** What follows the port, e.g. '' for plain TCP or '/ws'. */
  readonly rest: string;
}

function tcpShape(addr: string): TcpShape | undefined {
  let comps;
  try {
    comps = multiaddr(addr).getComponents();
  } catch {
    return undefined;
  }
  const [ip, tcp, ...rest] = comps;
  if (ip === undefined || tcp?.name !== 'tcp' || ip.value === undefined) return undefined;
  if (ip.name !== 'ip4' && ip.name !== 'ip6') return undefined;
  if (rest.some((c) => c.name === 'p2p' || c.name === 'p2p-circuit')) return undefined;
  const port = Number(tcp.value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return undefined;
  return {
    family: ip.name,
    host: ip.value,
    port,
    rest: rest.map((c) => `/${c.name}${c.value === undefined ? '' : `/${c.value}`}`).join(''),
  };
}

const isWildcard = (host: string): boolean => host === '0.0.0.0' || host === '::';

/**
 * For each configured TCP listen address with port 0, the port it was bound to last time
 * (`previous`: our own earlier addresses), or undefined. A wildcard host matches any address of
 * its family; the part after the port (plain TCP, /ws) must match.
 */
export function previousPort(listen: string, previous: readonly string[]): number | undefined {
  const want = tcpShape(listen);
  if (want === undefined || want.port !== 0) return undefined;
  for (const p of previous) {
    const had = tcpShape(p);
    if (had === undefined || had.port === 0) continue;
    if (had.family !== want.family || had.rest !== want.rest) continue;
    if (!isWildcard(want.host) && had.host !== want.host) continue;
    return had.port;
  }
  return undefined;
}

/** Whether a TCP server could bind `host:port` now (the OS's answer, not a guess). */
export function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * `listen` with each port 0 replaced by the port of our previous run where that port is free.
 * Between this check and libp2p binding it another process could take the port; the node then
 * fails to start with `invalid_config` rather than listening somewhere unannounced.
 */
export async function listenWithPreviousPorts(
  listen: readonly string[],
  book: PeerAddressBook,
  selfId: string,
): Promise<string[]> {
  const previous = (await book.get(selfId).catch(() => undefined))?.addrs ?? [];
  const out: string[] = [];
  for (const addr of listen) {
    const port = previousPort(addr, previous);
    const shape = tcpShape(addr);
    if (port !== undefined && shape !== undefined && (await portFree(shape.host, port))) {
      out.push(`/${shape.family}/${shape.host}/tcp/${port}${shape.rest}`);
    } else {
      out.push(addr);
    }
  }
  return out;
}

/** Keeps our bound addresses (without /p2p) for the next start; failures are only logged. */
export async function rememberOwnAddresses(
  book: PeerAddressBook,
  selfId: string,
  addrs: readonly string[],
): Promise<void> {
  const bare = addrs
    .map((a) => (a.endsWith(`/p2p/${selfId}`) ? a.slice(0, -`/p2p/${selfId}`.length) : a))
    .filter((a) => tcpShape(a) !== undefined)
    .slice(0, MAX_ADDRS_PER_PEER);
  if (bare.length === 0) return;
  try {
    await book.put({ peerId: selfId, addrs: bare, lastSeenMs: Date.now(), contact: false });
  } catch (err) {
    console.error(`net: cannot remember our own addresses: ${describeError(err)}`);
  }
}
