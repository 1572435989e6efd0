/**
 * The simulation's only source of randomness. Every choice in a run (the scenario, each message's
 * fate on the network, the delivery logic's jitter) comes from one seed through independent named
 * streams, so that changing how often one part draws does not shift what another part sees.
 *
 * The generator is pure-rand's xoroshiro128+ (installed with fast-check); we only wrap it.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import type { Random } from '../../../src-core/delivery/ports.js';

/** FNV-1a over a label, so that a stream's seed depends on its name and the run's seed only. */
function labelHash(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class SeededRandom implements Random {
  private readonly generator: RandomGenerator;

  constructor(
    readonly seed: number,
    readonly label = 'root',
  ) {
    this.generator = xoroshiro128plus((seed ^ labelHash(label)) | 0);
  }

  /** An independent stream for one part of the simulation. */
  stream(label: string): SeededRandom {
    return new SeededRandom(this.seed, `${this.label}/${label}`);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return uniformFloat64(this.generator);
  }

  /** Uniform integer in [from, to], both included. */
  int(from: number, to: number): number {
    if (to < from) throw new RangeError(`empty range [${from}, ${to}]`);
    return uniformInt(this.generator, from, to);
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(0, items.length - 1)] as T;
  }

  /** A new array with the items in a random order (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }

  /**
   * A delay in [min, max] ms with a long tail: most draws land near `min`, a few near `max`
   * (the square of a uniform draw), as network delays tend to.
   */
  delay(min: number, max: number): number {
    const u = this.next();
    return Math.round(min + (max - min) * u * u);
  }
}
