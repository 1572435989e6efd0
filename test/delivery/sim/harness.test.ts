/**
 * The simulation's own parts: the seeded streams, the virtual clock's order, and the network's
 * loss, duplication, partitions and crashes; each test shows the part can fail the way it should.
 */
import { describe, expect, it } from 'vitest';
import type { ChannelMessage } from '../../../src-core/delivery/ports.js';
import type { NetError } from '../../../src-core/net/errors.js';
import { RemoteRequestError, RequestRefused } from '../../../src-core/net/reqresp.js';
import { SimNetwork, calmNetwork } from './network.js';
import { SeededRandom } from './prng.js';
import { Scheduler } from './scheduler.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('SeededRandom', () => {
  it('replays one seed exactly and differs between seeds and streams', () => {
    const draw = (r: SeededRandom): number[] => Array.from({ length: 8 }, () => r.int(0, 1000));
    expect(draw(new SeededRandom(7))).toEqual(draw(new SeededRandom(7)));
    expect(draw(new SeededRandom(7))).not.toEqual(draw(new SeededRandom(8)));
    const root = new SeededRandom(7);
    expect(draw(root.stream('net'))).not.toEqual(draw(root.stream('scenario')));
    expect(draw(root.stream('net'))).toEqual(draw(new SeededRandom(7).stream('net')));
  });

  it('stays in range and covers it', () => {
    const r = new SeededRandom(1);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const v = r.int(3, 9);
      expect(v).toBeGreaterThanOrEqual(3);
      expect(v).toBeLessThanOrEqual(9);
      seen.add(v);
      const f = r.next();
      expect(f).toBeGreaterThanOrEqual(0);
      expect(f).toBeLessThan(1);
    }
    expect(seen.size).toBe(7);
    expect(r.shuffle([1, 2, 3, 4, 5]).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(() => r.int(2, 1)).toThrow(RangeError);
    expect(() => r.pick([])).toThrow(RangeError);
  });
});

describe('Scheduler', () => {
  it('runs events by time, then by the order they were scheduled, and lets promises settle between', async () => {
    const s = new Scheduler();
    const log: string[] = [];
    s.schedule(10, 'a', () => log.push('a10'));
    s.schedule(5, 'b', () => {
      log.push('b5');
      void Promise.resolve().then(() => log.push('b5-then'));
    });
    s.schedule(10, 'b', () => log.push('b10'));
    const cancelled = s.schedule(7, 'a', () => log.push('never'));
    s.cancel(cancelled);
    const clock = s.clockFor('c');
    clock.setTimer(5, () => {
      log.push(`c5@${clock.now()}`);
      clock.setTimer(0, () => log.push('c5+0'));
    });
    await s.runUntil(100);
    expect(log).toEqual(['b5', 'b5-then', 'c5@5', 'c5+0', 'a10', 'b10']);
    expect(s.now()).toBe(100);
  });

  it('drops an owner’s events and reports callbacks that throw', async () => {
    const s = new Scheduler();
    const log: string[] = [];
    s.schedule(1, 'x', () => log.push('x'));
    s.schedule(2, 'y', () => {
      throw new Error('boom');
    });
    s.schedule(3, 'y', () => log.push('y3'));
    s.cancelOwner('x');
    await s.runUntil(10);
    expect(log).toEqual(['y3']);
    expect(s.errors.map((e) => e.owner)).toEqual(['y']);
  });

  it('stops a runaway run', async () => {
    const s = new Scheduler(50);
    const loop = (): void => void s.schedule(1, 'l', loop);
    loop();
    await expect(s.runUntil(1000)).rejects.toThrow(/runaway/);
  });
});

/**
 * Runs virtual time until the promise settles; the outcome is caught at once so that a rejection
 * is never left unhandled while time runs.
 */
async function settle<T>(scheduler: Scheduler, p: Promise<T>): Promise<T> {
  const outcome = p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  await scheduler.runUntil(scheduler.now() + 60_000);
  const o = await outcome;
  if (o.ok) return o.value;
  throw o.error;
}

function setup(conditions = calmNetwork, seed = 1) {
  const scheduler = new Scheduler();
  const random = new SeededRandom(seed);
  const net = new SimNetwork(scheduler, random.stream('net'), conditions);
  return { scheduler, random, net };
}

describe('SimNetwork', () => {
  it('delivers channel messages to subscribers other than the author, from the forwarder', async () => {
    const { scheduler, random, net } = setup();
    const a = net.start('A', random.stream('A'));
    const b = net.start('B', random.stream('B'));
    const c = net.start('C', random.stream('C'));
    const got: string[] = [];
    const on = (who: string) => (m: ChannelMessage) =>
      got.push(`${who}:${str(m.data)}:${m.receivedFrom}`);
    a.channels.subscribe('g', on('A'));
    b.channels.subscribe('g', on('B'));
    c.channels.subscribe('other', on('C'));
    expect(a.channels.subscribers('g')).toEqual(['B']);
    await a.channels.publish('g', bytes('hi'));
    await scheduler.runUntil(1000);
    expect(got).toEqual(['B:hi:A']);
  });

  it('loses, duplicates and reorders as the seed says, the same way every time', async () => {
    const run = async (seed: number) => {
      const { scheduler, random, net } = setup(
        { ...calmNetwork, loss: 0.2, duplicate: 0.2, maxDelayMs: 200 },
        seed,
      );
      const a = net.start('A', random.stream('A'));
      const b = net.start('B', random.stream('B'));
      const got: number[] = [];
      b.channels.subscribe('g', (m) => got.push(m.data[0] as number));
      for (let i = 0; i < 100; i++) await a.channels.publish('g', Uint8Array.of(i));
      await scheduler.runUntil(10_000);
      return { got, stats: { ...net.stats } };
    };
    const first = await run(3);
    expect(await run(3)).toEqual(first);
    expect(first.stats.lost).toBeGreaterThan(0);
    expect(first.stats.duplicated).toBeGreaterThan(0);
    const sorted = [...first.got].sort((x, y) => x - y);
    expect(first.got).not.toEqual(sorted); // reordered
    expect(new Set(first.got).size).toBeLessThan(100); // some lost for good
    expect(first.got.length).toBeGreaterThan(new Set(first.got).size); // some twice
    expect((await run(4)).got).not.toEqual(first.got);
  });

  it('cuts partitions, including messages in flight, and heals', async () => {
    const { scheduler, random, net } = setup({ ...calmNetwork, minDelayMs: 10, maxDelayMs: 10 });
    const a = net.start('A', random.stream('A'));
    const b = net.start('B', random.stream('B'));
    const got: string[] = [];
    b.channels.subscribe('g', (m) => got.push(str(m.data)));
    await a.channels.publish('g', bytes('in-flight'));
    scheduler.schedule(5, 'test', () => net.partition([['A'], ['B']]));
    await scheduler.runUntil(20);
    await a.channels.publish('g', bytes('cut'));
    expect(a.channels.subscribers('g')).toEqual([]);
    await expect(
      settle(scheduler, b.requests.request('A', 'sync', bytes('?'))),
    ).rejects.toMatchObject({
      code: 'dial_failed',
    });
    net.heal();
    await a.channels.publish('g', bytes('healed'));
    await scheduler.runUntil(scheduler.now() + 100);
    expect(got).toEqual(['healed']);
  });

  it('answers requests, passes refusals, times out on loss, and forgets a crashed peer', async () => {
    const { scheduler, random, net } = setup();
    const a = net.start('A', random.stream('A'));
    const b = net.start('B', random.stream('B'));
    b.requests.handle('sync', async (body, from) => bytes(`${from}:${str(body)}`));
    b.requests.handle('mailbox', () => Promise.reject(new RequestRefused('not_found')));
    const done = <T>(p: Promise<T>): Promise<T> => settle(scheduler, p);
    expect(str(await done(a.requests.request('B', 'sync', bytes('x'))))).toBe('A:x');
    const refused = await done(a.requests.request('B', 'mailbox', bytes('x'))).catch((e) => e);
    expect(refused).toBeInstanceOf(RemoteRequestError);
    expect((refused as RemoteRequestError).remoteCode).toBe('not_found');
    const unknown = await done(a.requests.request('B', 'nope', bytes('x'))).catch((e) => e);
    expect((unknown as NetError).code).toBe('protocol_unsupported');

    net.conditions = { ...calmNetwork, loss: 1 };
    const lost = await done(a.requests.request('B', 'sync', bytes('x'), { timeoutMs: 300 })).catch(
      (e) => e,
    );
    expect((lost as NetError).code).toBe('timeout');
    net.conditions = calmNetwork;

    let fired = false;
    b.clock.setTimer(10, () => (fired = true));
    net.crash('B');
    await scheduler.runUntil(scheduler.now() + 100);
    expect(fired).toBe(false);
    const down = await done(a.requests.request('B', 'sync', bytes('x'))).catch((e) => e);
    expect((down as NetError).code).toBe('dial_failed');
    const b2 = net.start('B', random.stream('B2'));
    expect(
      str(await done(b2.requests.request('A', 'sync', bytes('x'))).catch(() => bytes('refused'))),
    ).toBe('refused'); // A serves nothing
    b2.requests.handle('sync', async () => bytes('fresh'));
    expect(str(await done(a.requests.request('B', 'sync', bytes('x'))))).toBe('fresh');
    // The old incarnation's ports are dead.
    b.requests.handle('sync', async () => bytes('stale'));
    expect(str(await done(a.requests.request('B', 'sync', bytes('x'))))).toBe('fresh');
  });
});
