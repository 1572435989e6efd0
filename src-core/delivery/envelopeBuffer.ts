/**
 * Envelopes a session cannot use yet: those of a later epoch (we are behind; they are replayed
 * in arrival order once we get there), and those that failed at an epoch we are at or passed
 * (perhaps another branch of a fork; replayed after a branch switch). Both are bounded together:
 * past the limit the oldest are dropped, and the sync protocol fills the gap.
 */

interface Held {
  readonly epoch: bigint;
  readonly bytes: Uint8Array;
}

export class EnvelopeBuffer {
  private later: Held[] = [];
  private other: Held[] = [];
  private replaying = false;

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.later.length + this.other.length;
  }

  future(epoch: bigint, bytes: Uint8Array): void {
    this.later.push({ epoch, bytes });
    this.trim();
  }

  otherBranch(epoch: bigint, bytes: Uint8Array): void {
    this.other.push({ epoch, bytes });
    this.trim();
  }

  /**
   * Hands the envelopes held for the epoch we are at to `deliver`, and again for each epoch they
   * move us to. Re-entrant calls (a delivery that merges) return at once: the outer loop goes on.
   */
  replay(epochNow: () => bigint, deliver: (bytes: Uint8Array) => void): void {
    if (this.replaying) return;
    this.replaying = true;
    try {
      for (let epoch = epochNow(), last: bigint | undefined; epoch !== last; epoch = epochNow()) {
        last = epoch;
        for (const bytes of this.takeFuture(epoch)) deliver(bytes);
      }
    } finally {
      this.replaying = false;
    }
  }

  /** The held envelopes of `epoch` (arrival order), and drops those of earlier epochs. */
  takeFuture(epoch: bigint): Uint8Array[] {
    const out = this.later.filter((h) => h.epoch === epoch).map((h) => h.bytes);
    this.later = this.later.filter((h) => h.epoch > epoch);
    return out;
  }

  /** The other-branch envelopes after `epoch`, by epoch then arrival. */
  takeOtherBranch(epoch: bigint): Uint8Array[] {
    const out = this.other.filter((h) => h.epoch > epoch);
    this.other = this.other.filter((h) => h.epoch <= epoch);
    return out
      .map((h, i) => ({ h, i }))
      .sort((a, b) => (a.h.epoch === b.h.epoch ? a.i - b.i : a.h.epoch < b.h.epoch ? -1 : 1))
      .map(({ h }) => h.bytes);
  }

  private trim(): void {
    while (this.size > this.limit) {
      if (this.other.length > 0) this.other.shift();
      else this.later.shift();
    }
  }
}
