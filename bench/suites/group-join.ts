// Adding one member to a populated group (a commit with one Add by value, no path, and the
// Welcome with the ratchet tree in its GroupInfo), and the new member joining from that Welcome:
// decrypting it, validating the whole tree (every leaf signature, parent hashes, tree hash,
// RFC 9420 §12.4.3.1) and deriving the epoch. Also the memory of the joined member's group
// state: JS heap plus array buffers, measured with global.gc (node --expose-gc) around the join.
// ts-mls beside Parley up to BENCH_TSMLS_JOIN_MAX (default 1,000: its join takes ~1 min at 5,000,
// shown in group-commit's setup table): its member of the same group adds a
// ts-mls client; and once per size a Parley client joins from a ts-mls Welcome (interop).
import { performance } from 'node:perf_hooks';
import type { ClientState } from 'ts-mls';
import type { CipherSuite } from '../../src-core/crypto/types.js';
import { CredentialType } from '../../src-core/mls/credential.js';
import { WireFormat } from '../../src-core/mls/framing/framedContent.js';
import { encodeMlsMessage } from '../../src-core/mls/framing/mlsMessage.js';
import type { GroupState, KeyPackageBundle } from '../../src-core/mls/group/index.js';
import {
  createCommit,
  createKeyPackage,
  joinFromWelcome,
  joinFromWelcomeAsync,
} from '../../src-core/mls/group/index.js';
import { PROTOCOL_VERSION_MLS10 } from '../../src-core/mls/groupContext.js';
import { ProposalType } from '../../src-core/mls/proposal.js';
import { printTable } from '../harness.js';
import { kib } from '../group/commitRuns.js';
import { parleyGroup, tsMlsGroup } from '../group/fixtures.js';
import type { ParleyGroup, TsMlsGroup } from '../group/fixtures.js';
import {
  cell,
  commandLine,
  equalBytes,
  formatMs,
  mib,
  median,
  repeat,
  sizes,
  tsMlsMax,
} from '../group/timing.js';
import { tsMlsCommit, tsMlsDecode, tsMlsJoin } from '../group/tsmlsGroup.js';
import { tsMlsKeyPackage } from '../tsmls.js';

const SIZES = [2, 100, 1000, 5000, 10_000, 50_000];

const gc = (globalThis as { gc?: () => void }).gc;

/** Heap and array-buffer bytes in use after a full collection. */
function usedBytes(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function newBundle(suite: CipherSuite, name: string): KeyPackageBundle {
  return createKeyPackage({
    suite,
    credential: { credentialType: CredentialType.basic, identity: new TextEncoder().encode(name) },
    signatureKeyPair: suite.generateSignatureKeyPair(),
  });
}

interface JoinSamples {
  readonly add: number[];
  readonly join: number[];
  /** joinFromWelcomeAsync: leaf signatures on worker threads (Parley only). */
  readonly joinAsync: number[];
  /** Bytes retained by the joined state (empty without --expose-gc). */
  readonly heap: number[];
  welcomeBytes: number;
}

async function parley(g: ParleyGroup): Promise<JoinSamples> {
  const out: JoinSamples = { add: [], join: [], joinAsync: [], heap: [], welcomeBytes: 0 };
  const n = g.members;
  await repeat({ budgetMs: 2000, min: n >= 10_000 ? 1 : 3, max: 30 }, (i) => {
    const bundle = newBundle(g.suite, `joiner-${i}`);
    let t0 = performance.now();
    const created = createCommit(g.committer, {
      proposals: [{ proposalType: ProposalType.add, add: { keyPackage: bundle.keyPackage } }],
    });
    if (created.welcome === undefined) throw new Error('no Welcome');
    const welcome = encodeMlsMessage(created.welcome);
    out.add.push(performance.now() - t0);
    out.welcomeBytes = welcome.length;
    created.staged.discard();
    const before = gc === undefined ? 0 : usedBytes();
    t0 = performance.now();
    const state: GroupState = joinFromWelcome({
      welcome,
      keyPackages: [bundle],
      suite: g.suite,
    });
    out.join.push(performance.now() - t0);
    if (state.memberCount !== n + 1) throw new Error(`joined a group of ${state.memberCount}`);
    if (gc !== undefined) out.heap.push(usedBytes() - before);
    state.destroy();
  });
  await repeat({ budgetMs: 2000, min: n >= 10_000 ? 1 : 3, max: 30 }, async (i) => {
    const bundle = newBundle(g.suite, `async-joiner-${i}`);
    const created = createCommit(g.committer, {
      proposals: [{ proposalType: ProposalType.add, add: { keyPackage: bundle.keyPackage } }],
    });
    if (created.welcome === undefined) throw new Error('no Welcome');
    const welcome = encodeMlsMessage(created.welcome);
    created.staged.discard();
    const t0 = performance.now();
    const state = await joinFromWelcomeAsync({ welcome, keyPackages: [bundle], suite: g.suite });
    out.joinAsync.push(performance.now() - t0);
    if (state.memberCount !== n + 1) throw new Error(`joined a group of ${state.memberCount}`);
    state.destroy();
  });
  return out;
}

interface TsMlsJoinSamples extends JoinSamples {
  /** A Parley client joining from a ts-mls Welcome. */
  readonly parleyJoinsTsMlsWelcome: number;
}

/**
 * One ts-mls add and join. In a function of its own so that the joined state is unreachable once
 * it returns (a local of the caller's loop could still hold the previous one during the next
 * measurement).
 */
async function tsMlsAddJoin(
  g: TsMlsGroup,
  name: string,
): Promise<{ add: number; join: number; heap: number | undefined; welcomeBytes: number }> {
  const { cs } = g;
  const kp = await tsMlsKeyPackage(cs, name);
  let t0 = performance.now();
  const c = await tsMlsCommit(cs, g.newcomer, [
    { proposalType: 'add', add: { keyPackage: kp.keyPackage } },
  ]);
  const add = performance.now() - t0;
  if (c.welcomeBytes === undefined) throw new Error('ts-mls gave no Welcome');
  const before = gc === undefined ? 0 : usedBytes();
  t0 = performance.now();
  const state: ClientState = await tsMlsJoin(cs, c.welcomeBytes, kp.keyPackage, kp.privateKeys);
  const join = performance.now() - t0;
  const heap = gc === undefined ? undefined : usedBytes() - before;
  if (state.groupContext.epoch !== c.newState.groupContext.epoch) throw new Error('epoch');
  return { add, join, heap, welcomeBytes: c.welcomeBytes.length };
}

async function tsMls(g: TsMlsGroup): Promise<TsMlsJoinSamples> {
  const { cs } = g;
  const out = {
    add: [] as number[],
    join: [] as number[],
    joinAsync: [] as number[],
    heap: [] as number[],
    welcomeBytes: 0,
  };
  for (let i = 0; i < (g.members <= 100 ? 5 : 1); i++) {
    const r = await tsMlsAddJoin(g, `ts-joiner-${i}`);
    out.add.push(r.add);
    out.join.push(r.join);
    if (r.heap !== undefined) out.heap.push(r.heap);
    out.welcomeBytes = r.welcomeBytes;
  }
  // Interop: ts-mls adds a Parley client, which joins from the ts-mls Welcome.
  const bundle = newBundle(g.suite, 'parley-joiner');
  const m = tsMlsDecode(
    encodeMlsMessage({
      version: PROTOCOL_VERSION_MLS10,
      wireFormat: WireFormat.keyPackage,
      keyPackage: bundle.keyPackage,
    }),
  );
  if (m.wireformat !== 'mls_key_package') throw new Error('not a KeyPackage');
  const c = await tsMlsCommit(cs, g.newcomer, [
    { proposalType: 'add', add: { keyPackage: m.keyPackage } },
  ]);
  if (c.welcomeBytes === undefined) throw new Error('ts-mls gave no Welcome');
  const t0 = performance.now();
  const joined = joinFromWelcome({
    welcome: c.welcomeBytes,
    keyPackages: [bundle],
    suite: g.suite,
  });
  const parleyJoinsTsMlsWelcome = performance.now() - t0;
  if (!equalBytes(joined.epochAuthenticator(), c.newState.keySchedule.epochAuthenticator)) {
    throw new Error('Parley joined a different epoch than ts-mls created');
  }
  joined.destroy();
  return { ...out, parleyJoinsTsMlsWelcome };
}

export default async function groupJoin(): Promise<void> {
  const maxTs = tsMlsMax('BENCH_TSMLS_JOIN_MAX', 1000);
  const rows: string[][] = [
    [
      'members',
      'Parley add',
      'Parley join',
      'Parley join async',
      'Parley state',
      'ts-mls add',
      'ts-mls join',
      'ts-mls state',
      'Welcome (Parley, ts-mls)',
    ],
  ];
  const interop: string[] = [];
  let target: string | undefined;
  for (const n of sizes(SIZES)) {
    const g = parleyGroup('populated', n);
    const p = await parley(g);
    let t: TsMlsJoinSamples | undefined;
    if (n <= maxTs) {
      t = await tsMls(await tsMlsGroup('populated', n));
      interop.push(`${n}: ok, ${formatMs(t.parleyJoinsTsMlsWelcome)}`);
    }
    rows.push([
      String(n),
      cell(p.add),
      cell(p.join),
      cell(p.joinAsync),
      p.heap.length === 0 ? '- (no gc)' : mib(median(p.heap)),
      t === undefined ? `- (above ${maxTs})` : cell(t.add),
      t === undefined ? '-' : cell(t.join),
      t === undefined || t.heap.length === 0 ? '-' : mib(median(t.heap)),
      `${kib(p.welcomeBytes)}, ${t === undefined ? '-' : kib(t.welcomeBytes)}`,
    ]);
    if (n === 50_000) {
      const join = median(p.join);
      const joinAsync = median(p.joinAsync);
      const heap = p.heap.length === 0 ? undefined : median(p.heap);
      target =
        `Targets at 50,000: join ${formatMs(join)} (< 8 s): ${join < 8000 ? 'met' : 'NOT met'}; ` +
        `async join ${formatMs(joinAsync)} (< 8 s): ${joinAsync < 8000 ? 'met' : 'NOT met'}; ` +
        (heap === undefined
          ? 'state memory not measured (run node with --expose-gc).'
          : `state ${mib(heap)} = ${(heap / 1e6).toFixed(0)} MB (< 200 MB): ${heap < 200e6 ? 'met' : 'NOT met'}.`);
    }
  }
  console.log(`${commandLine('group-join')}: median (repetitions); suite 1; add = commit with one`);
  console.log('Add (no path) + Welcome with ratchet_tree, encoded; join = from Welcome bytes with');
  console.log(
    'whole-tree validation (async: joinFromWelcomeAsync, leaf signatures on worker threads);\n' +
      'state = heap + array buffers retained by the joined state.\n',
  );
  printTable(rows);
  if (interop.length > 0) {
    console.log(`\nA Parley client joining from a ts-mls Welcome: ${interop.join('; ')}.`);
  }
  if (target !== undefined) console.log(`\n${target}`);
}
