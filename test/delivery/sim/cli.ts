/**
 * `npm run sim -- --seeds N [--seed S] [--members 5-12] [--verbose]`: runs seeds S, S+1, … S+N-1
 * (S defaults to 0) and prints each failing seed with its violations, its scenario and the command
 * that replays it alone. Exits 1 if any seed failed.
 */
import { Command } from 'commander';
import { classify } from './classify.js';
import { describeScenario } from './scenario.js';
import { defaultScenarioOptions } from './scenario.js';
import { runSeed } from './runner.js';

const program = new Command()
  .name('sim')
  .option('--seeds <n>', 'how many seeds', '100')
  .option('--seed <s>', 'first seed', '0')
  .option('--members <range>', 'founding members, min-max', '5-12')
  .option('--verbose', 'print every seed, not only failures', false)
  .option('--list', 'end with the failing seeds as entries for knownFailures.ts', false)
  .parse(process.argv);

const o = program.opts<{
  seeds: string;
  seed: string;
  members: string;
  verbose: boolean;
  list: boolean;
}>();
const count = Number(o.seeds);
const first = Number(o.seed);
const [min, max] = o.members.split('-').map(Number);
if (
  !Number.isSafeInteger(count) ||
  count < 1 ||
  !Number.isSafeInteger(first) ||
  min === undefined ||
  max === undefined ||
  !(min >= 2 && max >= min)
) {
  console.error('usage: npm run sim -- --seeds N [--seed S] [--members MIN-MAX]');
  process.exit(2);
}

const scenario = { ...defaultScenarioOptions, minMembers: min, maxMembers: max };
const started = performance.now();
let failed = 0;
const listed: string[] = [];
for (let seed = first; seed < first + count; seed++) {
  const t0 = performance.now();
  const r = await runSeed(seed, { scenario });
  const ms = Math.round(performance.now() - t0);
  if (r.violations.length > 0) {
    failed++;
    const why = classify(r);
    listed.push(`  [${seed}, '${why}'],`);
    console.log(
      `FAIL seed ${seed} (${ms} ms): ${r.violations.length} violation(s), looks like ${why}`,
    );
    for (const v of r.violations.slice(0, 20)) console.log(`  [${v.invariant}] ${v.detail}`);
    console.log(describeScenario(r.scenario));
    for (const s of r.trace.skippedActions) console.log(`  refused: ${s}`);
    if (o.verbose) for (const n of r.trace.notes) console.log(`  note: ${n}`);
    console.log(`  replay: npm run sim -- --seeds 1 --seed ${seed} --members ${o.members}`);
  } else if (o.verbose) {
    const s = r.stats;
    console.log(
      `ok seed ${seed} (${ms} ms): ${s.members} members, epoch ${s.finalEpoch}, ${s.merges} merges, ${s.sent} sent, ${s.reads} reads, ${s.events} events`,
    );
  }
}
if (o.list) console.log(listed.join('\n'));
const total = ((performance.now() - started) / 1000).toFixed(1);
console.log(`${count - failed} passed, ${failed} failed (${count} seeds in ${total} s)`);
process.exit(failed > 0 ? 1 : 0);
