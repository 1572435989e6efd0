// The first commit with a path after a bulk add: every parent node is blank (the members came in
// by Add-only commits, which carry no path), so the committer's copath resolves to every other
// leaf and the UpdatePath holds n-1 HPKE ciphertexts (RFC 9420 §7.6, §12.4.2). Created by the
// member at leaf n-2, processed by its sibling at leaf n-1. ts-mls beside Parley, in the same
// group, up to BENCH_TSMLS_BULK_MAX (default 1,000: it takes seconds per commit there).
import { printTable } from '../harness.js';
import type { CommitSamples, TsMlsCommitSamples } from '../group/commitRuns.js';
import { kib, parleyCommits, setupCell, tsMlsCommits } from '../group/commitRuns.js';
import { parleyGroup, tsMlsGroup } from '../group/fixtures.js';
import type { TsMlsGroup } from '../group/fixtures.js';
import { cell, commandLine, formatMs, ratio, sizes, tsMlsMax } from '../group/timing.js';

const SIZES = [2, 100, 1000, 10_000, 50_000];

export default async function groupBulk(): Promise<void> {
  const maxTs = tsMlsMax('BENCH_TSMLS_BULK_MAX', 1000);
  const rows: string[][] = [
    [
      'members',
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
  for (const n of sizes(SIZES)) {
    const g = parleyGroup('blank', n);
    const p: CommitSamples = await parleyCommits(g, {
      budgetMs: 2000,
      min: n <= 1000 ? 3 : 1,
      max: 200,
    });
    let t: TsMlsCommitSamples | undefined;
    let tg: TsMlsGroup | undefined;
    if (n <= maxTs) {
      tg = await tsMlsGroup('blank', n);
      t = await tsMlsCommits(tg, n <= 100 ? 5 : 1);
    }
    rows.push([
      String(n),
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
  console.log(`${commandLine('group-bulk')}: median (repetitions); suite 1; every parent blank;`);
  console.log('commits as PrivateMessage, encoded and decoded as MLSMessage bytes.\n');
  printTable(rows);
  console.log('\nSetup (each tree is built once per run and shared by the suites):\n');
  printTable(setup);
}
