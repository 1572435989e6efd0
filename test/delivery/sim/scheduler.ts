/**
 * Virtual time: a discrete-event scheduler. Events run in order of (time, sequence number), the
 * sequence number being the order in which they were scheduled, so one seed gives one exact order
 * of everything that happens. No real timer is ever armed; time jumps from event to event.
 *
 * After each event the scheduler waits for the microtask queue to empty (one `setImmediate`, which
 * Node runs only after every pending promise reaction), so that promise chains the event started
 * finish before the next event, as they would between two network packets in a real process.
 * This is deterministic as long as the code under test does no real I/O and arms no real timer.
 */
import type { Clock, TimerHandle } from '../../../src-core/delivery/ports.js';

interface Entry {
  readonly time: number;
  readonly seq: number;
  readonly owner: string;
  readonly run: () => void;
  cancelled: boolean;
}

/** A binary min-heap of entries by (time, seq). */
class EventHeap {
  private readonly items: Entry[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Entry | undefined {
    return this.items[0];
  }

  push(e: Entry): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(a[i] as Entry, a[parent] as Entry)) break;
      [a[i], a[parent]] = [a[parent] as Entry, a[i] as Entry];
      i = parent;
    }
  }

  pop(): Entry | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    a[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && before(a[l] as Entry, a[m] as Entry)) m = l;
      if (r < a.length && before(a[r] as Entry, a[m] as Entry)) m = r;
      if (m === i) break;
      [a[i], a[m]] = [a[m] as Entry, a[i] as Entry];
      i = m;
    }
    return top;
  }
}

function before(x: Entry, y: Entry): boolean {
  return x.time < y.time || (x.time === y.time && x.seq < y.seq);
}

const drainMicrotasks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Raised by `run` when a callback throws: the ports promise handlers that do not throw. */
export class SimulationError extends Error {
  constructor(
    message: string,
    readonly time: number,
    readonly owner: string,
    override readonly cause: unknown,
  ) {
    super(message);
    this.name = 'SimulationError';
  }
}

export class Scheduler {
  private readonly heap = new EventHeap();
  private readonly byId = new Map<number, Entry>();
  private readonly byOwner = new Map<string, Set<number>>();
  private nextSeq = 0;
  private current = 0;
  /** Events run so far, a measure of how much work a run did. */
  executed = 0;
  /** Errors thrown by callbacks, in order; the run goes on so that all of them are seen. */
  readonly errors: SimulationError[] = [];

  constructor(private readonly maxEvents = 5_000_000) {}

  now(): number {
    return this.current;
  }

  /** Runs `run` at `now() + delayMs` (negative and NaN delays count as 0). */
  schedule(delayMs: number, owner: string, run: () => void): number {
    const delay = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
    const seq = this.nextSeq++;
    const entry: Entry = { time: this.current + delay, seq, owner, run, cancelled: false };
    this.heap.push(entry);
    this.byId.set(seq, entry);
    let owned = this.byOwner.get(owner);
    if (owned === undefined) {
      owned = new Set();
      this.byOwner.set(owner, owned);
    }
    owned.add(seq);
    return seq;
  }

  cancel(id: number): void {
    const entry = this.byId.get(id);
    if (entry === undefined) return;
    entry.cancelled = true;
    this.forget(entry);
  }

  /** Cancels everything an owner scheduled (a crashed peer's timers and in-flight work). */
  cancelOwner(owner: string): void {
    const owned = this.byOwner.get(owner);
    if (owned === undefined) return;
    for (const id of owned) {
      const entry = this.byId.get(id);
      if (entry !== undefined) {
        entry.cancelled = true;
        this.byId.delete(id);
      }
    }
    this.byOwner.delete(owner);
  }

  /** A Clock whose timers belong to `owner`. */
  clockFor(owner: string): Clock {
    return {
      now: () => this.current,
      setTimer: (delayMs: number, callback: () => void): TimerHandle => ({
        id: this.schedule(delayMs, owner, callback),
      }),
      clearTimer: (handle: TimerHandle): void => this.cancel(handle.id),
    };
  }

  /** Runs every event due at or before `until`, then leaves the clock at `until`. */
  async runUntil(until: number): Promise<void> {
    await drainMicrotasks();
    for (;;) {
      const top = this.heap.peek();
      if (top === undefined || top.time > until) break;
      this.heap.pop();
      if (top.cancelled) continue;
      this.forget(top);
      this.current = top.time;
      if (++this.executed > this.maxEvents) {
        throw new SimulationError(
          `more than ${this.maxEvents} events: runaway`,
          this.current,
          top.owner,
          undefined,
        );
      }
      try {
        top.run();
      } catch (e) {
        this.errors.push(
          new SimulationError(
            `event of ${top.owner} threw: ${String(e)}`,
            this.current,
            top.owner,
            e,
          ),
        );
      }
      await drainMicrotasks();
    }
    this.current = Math.max(this.current, until);
  }

  private forget(entry: Entry): void {
    this.byId.delete(entry.seq);
    const owned = this.byOwner.get(entry.owner);
    owned?.delete(entry.seq);
    if (owned !== undefined && owned.size === 0) this.byOwner.delete(entry.owner);
  }
}
