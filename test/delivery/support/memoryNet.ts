/**
 * A tiny synchronous in-memory implementation of the delivery ports for unit tests: a manual
 * clock whose timers run in due order as time is advanced, and channels whose messages are queued
 * and delivered (in publish order, never to the publisher) when the test flushes. Partitions and
 * drop filters let a test cut links or lose chosen messages. The seeded simulation harness
 * (test/delivery/sim) is the bigger, randomized version of this.
 */
import type {
  ChannelMessage,
  ChannelPort,
  Clock,
  PeerIdString,
  TimerHandle,
} from '../../../src-core/delivery/ports.js';

export class ManualClock implements Clock {
  private time = 0;
  private nextId = 1;
  private timers = new Map<number, { due: number; callback: () => void }>();

  now(): number {
    return this.time;
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { due: this.time + Math.max(0, delayMs), callback });
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    this.timers.delete(handle.id);
  }

  /** Runs every timer due up to now + ms, in due order (then creation order). */
  advance(ms: number, between: () => void = () => {}): void {
    const end = this.time + ms;
    for (;;) {
      let next: [number, { due: number; callback: () => void }] | undefined;
      for (const entry of this.timers) {
        if (entry[1].due > end) continue;
        if (next === undefined || entry[1].due < next[1].due) next = entry;
      }
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.time = next[1].due;
      next[1].callback();
      between();
    }
    this.time = end;
  }
}

interface Queued {
  readonly from: PeerIdString;
  readonly to: PeerIdString;
  readonly channel: string;
  readonly data: Uint8Array;
}

export class MemoryNet {
  private readonly subs = new Map<string, Map<PeerIdString, (m: ChannelMessage) => void>>();
  private queue: Queued[] = [];
  private readonly cut = new Set<string>();
  /** Messages for which this returns true are lost. */
  drop: (m: { from: PeerIdString; to: PeerIdString; data: Uint8Array }) => boolean = () => false;
  delivered = 0;

  port(self: PeerIdString): ChannelPort {
    return {
      publish: (channel, data) => {
        for (const to of this.subs.get(channel)?.keys() ?? []) {
          if (to !== self) this.queue.push({ from: self, to, channel, data });
        }
        return Promise.resolve();
      },
      subscribe: (channel, onMessage) => {
        let m = this.subs.get(channel);
        if (m === undefined) this.subs.set(channel, (m = new Map()));
        m.set(self, onMessage);
        return () => {
          this.subs.get(channel)?.delete(self);
        };
      },
      // Like gossip: the peers we can reach, not ourselves.
      subscribers: (channel) =>
        [...(this.subs.get(channel)?.keys() ?? [])].filter(
          (p) => p !== self && !this.cut.has(`${self}|${p}`),
        ),
    };
  }

  /** Cuts every link between the two sides (both ways). */
  partition(a: readonly PeerIdString[], b: readonly PeerIdString[]): void {
    for (const x of a) for (const y of b) this.cut.add(`${x}|${y}`).add(`${y}|${x}`);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Delivers queued messages (and those they cause) until none is left. */
  flush(limit = 100_000): void {
    for (let n = 0; this.queue.length > 0; n++) {
      if (n > limit) throw new Error('message storm: flush did not settle');
      const q = this.queue.shift()!;
      if (this.cut.has(`${q.from}|${q.to}`)) continue;
      if (this.drop(q)) continue;
      const handler = this.subs.get(q.channel)?.get(q.to);
      if (handler === undefined) continue;
      this.delivered++;
      handler({ channel: q.channel, data: q.data, receivedFrom: q.from });
    }
  }
}
