/**
 * A simulated network under the delivery ports: per-message loss, delay, duplication and (through
 * independent delays) reordering; partitions, as a side number per peer, that the scenario heals;
 * crashes that take a peer's ports away and restarts that give it new ones. Every fate is drawn
 * from the run's seed, and every arrival is an event of the scheduler, so a seed replays exactly.
 *
 * Errors a requester sees are the net layer's own (NetError `timeout`, `dial_failed`, `aborted`,
 * RemoteRequestError), so the delivery logic meets here what it meets over libp2p.
 */
import type {
  ChannelMessage,
  ChannelPort,
  DeliveryPorts,
  PeerIdString,
  RequestOptions,
  RequestPort,
} from '../../../src-core/delivery/ports.js';
import { NetError } from '../../../src-core/net/errors.js';
import { RemoteRequestError, RequestRefused } from '../../../src-core/net/reqresp.js';
import type { SeededRandom } from './prng.js';
import type { Scheduler } from './scheduler.js';

export interface NetworkConditions {
  /** Probability that one copy of a channel message, a request or a response is lost. */
  readonly loss: number;
  /** Probability that a channel message arrives twice. */
  readonly duplicate: number;
  /** One-way delay range in ms; draws have a long tail toward `maxDelayMs`. */
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  /** How long a request waits for its response when the caller gives no timeout. */
  readonly requestTimeoutMs: number;
}

export const calmNetwork: NetworkConditions = {
  loss: 0,
  duplicate: 0,
  minDelayMs: 1,
  maxDelayMs: 5,
  requestTimeoutMs: 5_000,
};

/** What crossed the network, for the invariant checkers and for the failure report. */
export type NetworkEvent =
  | {
      readonly kind: 'deliver';
      readonly time: number;
      readonly from: PeerIdString;
      readonly to: PeerIdString;
      readonly channel: string;
      readonly data: Uint8Array;
    }
  | {
      readonly kind: 'response';
      readonly time: number;
      readonly from: PeerIdString;
      readonly to: PeerIdString;
      readonly protocol: string;
      readonly body: Uint8Array;
    };

export interface NetworkStats {
  published: number;
  delivered: number;
  lost: number;
  duplicated: number;
  cutByPartition: number;
  requests: number;
  responses: number;
  requestsFailed: number;
}

type Handler = (body: Uint8Array, from: PeerIdString) => Promise<Uint8Array>;

/** One running incarnation of a peer: what a crash throws away. */
interface Incarnation {
  readonly owner: string;
  readonly subscriptions: Map<string, Set<(m: ChannelMessage) => void>>;
  readonly handlers: Map<string, Handler>;
}

export class SimNetwork {
  private readonly live = new Map<PeerIdString, Incarnation>();
  private readonly restarts = new Map<PeerIdString, number>();
  private readonly side = new Map<PeerIdString, number>();
  private readonly listeners: ((e: NetworkEvent) => void)[] = [];
  readonly stats: NetworkStats = {
    published: 0,
    delivered: 0,
    lost: 0,
    duplicated: 0,
    cutByPartition: 0,
    requests: 0,
    responses: 0,
    requestsFailed: 0,
  };

  constructor(
    private readonly scheduler: Scheduler,
    private readonly random: SeededRandom,
    public conditions: NetworkConditions = calmNetwork,
  ) {}

  /** Called for every message that reached a peer's handler and every response a requester got. */
  onEvent(listener: (e: NetworkEvent) => void): void {
    this.listeners.push(listener);
  }

  isUp(peer: PeerIdString): boolean {
    return this.live.has(peer);
  }

  /** Both up and on the same side of every partition. */
  reachable(a: PeerIdString, b: PeerIdString): boolean {
    return (
      this.live.has(a) && this.live.has(b) && (this.side.get(a) ?? 0) === (this.side.get(b) ?? 0)
    );
  }

  /** Splits the network: peers in different groups cannot reach each other; unlisted peers form group 0. */
  partition(groups: readonly (readonly PeerIdString[])[]): void {
    this.side.clear();
    groups.forEach((g, i) => g.forEach((p) => this.side.set(p, i + 1)));
  }

  heal(): void {
    this.side.clear();
  }

  /**
   * Starts a peer (again): fresh ports, no subscriptions, no handlers. The previous incarnation,
   * if any, must have crashed first.
   */
  start(peer: PeerIdString, random: SeededRandom): DeliveryPorts {
    if (this.live.has(peer)) throw new Error(`${peer} is already up`);
    const n = this.restarts.get(peer) ?? 0;
    this.restarts.set(peer, n + 1);
    const inc: Incarnation = {
      owner: `${peer}#${n}`,
      subscriptions: new Map(),
      handlers: new Map(),
    };
    this.live.set(peer, inc);
    return {
      self: peer,
      clock: this.scheduler.clockFor(inc.owner),
      random,
      channels: this.channelPort(peer, inc),
      requests: this.requestPort(peer, inc),
    };
  }

  /** The peer stops at once: its timers and everything in flight to it are dropped. */
  crash(peer: PeerIdString): void {
    const inc = this.live.get(peer);
    if (inc === undefined) return;
    this.live.delete(peer);
    this.scheduler.cancelOwner(inc.owner);
  }

  private current(peer: PeerIdString, inc: Incarnation): boolean {
    return this.live.get(peer) === inc;
  }

  private emit(e: NetworkEvent): void {
    for (const l of this.listeners) l(e);
  }

  private channelPort(self: PeerIdString, inc: Incarnation): ChannelPort {
    return {
      publish: (channel, data) => {
        if (!this.current(self, inc)) return Promise.resolve();
        this.stats.published++;
        const copy = data.slice();
        for (const [peer, target] of this.live) {
          if (peer === self || !target.subscriptions.has(channel)) continue;
          if (!this.reachable(self, peer)) {
            this.stats.cutByPartition++;
            continue;
          }
          const copies = this.random.chance(this.conditions.duplicate) ? 2 : 1;
          if (copies === 2) this.stats.duplicated++;
          for (let c = 0; c < copies; c++) {
            if (this.random.chance(this.conditions.loss)) {
              this.stats.lost++;
              continue;
            }
            this.scheduler.schedule(this.oneWayDelay(), target.owner, () =>
              this.arrive(self, peer, target, channel, copy),
            );
          }
        }
        return Promise.resolve();
      },
      subscribe: (channel, onMessage) => {
        if (!this.current(self, inc)) return () => undefined;
        let set = inc.subscriptions.get(channel);
        if (set === undefined) {
          set = new Set();
          inc.subscriptions.set(channel, set);
        }
        set.add(onMessage);
        return () => {
          const s = inc.subscriptions.get(channel);
          s?.delete(onMessage);
          if (s !== undefined && s.size === 0) inc.subscriptions.delete(channel);
        };
      },
      subscribers: (channel) => {
        const out: PeerIdString[] = [];
        for (const [peer, target] of this.live) {
          if (peer !== self && target.subscriptions.has(channel) && this.reachable(self, peer)) {
            out.push(peer);
          }
        }
        return out;
      },
    };
  }

  private arrive(
    from: PeerIdString,
    to: PeerIdString,
    target: Incarnation,
    channel: string,
    data: Uint8Array,
  ): void {
    // A partition that began while the message travelled cuts it too.
    if (!this.current(to, target) || !this.reachable(from, to)) {
      this.stats.cutByPartition++;
      return;
    }
    const handlers = target.subscriptions.get(channel);
    if (handlers === undefined) return;
    this.stats.delivered++;
    this.emit({ kind: 'deliver', time: this.scheduler.now(), from, to, channel, data });
    for (const h of [...handlers]) {
      h({ channel, data: data.slice(), receivedFrom: from });
    }
  }

  private requestPort(self: PeerIdString, inc: Incarnation): RequestPort {
    return {
      request: (peer, protocol, body, options?: RequestOptions) =>
        this.request(self, inc, peer, protocol, body.slice(), options),
      handle: (protocol, handler) => {
        if (!this.current(self, inc)) return () => undefined;
        inc.handlers.set(protocol, handler);
        return () => {
          if (inc.handlers.get(protocol) === handler) inc.handlers.delete(protocol);
        };
      },
    };
  }

  private request(
    self: PeerIdString,
    inc: Incarnation,
    peer: PeerIdString,
    protocol: string,
    body: Uint8Array,
    options: RequestOptions | undefined,
  ): Promise<Uint8Array> {
    this.stats.requests++;
    return new Promise<Uint8Array>((resolve, reject) => {
      let settled = false;
      const timers: number[] = [];
      const settle = (f: () => void): void => {
        if (settled) return;
        settled = true;
        for (const t of timers) this.scheduler.cancel(t);
        options?.signal?.removeEventListener('abort', onAbort);
        f();
      };
      const fail = (e: Error): void =>
        settle(() => {
          this.stats.requestsFailed++;
          reject(e);
        });
      const onAbort = (): void => fail(new NetError('aborted', `${protocol} request aborted`));
      if (options?.signal?.aborted === true) return onAbort();
      options?.signal?.addEventListener('abort', onAbort);
      if (!this.current(self, inc)) {
        return fail(new NetError('not_started', 'the requesting peer has crashed'));
      }
      const timeout = options?.timeoutMs ?? this.conditions.requestTimeoutMs;
      timers.push(
        this.scheduler.schedule(timeout, inc.owner, () =>
          fail(new NetError('timeout', `${protocol} request to ${peer} timed out`)),
        ),
      );
      if (!this.reachable(self, peer)) {
        // A dial to a peer that is down or behind a partition fails after a short while.
        timers.push(
          this.scheduler.schedule(this.oneWayDelay() * 2, inc.owner, () =>
            fail(new NetError('dial_failed', `cannot reach ${peer}`)),
          ),
        );
        return;
      }
      if (this.random.chance(this.conditions.loss)) return; // the request is lost: timeout
      const target = this.live.get(peer) as Incarnation;
      this.scheduler.schedule(this.oneWayDelay(), target.owner, () => {
        if (!this.current(peer, target) || !this.reachable(self, peer)) return;
        const handler = target.handlers.get(protocol);
        const answer = (f: () => void): void => {
          if (!this.current(peer, target) || !this.reachable(self, peer)) return;
          if (this.random.chance(this.conditions.loss)) return; // the response is lost
          this.scheduler.schedule(this.oneWayDelay(), inc.owner, f);
        };
        if (handler === undefined) {
          answer(() =>
            fail(new NetError('protocol_unsupported', `${peer} does not serve ${protocol}`)),
          );
          return;
        }
        handler(body, self).then(
          (response) => {
            const copy = response.slice();
            answer(() =>
              settle(() => {
                if (!this.reachable(self, peer)) {
                  this.stats.requestsFailed++;
                  reject(new NetError('stream_reset', `${peer} went away mid-response`));
                  return;
                }
                this.stats.responses++;
                this.emit({
                  kind: 'response',
                  time: this.scheduler.now(),
                  from: peer,
                  to: self,
                  protocol,
                  body: copy,
                });
                resolve(copy.slice());
              }),
            );
          },
          (e: unknown) => {
            const code = e instanceof RequestRefused ? e.refusal : 'internal';
            answer(() => fail(new RemoteRequestError(code, protocol)));
          },
        );
      });
    });
  }

  private oneWayDelay(): number {
    return this.random.delay(this.conditions.minDelayMs, this.conditions.maxDelayMs);
  }
}
