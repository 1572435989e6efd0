// A LAN made by the test itself: three network namespaces, each with a veth link to a bridge in a
// fourth ("hub") namespace, on a 10.x subnet that exists only inside them. Nothing is created in
// the machine's own namespace, so the test's multicast and traffic stay inside. A Parley node
// runs in each, with mDNS on and no address configured: they must find each other, connect and
// exchange gossip. Everything is removed in `finally`. Where namespaces cannot be made (not root,
// no `ip`), the test is skipped with the reason printed.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const tag = `pl${process.pid}`;
const NODES = 3;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Removes namespaces left by an earlier run of this test that was killed before its cleanup. */
function sweepStale(): void {
  let list: string;
  try {
    list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  } catch {
    return;
  }
  for (const line of list.split('\n')) {
    const m = /^(pl(\d+)(?:hub|n\d+|probe))\b/.exec(line);
    if (m === null || Number(m[2]) === process.pid) continue;
    try {
      process.kill(Number(m[2]), 0);
      continue; // that run is still going
    } catch {
      // its process is gone: the namespace is a leftover
    }
    try {
      ip('netns', 'del', m[1]!);
    } catch {
      // best effort
    }
  }
}

function probe(): string | undefined {
  sweepStale();
  const name = `${tag}probe`;
  try {
    ip('netns', 'add', name);
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    return `\`ip netns add\` failed (${stderr || (err as Error).message}); run as root with iproute2`;
  }
  try {
    ip('netns', 'del', name);
  } catch {
    // Left for the cleanup below to report.
  }
  return undefined;
}

const whyNot = probe();
if (whyNot !== undefined) {
  console.warn(`\n*** LAN test SKIPPED: cannot create network namespaces: ${whyNot} ***\n`);
}

interface Peer {
  readonly ns: string;
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: Record<string, unknown>[];
  peerId?: string;
}

function subnet(): string {
  // 10.<pid high>.<pid low>.0/24: distinct per run, and routed nowhere but these namespaces.
  return `10.${(process.pid >> 8) & 0xff}.${process.pid & 0xff}`;
}

function buildLan(): string[] {
  const hub = `${tag}hub`;
  const namespaces = [hub];
  ip('netns', 'add', hub);
  ip('-n', hub, 'link', 'add', 'br0', 'type', 'bridge');
  ip('-n', hub, 'link', 'set', 'br0', 'up');
  for (let i = 1; i <= NODES; i++) {
    const ns = `${tag}n${i}`;
    namespaces.push(ns);
    ip('netns', 'add', ns);
    const inner = `${tag}i${i}`;
    const outer = `${tag}o${i}`;
    ip(
      'link',
      'add',
      'name',
      inner,
      'netns',
      ns,
      'type',
      'veth',
      'peer',
      'name',
      outer,
      'netns',
      hub,
    );
    ip('-n', hub, 'link', 'set', outer, 'master', 'br0');
    ip('-n', hub, 'link', 'set', outer, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'addr', 'add', `${subnet()}.${i}/24`, 'dev', inner);
    ip('-n', ns, 'link', 'set', inner, 'up');
    // mDNS sends to 224.0.0.251: without a route for multicast the send fails.
    ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', inner);
  }
  return namespaces;
}

function startPeer(ns: string, serviceTag: string, topic: string): Peer {
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns,
      process.execPath,
      '--import',
      'tsx',
      resolve(here, 'fixtures', 'lan-peer.ts'),
      serviceTag,
      topic,
    ],
    { cwd: repo, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const peer: Peer = { ns, child, lines: [] };
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      const msg = JSON.parse(line) as Record<string, unknown>;
      if (msg.type === 'ready') peer.peerId = msg.peerId as string;
      peer.lines.push(msg);
    } catch {
      // not one of ours
    }
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 20_000) err = err.slice(-10_000);
  });
  child.on('exit', (code) => {
    if (code !== 0 && code !== null) console.error(`lan peer in ${ns} exited ${code}: ${err}`);
  });
  return peer;
}

async function waitFor(cond: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(whyNot !== undefined)('LAN in network namespaces', () => {
  it('peers find each other by mDNS with no configured address, and gossip', async () => {
    let namespaces: string[] = [];
    const peers: Peer[] = [];
    try {
      namespaces = buildLan();
      const topic = `/parley/test/lan/${process.pid}`;
      for (const ns of namespaces.slice(1))
        peers.push(startPeer(ns, `_parley-test-${process.pid}._udp.local`, topic));
      await waitFor(() => peers.every((p) => p.peerId !== undefined), 'the peers to start', 30_000);
      const ids = peers.map((p) => p.peerId!);
      const online = (p: Peer) =>
        new Set(p.lines.filter((l) => l.type === 'online').map((l) => l.peerId));
      await waitFor(
        () => peers.every((p) => ids.every((id) => id === p.peerId || online(p).has(id))),
        'every peer to be connected to every other',
        30_000,
      );
      for (const p of peers) {
        for (const l of p.lines.filter((x) => x.type === 'online')) {
          // Connections run over the namespaces' own subnet.
          for (const addr of l.remoteAddrs as string[]) expect(addr).toContain(`/ip4/${subnet()}.`);
        }
      }
      // Gossip needs the mesh: wait until each peer has grafted the other two.
      const mesh = (p: Peer) => p.lines.filter((l) => l.type === 'mesh').at(-1)?.mesh;
      await waitFor(() => peers.every((p) => mesh(p) === NODES - 1), 'full meshes', 20_000);
      for (const [i, p] of peers.entries()) p.child.stdin.write(`publish hello from ${i}\n`);
      const texts = (p: Peer) => p.lines.filter((l) => l.type === 'message').map((l) => l.text);
      await waitFor(
        () => peers.every((p) => texts(p).length === NODES - 1),
        "every peer to receive the others' messages",
        20_000,
      );
      for (const [i, p] of peers.entries()) {
        expect(texts(p).sort()).toEqual(
          peers
            .map((_, j) => `hello from ${j}`)
            .filter((t) => t !== `hello from ${i}`)
            .sort(),
        );
      }
    } finally {
      for (const p of peers) p.child.stdin.end('exit\n');
      await Promise.all(
        peers.map(
          (p) =>
            new Promise<void>((resolveExit) => {
              if (p.child.exitCode !== null) return resolveExit();
              const kill = setTimeout(() => p.child.kill('SIGKILL'), 5000);
              p.child.on('exit', () => {
                clearTimeout(kill);
                resolveExit();
              });
            }),
        ),
      );
      for (const ns of namespaces.reverse()) {
        try {
          ip('netns', 'del', ns);
        } catch (err) {
          console.error(`could not remove network namespace ${ns}`, err);
        }
      }
    }
  }, 90_000);
});
