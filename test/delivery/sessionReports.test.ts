import { describe, expect, it } from 'vitest';
import { SessionEmitter } from '../../src-core/delivery/sessionEvents.js';
import { SessionReports } from '../../src-core/delivery/sessionReports.js';

const QUIET = 4_000; // the election timeout the session passes

describe('SessionReports: may a leader order while it sees traffic of a later epoch', () => {
  it('holds a leader back while a later epoch is seen, and again once it is quiet', () => {
    const r = new SessionReports(new SessionEmitter(), 2_000, () => {});
    expect(r.mayOrder(3n, 0, QUIET)).toBe(true);
    r.behind(3n, 4n, 1_000);
    expect(r.mayOrder(3n, 4_999, QUIET)).toBe(false);
    expect(r.mayOrder(3n, 5_000, QUIET)).toBe(true);
  });

  it('lets it order after twice the quiet period when the later epoch never brings it on', () => {
    // A lost branch's envelopes served again by every catch-up (seed 1104 of the simulation: the
    // winning leader never ordered the re-made removal, and the removed member stayed in).
    const r = new SessionReports(new SessionEmitter(), 2_000, () => {});
    for (let t = 1_000; t <= 9_000; t += 1_000) {
      r.behind(3n, 4n, t);
      expect(r.mayOrder(3n, t, QUIET), `t=${t}`).toBe(t - 1_000 >= 2 * QUIET);
    }
    // A new epoch of ours starts the bound again.
    r.behind(4n, 5n, 9_500);
    expect(r.mayOrder(4n, 9_600, QUIET)).toBe(false);
  });
});
