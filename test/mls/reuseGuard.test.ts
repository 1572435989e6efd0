import { describe, expect, it } from 'vitest';
import { freshReuseGuard } from '../../src-core/mls/framing/reuseGuard.js';

describe('freshReuseGuard', () => {
  it('gives 4 fresh bytes per call, across refills of its buffer', () => {
    // 1 KiB buffer = 256 guards: 600 calls cross two refills.
    const seen = new Set<string>();
    const guards: Uint8Array[] = [];
    for (let i = 0; i < 600; i++) {
      const g = freshReuseGuard();
      expect(g.length).toBe(4);
      expect(g.byteOffset).toBe(0);
      expect(g.buffer.byteLength).toBe(4);
      guards.push(g);
      seen.add(Buffer.from(g).toString('hex'));
    }
    // 600 draws from 2^32 values collide with probability ~4e-5.
    expect(seen.size).toBeGreaterThanOrEqual(599);
    // Not all zero: the buffer is wiped as guards leave it, so a view would read zeros.
    expect(guards.filter((g) => g.every((b) => b === 0)).length).toBeLessThan(2);
  });
});
