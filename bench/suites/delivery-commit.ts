// Commit ordering: commit-to-merged latency across 20 members on loopback. 20 libp2p nodes
// (TCP, 127.0.0.1, one process), a GroupSession each with the default timing; a member that is not
// the leader commits an update, the leader orders it (signed ordering record), and every member
// merges it. Measured: from the call to `update()` until the 20th member's `epoch` event (and the
// first's), over 20 commits by rotating committers, after one warm-up commit.
import { performance } from 'node:perf_hooks';
import { cipherSuite } from '../../src-core/crypto/index.js';
import { GroupSession } from '../../src-core/delivery/groupSession.js';
import { Libp2pPorts } from '../../src-core/delivery/libp2pPorts.js';
import type { Group } from '../../src-core/mls/client/index.js';
import { MlsClient } from '../../src-core/mls/client/index.js';
import { CredentialType } from '../../src-core/mls/credential.js';
import {
  MemoryPeerIdentityStore,
  createParleyNode,
  loopbackNetConfig,
} from '../../src-core/net/index.js';
import type { ParleyNode } from '../../src-core/net/index.js';
import { formatUs, printTable } from '../harness.js';

const MEMBERS = 20;
const COMMITS = 20;
const TIMEOUT_MS = 30_000;

/** The group, founded outside the sessions: one commit adding 19, and 19 joins (epoch 1). */
function found(): Group[] {
  const suite = cipherSuite(1);
  const clients = Array.from(
    { length: MEMBERS },
    (_, i) =>
      new MlsClient({
        suite,
        credential: {
          credentialType: CredentialType.basic,
          identity: new TextEncoder().encode(`member ${i}`),
        },
        signatureKeyPair: suite.generateSignatureKeyPair(),
      }),
  );
  const [first, ...rest] = clients;
  const creator = first!.createGroup();
  const kps = rest.map((c) => c.createKeyPackages({ count: 1, lastResort: false }).oneTime[0]!);
  const out = creator.add(kps.map((k) => k.message));
  creator.merge(out.pending);
  return [creator, ...rest.map((c) => c.joinGroup(out.welcome!))];
}

/** Node i dials i+1, i+2 and i+5 (mod 20): a ring with chords, not a star. */
async function mesh(nodes: readonly ParleyNode[]): Promise<void> {
  const n = nodes.length;
  const dials: Promise<string>[] = [];
  for (let i = 0; i < n; i++) {
    for (const step of [1, 2, 5]) {
      dials.push(nodes[i]!.dial(nodes[(i + step) % n]!.addresses()[0]!));
    }
  }
  await Promise.all(dials);
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const end = performance.now() + TIMEOUT_MS;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Sample {
  firstMs: number;
  allMs: number;
  cpuMs: number;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

export default async function (): Promise<void> {
  const groups = found();
  const nodes = await Promise.all(
    groups.map(async () => {
      const node = await createParleyNode({
        identity: new MemoryPeerIdentityStore(),
        config: loopbackNetConfig(),
      });
      await node.start();
      return node;
    }),
  );
  const ports = nodes.map((n) => new Libp2pPorts(n));
  const sessions: GroupSession[] = [];
  try {
    await mesh(nodes);
    const mergedAt: number[][] = groups.map(() => []);
    let leaderChanges = 0;
    groups.forEach((group, i) => {
      const s = new GroupSession({ group, ports: ports[i]! });
      s.on('epoch', () => mergedAt[i]!.push(performance.now()));
      if (i === 0) s.on('leader', () => leaderChanges++);
      sessions.push(s);
    });
    for (const s of sessions) s.start();
    await until(
      () =>
        sessions.every(
          (s) => s.leader === 0 && ports[0]!.channels.subscribers(s.channel).length > 0,
        ),
      'the channel mesh',
    );
    await until(
      () => sessions.every((s, i) => ports[i]!.channels.subscribers(s.channel).length >= 3),
      'every member to see its neighbours on the channel',
    );

    const samples: Sample[] = [];
    const changesBefore = leaderChanges;
    const termBefore = sessions[0]!.term;
    for (let c = 0; c <= COMMITS; c++) {
      const committer = sessions[1 + (c % (MEMBERS - 1))]!;
      const target = committer.epoch + 1n;
      const before = mergedAt.map((t) => t.length);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      committer.update();
      await until(
        () => sessions.every((s) => s.epoch === target),
        `commit ${c} to be merged by all ${MEMBERS}`,
      );
      const cpu = process.cpuUsage(cpu0);
      const times = mergedAt.map((t, i) => t[before[i]!]!);
      if (c === 0) continue; // warm-up
      samples.push({
        firstMs: Math.min(...times) - t0,
        allMs: Math.max(...times) - t0,
        cpuMs: (cpu.user + cpu.system) / 1000,
      });
    }
    const sorted = (f: (s: Sample) => number) => samples.map(f).sort((a, b) => a - b);
    const all = sorted((s) => s.allMs);
    const first = sorted((s) => s.firstMs);
    const cpu = sorted((s) => s.cpuMs);
    console.log(
      `Update commit by a non-leader, ordered by the leader, merged by ${MEMBERS} members (${MEMBERS} libp2p nodes in one process, TCP 127.0.0.1), ${COMMITS} commits:\n`,
    );
    printTable([
      ['measure', 'median', 'p95', 'max'],
      ...(
        [
          ['all 20 merged', all],
          ['first merged', first],
          ['CPU per commit (all 20 nodes)', cpu],
        ] as const
      ).map(([name, xs]) => [
        name,
        formatUs(quantile(xs, 0.5) * 1000),
        formatUs(quantile(xs, 0.95) * 1000),
        formatUs(xs[xs.length - 1]! * 1000),
      ]),
    ]);
    console.log(
      `\nLeader changes seen by member 0 during the run: ${leaderChanges - changesBefore} (term ${termBefore} -> ${sessions[0]!.term}).`,
    );
    const os = await import('node:os');
    console.log(
      `\nAll ${MEMBERS} members process every commit on the same ${os.cpus().length} cores, so "all merged" includes their CPU time one after another (load average ${os.loadavg()[0]!.toFixed(2)}).`,
    );
  } finally {
    for (const s of sessions) s.destroy();
    await Promise.all(ports.map((p) => p.close()));
    await Promise.all(nodes.map((n) => n.stop()));
  }
}
