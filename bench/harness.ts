// Timing helpers shared by the suites: run an operation until a time budget is spent, report
// the median per-operation time, and print aligned tables.
import { performance } from 'node:perf_hooks';

export interface Measurement {
  /** Median time of one operation, in microseconds. */
  readonly medianUs: number;
  readonly samples: number;
}

/**
 * Runs `op` in batches for about `budgetMs`, after a warm-up, and returns the median of the
 * per-batch means. Batching keeps timer resolution out of sub-microsecond results.
 */
export function measure(op: () => void, budgetMs = 400, batch = 1): Measurement {
  const warmEnd = performance.now() + Math.min(100, budgetMs / 4);
  while (performance.now() < warmEnd) op();
  const times: number[] = [];
  const end = performance.now() + budgetMs;
  while (performance.now() < end || times.length < 5) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) op();
    times.push(((performance.now() - t0) * 1000) / batch);
  }
  times.sort((a, b) => a - b);
  return { medianUs: times[Math.floor(times.length / 2)]!, samples: times.length * batch };
}

export async function measureAsync(op: () => Promise<void>, budgetMs = 400): Promise<Measurement> {
  const times: number[] = [];
  const end = performance.now() + budgetMs;
  while (performance.now() < end || times.length < 5) {
    const t0 = performance.now();
    await op();
    times.push((performance.now() - t0) * 1000);
  }
  times.sort((a, b) => a - b);
  return { medianUs: times[Math.floor(times.length / 2)]!, samples: times.length };
}

export function formatUs(us: number): string {
  if (us >= 1_000_000) return `${(us / 1_000_000).toFixed(2)} s`;
  if (us >= 1000) return `${(us / 1000).toFixed(2)} ms`;
  return `${us.toFixed(2)} µs`;
}

export function printTable(rows: readonly (readonly string[])[]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]) =>
    `| ${r.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
  console.log(line(rows[0]!));
  console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  for (const r of rows.slice(1)) console.log(line(r));
}
