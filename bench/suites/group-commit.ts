// A commit with a path in a populated tree (every parent node set, RFC 9420 §7.9): created by
// the member at leaf n-2, processed by its sibling at leaf n-1. Parley at 2 .. 50,000 members;
// ts-mls beside it up to BENCH_TSMLS_MAX (default 5,000), in the same group: it joined from a
// Parley Welcome, so it holds the same tree. Parley checks ts-mls's commits and ts-mls Parley's,
// and both sides must derive the same epoch authenticator.
import { printTable } from '../harness.js';
import type { CommitSamples, TsMlsCommitSamples } from '../group/commitRuns.js';
import { kib, parleyCommits, setupCell, tsMlsCommits } from '../group/commitRuns.js';
import { parleyGroup, tsMlsGroup } from '../group/fixtures.js';
import type { TsMlsGroup } from '../group/fixtures.js';
import { cell, commandLine, formatMs, median, ratio, sizes, tsMlsMax } from '../group/timing.js';

const SIZES = [2, 100, 1000, 5000, 10_000, 50_000];

/** ts-mls commits to time at each size (each takes seconds from 1,000 members up). */
function tsMlsReps(n: number): number {
  return n <= 100 ? 10 : n <= 1000 ? 3 : 1;
}

export default async function groupCommit(): Promise<void> {
  const maxTs = tsMlsMax('BENCH_TSMLS_MAX', 5000);
  const rows: string[][] = [
    [
      'members',
      'depth',
      'Parley create',
      'Parley process',
      'ts-mls create',
      'ts-mls process',
      'ts-mls / Parley (create, process)',
      'commit size',
    ],
  ];
  const setup: string[][] = [
    ['members', 'Parley: tree / add / join', 'ts-mls: add / join', 'Parley processes ts-mls'],
  ];
  const results = new Map<number, { p: CommitSamples; t: TsMlsCommitSamples | undefined }>();
  for (const n of sizes(SIZES)) {
    const g = parleyGroup('populated', n);
    const p = await parleyCommits(g, { budgetMs: 1500, min: 5, max: 300 });
    let t: TsMlsCommitSamples | undefined;
    let tg: TsMlsGroup | undefined;
    if (n <= maxTs) {
      tg = await tsMlsGroup('populated', n);
      t = await tsMlsCommits(tg, tsMlsReps(n));
    }
    results.set(n, { p, t });
    rows.push([
      String(n),
      String(Math.ceil(Math.log2(n))),
      cell(p.create),
      cell(p.process),
      t === undefined ? `- (above ${maxTs})` : cell(t.create),
      t === undefined ? '-' : cell(t.process),
      t === undefined ? '-' : `${ratio(t.create, p.create)}, ${ratio(t.process, p.process)}`,
      kib(p.bytes),
    ]);
    setup.push([
      String(n),
      setupCell(g.setup),
      tg === undefined ? '-' : `${formatMs(tg.setup.addMs)} / ${formatMs(tg.setup.joinMs)}`,
      t === undefined ? '-' : `ok, ${formatMs(t.parleyProcessesTsMls)}`,
    ]);
  }
  console.log(`${commandLine('group-commit')}: median (repetitions); suite 1; commits as`);
  console.log('PrivateMessage, encoded and decoded as MLSMessage bytes on both sides.\n');
  printTable(rows);
  console.log('\nSetup (each tree is built once per run and shared by the suites):\n');
  printTable(setup);
  const big = results.get(50_000)?.p;
  if (big !== undefined) {
    const c = median(big.create);
    const pr = median(big.process);
    const met = c < 20 && pr < 20 ? 'met' : 'NOT met';
    console.log(
      `\nTarget at 50,000: create ${formatMs(c)}, process ${formatMs(pr)} (< 20 ms each): ${met}.`,
    );
  }
  const k = results.get(1000);
  if (k?.t !== undefined) {
    const rc = median(k.t.create) / median(k.p.create);
    const rp = median(k.t.process) / median(k.p.process);
    const met = rc >= 50 && rp >= 50 ? 'met' : 'NOT met';
    console.log(
      `Target at 1,000: Parley >= 50x faster than ts-mls: create ${rc.toFixed(0)}x, ` +
        `process ${rp.toFixed(0)}x: ${met}.`,
    );
  }
}
