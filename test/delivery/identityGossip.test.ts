import { describe, expect, it } from 'vitest';
import { cipherSuite } from '../../src-core/crypto/index.js';
import { hexOf } from '../../src-core/delivery/ciphertextLog.js';
import { IdentityGossip, LAN_DIRECTORY_CHANNEL } from '../../src-core/delivery/identityGossip.js';
import type { IdentityVerdict } from '../../src-core/delivery/identityGossip.js';
import type {
  ChannelMessage,
  ChannelPort,
  Clock,
  TimerHandle,
} from '../../src-core/delivery/ports.js';
import { MemoryRequestNet } from './storeForwardFixture.js';

const suite = cipherSuite(1);
const alice = suite.generateSignatureKeyPair();
const LABEL = 'test identity record';

/** A record as the identity layer might make one: a 64-byte signature, then the content. */
function record(text: string, key = alice.privateKey): Uint8Array {
  const content = new TextEncoder().encode(text);
  const sig = suite.signWithLabel(key, LABEL, content);
  const out = new Uint8Array(sig.length + content.length);
  out.set(sig);
  out.set(content, sig.length);
  return out;
}

/** Accepts records alice signed, rejects anything else that claims to be hers. */
function validator(calls: string[]) {
  return (r: Uint8Array): IdentityVerdict => {
    calls.push(hexOf(r).slice(0, 8));
    if (r.length < 65) return 'reject';
    return suite.verifyWithLabel(alice.publicKey, LABEL, r.subarray(64), r.subarray(0, 64))
      ? 'accept'
      : 'reject';
  };
}

class Bus {
  readonly subs = new Map<string, Set<(m: ChannelMessage) => void>>();
  port(self: string): ChannelPort {
    return {
      publish: async (channel, data) => {
        await Promise.resolve();
        for (const h of this.subs.get(`${channel}`) ?? [])
          h({ channel, data: data.slice(), receivedFrom: self });
      },
      subscribe: (channel, on) => {
        const set = this.subs.get(channel) ?? new Set();
        this.subs.set(channel, set);
        const h = (m: ChannelMessage) => {
          if (m.receivedFrom !== self) on(m);
        };
        set.add(h);
        return () => set.delete(h);
      },
      subscribers: (channel) => [...(this.subs.get(channel) ?? [])].map(() => 'peer'),
    };
  }
}

class ManualClock implements Clock {
  t = 0;
  timers = new Map<number, { at: number; cb: () => void }>();
  next = 1;
  now() {
    return this.t;
  }
  setTimer(d: number, cb: () => void): TimerHandle {
    const id = this.next++;
    this.timers.set(id, { at: this.t + d, cb });
    return { id };
  }
  clearTimer(h: TimerHandle) {
    this.timers.delete(h.id);
  }
  advance(ms: number) {
    this.t += ms;
    for (const [id, x] of [...this.timers]) {
      if (x.at <= this.t) {
        this.timers.delete(id);
        x.cb();
      }
    }
  }
}

function node(net: MemoryRequestNet, bus: Bus, clock: ManualClock, self: string) {
  const calls: string[] = [];
  const got: [string, string][] = [];
  const g = new IdentityGossip({
    channels: bus.port(self),
    requests: net.port(self),
    clock,
    random: { next: () => 0.5 },
    validate: validator(calls),
    onRecord: (r, from) => got.push([new TextDecoder().decode(r.subarray(64)), from]),
    lanIntervalMs: 1000,
  });
  return { g, calls, got };
}

const settle = () => new Promise((r) => setTimeout(r, 10));

describe('identity gossip', () => {
  it('push and pull between contacts, each record validated once', async () => {
    const net = new MemoryRequestNet();
    const bus = new Bus();
    const clock = new ManualClock();
    const a = node(net, bus, clock, 'a');
    const b = node(net, bus, clock, 'b');
    a.g.setOwnRecords([record('alice v1')]);
    expect(await a.g.pushTo('b')).toBe(1);
    expect(await a.g.pushTo('b')).toBe(1);
    expect(b.got).toEqual([['alice v1', 'a']]);
    expect(b.calls).toHaveLength(1);
    const c = node(net, bus, clock, 'c');
    expect((await c.g.pullFrom('a')).length).toBe(1);
    expect(c.got).toEqual([['alice v1', 'a']]);
    // A forged record is refused by the validator and reported as not accepted.
    const mallory = suite.generateSignatureKeyPair();
    expect(await a.g.pushTo('b', [record('alice v2', mallory.privateKey)])).toBe(0);
    expect(b.got).toHaveLength(1);
  });

  it('a record arriving twice at once is validated and reported once', async () => {
    const net = new MemoryRequestNet();
    const bus = new Bus();
    const clock = new ManualClock();
    const a = node(net, bus, clock, 'a');
    const c = node(net, bus, clock, 'c');
    const b = node(net, bus, clock, 'b');
    const r = record('alice v3');
    const counts = await Promise.all([a.g.pushTo('b', [r]), c.g.pushTo('b', [r])]);
    expect(counts).toEqual([1, 1]);
    expect(b.calls).toHaveLength(1);
    expect(b.got).toHaveLength(1);
  });

  it('refuses oversized and garbage bundles with a typed error', async () => {
    const net = new MemoryRequestNet();
    const bus = new Bus();
    const clock = new ManualClock();
    const a = node(net, bus, clock, 'a');
    node(net, bus, clock, 'b');
    expect(() => a.g.setOwnRecords([new Uint8Array(70 * 1024)])).toThrow(/identity_record_invalid/);
    await expect(
      a.g.pushTo(
        'b',
        Array.from({ length: 33 }, () => record('x')),
      ),
    ).rejects.toMatchObject({
      code: 'identity_record_invalid',
    });
    await expect(
      net.port('z').request('b', 'identity', new Uint8Array([1, 1, 5])),
    ).rejects.toMatchObject({
      code: 'peer_refused',
    });
  });

  it('announces on the LAN channel periodically; a neighbour sending forgeries is ignored after three', async () => {
    const net = new MemoryRequestNet();
    const bus = new Bus();
    const clock = new ManualClock();
    const a = node(net, bus, clock, 'a');
    const b = node(net, bus, clock, 'b');
    b.g.startLan();
    a.g.setOwnRecords([record('alice on the lan')]);
    a.g.startLan();
    await settle();
    expect(b.got).toEqual([['alice on the lan', 'a']]);
    expect(bus.subs.get(LAN_DIRECTORY_CHANNEL)?.size).toBe(2);
    clock.advance(1000);
    await settle();
    expect(b.calls).toHaveLength(1); // re-announced, already validated
    const m = bus.port('m');
    const forger = suite.generateSignatureKeyPair();
    for (let i = 0; i < 5; i++) {
      const bad = record(`forged ${i}`, forger.privateKey);
      const bundle = new Uint8Array([
        1,
        0x40 | ((bad.length + 2) >> 8),
        (bad.length + 2) & 0xff,
        0x40 | (bad.length >> 8),
        bad.length & 0xff,
        ...bad,
      ]);
      await m.publish(LAN_DIRECTORY_CHANNEL, bundle);
      await settle();
    }
    expect(b.calls.length).toBe(1 + 3);
    a.g.stopLan();
    expect(clock.timers.size).toBe(1); // only b's timer remains
    b.g.close();
    expect(clock.timers.size).toBe(0);
  });
});
