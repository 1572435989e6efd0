/**
 * Seeds beyond the suite's 1,000 that once broke an invariant, each run alone: the bug it found
 * (fixed in the delivery core or the sim glue) is named beside it. Replay one with
 * `npm run sim -- --seeds 1 --seed <seed> --verbose` (SIM_TRACE=1 for every merge and refusal).
 */
import { describe, expect, it } from 'vitest';
import { runSeed } from './sim/runner.js';

const SEEDS: readonly (readonly [number, string])[] = [
  [1104, 'a lost branch served from logs kept the winning leader from ordering for good'],
  [1323, 'a member cut off, then removed, never republished what it sent while cut off'],
  [1198, 'every member of the losing branch re-made its add, and a stale KeyPackage won'],
  [1466, 'checker: a removal and the re-add merged in one millisecond (merge order now kept)'],
  [1686, 'a member added on the losing branch led it alone and re-added the winning leader'],
  [1906, "the other branch's first commit cited a proposal the fork point never got"],
  [2152, 'an application message lost by the peer a catch-up asked too'],
  [2317, 'a member that lost the commit removing it was refused every catch-up'],
  [2947, 'a leaver that restarted led on and could not commit its own removal'],
];

describe('simulation: seeds that once failed', () => {
  it.each(SEEDS)(
    'seed %i (%s) keeps every invariant',
    async (seed) => {
      const r = await runSeed(seed);
      expect(r.violations.map((v) => `[${v.invariant}] ${v.detail}`)).toEqual([]);
    },
    60_000,
  );
});
