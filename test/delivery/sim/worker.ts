/**
 * Runs a range of seeds in its own process and prints one JSON line per seed that broke an
 * invariant, then a summary line; simulation.test.ts starts one per core so that 1,000 seeds
 * use both. `node --import tsx test/delivery/sim/worker.ts <first> <count>`
 */
import { classify } from './classify.js';
import type { FailureClass } from './classify.js';
import { runSeed } from './runner.js';

export interface WorkerFailure {
  readonly seed: number;
  readonly class: FailureClass;
  readonly violations: readonly { readonly invariant: string; readonly detail: string }[];
}

export interface WorkerSummary {
  readonly done: number;
  readonly failed: number;
  readonly ms: number;
  readonly events: number;
  readonly merges: number;
  readonly reads: number;
}

const first = Number(process.argv[2]);
const count = Number(process.argv[3]);
if (!Number.isSafeInteger(first) || !Number.isSafeInteger(count) || count < 0) {
  console.error('usage: worker.ts <first seed> <count>');
  process.exit(2);
}
const started = performance.now();
let failed = 0;
let events = 0;
let merges = 0;
let reads = 0;
for (let seed = first; seed < first + count; seed++) {
  const r = await runSeed(seed);
  events += r.stats.events;
  merges += r.stats.merges;
  reads += r.stats.reads;
  if (r.violations.length > 0) {
    failed++;
    const f: WorkerFailure = { seed, class: classify(r), violations: r.violations.slice(0, 5) };
    console.log(JSON.stringify({ failure: f }));
  }
}
const summary: WorkerSummary = {
  done: count,
  failed,
  ms: Math.round(performance.now() - started),
  events,
  merges,
  reads,
};
console.log(JSON.stringify({ summary }));
