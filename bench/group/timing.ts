// Repetition and reporting helpers for the group suites, whose operations take from microseconds
// (a commit in a 2-member group) to many seconds (ts-mls at 5,000 members): each measurement runs
// until a time budget is spent, within a minimum and maximum number of repetitions.
import { performance } from 'node:perf_hooks';
import { formatUs } from '../harness.js';

export interface Reps {
  readonly budgetMs: number;
  readonly min: number;
  readonly max: number;
}

/** Runs `body` (which records its own samples) until the budget or `max` is reached. */
export async function repeat(
  reps: Reps,
  body: (i: number) => void | Promise<void>,
): Promise<number> {
  const end = performance.now() + reps.budgetMs;
  let i = 0;
  while (i < reps.max && (i < reps.min || performance.now() < end)) await body(i++);
  return i;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no samples');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function formatMs(ms: number): string {
  return formatUs(ms * 1000);
}

/** `median (reps)`, or '-' when there are no samples. */
export function cell(samples: readonly number[]): string {
  if (samples.length === 0) return '-';
  return samples.length === 1
    ? `${formatMs(samples[0]!)} (1)`
    : `${formatMs(median(samples))} (${samples.length})`;
}

export function ratio(slow: readonly number[], fast: readonly number[]): string {
  if (slow.length === 0 || fast.length === 0) return '-';
  return `${(median(slow) / median(fast)).toFixed(0)}x`;
}

/** Bytes in MiB (2^20). */
export function mib(bytes: number): string {
  const m = bytes / (1024 * 1024);
  return `${m.toFixed(Math.abs(m) < 10 ? 2 : 1)} MiB`;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The command line to put above a table. */
export function commandLine(suite: string): string {
  return `\`npm run bench -- ${suite}\``;
}

/** Group sizes, overridable for quick runs: BENCH_GROUP_SIZES=2,100,1000. */
export function sizes(defaults: readonly number[]): number[] {
  const env = process.env['BENCH_GROUP_SIZES'];
  if (env === undefined || env.trim() === '') return [...defaults];
  return env.split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isSafeInteger(n) || n < 2 || n % 2 !== 0) {
      throw new Error(`BENCH_GROUP_SIZES: ${s} is not an even size >= 2`);
    }
    return n;
  });
}

/**
 * Largest group size at which a suite runs ts-mls (its cost per operation grows with n), from the
 * environment variable `envName` if set.
 */
export function tsMlsMax(envName: string, defaultMax: number): number {
  const env = process.env[envName];
  if (env === undefined || env.trim() === '') return defaultMax;
  const n = Number(env);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${envName}: ${env} is not a size`);
  return n;
}
