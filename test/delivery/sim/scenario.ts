/**
 * A run's script, drawn from its seed: how many members, what the network is like, and a list of
 * actions at virtual times (messages, adds, removals, key updates, leaves, a partition that heals,
 * crashes that restart), followed by a quiet period in which everything must heal. The script is
 * drawn from its own stream, so it does not change when the network or the code under test draws
 * more or fewer numbers.
 */
import type { NetworkConditions } from './network.js';
import { SeededRandom } from './prng.js';

export type Action =
  | { readonly kind: 'send'; readonly by: string; readonly id: string }
  | { readonly kind: 'update'; readonly by: string }
  | { readonly kind: 'add'; readonly by: string; readonly member: string }
  | { readonly kind: 'remove'; readonly by: string; readonly member: string }
  | { readonly kind: 'leave'; readonly by: string }
  | { readonly kind: 'partition'; readonly sides: readonly (readonly string[])[] }
  | { readonly kind: 'heal' }
  | { readonly kind: 'crash'; readonly member: string }
  | { readonly kind: 'restart'; readonly member: string };

export interface TimedAction {
  readonly at: number;
  readonly action: Action;
}

export interface ScenarioOptions {
  readonly minMembers: number;
  readonly maxMembers: number;
  /** Scripted actions besides heals and restarts. */
  readonly minActions: number;
  readonly maxActions: number;
  /** Virtual ms over which the actions are spread. */
  readonly activeMs: number;
  /** Virtual ms of calm after the last action, for leaders, syncs and forks to settle. */
  readonly quietMs: number;
  readonly partitions: boolean;
  readonly crashes: boolean;
}

export const defaultScenarioOptions: ScenarioOptions = {
  minMembers: 5,
  maxMembers: 12,
  minActions: 3,
  maxActions: 8,
  activeMs: 6_000,
  quietMs: 16_000,
  partitions: true,
  crashes: true,
};

export interface Scenario {
  readonly seed: number;
  /** The founding members; `members[0]` creates the group and adds the others before time 0. */
  readonly members: readonly string[];
  /** People who may be added later. */
  readonly candidates: readonly string[];
  readonly network: NetworkConditions;
  readonly actions: readonly TimedAction[];
  /** When the run ends (virtual ms). */
  readonly endAt: number;
}

export function generateScenario(
  seed: number,
  options: ScenarioOptions = defaultScenarioOptions,
): Scenario {
  const r = new SeededRandom(seed).stream('scenario');
  const n = r.int(options.minMembers, options.maxMembers);
  const members = Array.from({ length: n }, (_, i) => `m${i}`);
  const candidates = ['n0', 'n1'];
  const network: NetworkConditions = {
    loss: r.pick([0, 0, 0.01, 0.05, 0.1]),
    duplicate: r.pick([0, 0.02, 0.1]),
    minDelayMs: r.int(1, 10),
    maxDelayMs: r.pick([20, 50, 200, 600]),
    requestTimeoutMs: 3_000,
  };

  // Who the script believes is in the group, so that it asks for changes that make sense; the
  // code under test decides what actually happens (a member may be partitioned or down).
  const roster = new Set(members);
  const adds = [...candidates];
  const actions: TimedAction[] = [];
  let partitioned = false;
  let crashes = 0;
  const down: { member: string; from: number; to: number }[] = [];
  const count = r.int(options.minActions, options.maxActions);
  for (let i = 0; i < count; i++) {
    const at = r.int(0, options.activeMs);
    const inGroup = [...roster];
    const someone = (): string => r.pick(inGroup);
    const roll = r.next();
    if (roll < 0.45) {
      actions.push({ at, action: { kind: 'send', by: someone(), id: `msg${i}` } });
    } else if (roll < 0.55) {
      actions.push({ at, action: { kind: 'update', by: someone() } });
    } else if (roll < 0.65 && adds.length > 0) {
      const member = adds.shift() as string;
      roster.add(member);
      actions.push({ at, action: { kind: 'add', by: someone(), member } });
    } else if (roll < 0.75 && roster.size > 3) {
      const by = someone();
      const member = r.pick(inGroup.filter((m) => m !== by));
      roster.delete(member);
      actions.push({ at, action: { kind: 'remove', by, member } });
    } else if (roll < 0.8 && roster.size > 3) {
      const by = someone();
      roster.delete(by);
      actions.push({ at, action: { kind: 'leave', by } });
    } else if (roll < 0.9 && options.partitions && !partitioned) {
      partitioned = true;
      const everyone = r.shuffle([...members, ...candidates]);
      const cut = r.int(1, everyone.length - 1);
      actions.push({
        at,
        action: { kind: 'partition', sides: [everyone.slice(0, cut), everyone.slice(cut)] },
      });
      actions.push({ at: at + r.int(1_000, 5_000), action: { kind: 'heal' } });
    } else if (options.crashes && crashes < 2) {
      // A member is down at most once at a time: a second crash overlapping the first picks
      // someone else (or becomes a message).
      const downFor = r.int(500, 5_000);
      const free = inGroup.filter(
        (m) => !down.some((d) => d.member === m && d.from <= at + downFor && at <= d.to),
      );
      if (free.length > 0) {
        crashes++;
        const member = r.pick(free);
        down.push({ member, from: at, to: at + downFor });
        actions.push({ at, action: { kind: 'crash', member } });
        actions.push({ at: at + downFor, action: { kind: 'restart', member } });
      } else {
        actions.push({ at, action: { kind: 'send', by: someone(), id: `msg${i}` } });
      }
    } else {
      actions.push({ at, action: { kind: 'send', by: someone(), id: `msg${i}` } });
    }
  }
  // Stable by time; equal times keep the order drawn.
  const ordered = actions.map((a, i) => ({ a, i })).sort((x, y) => x.a.at - y.a.at || x.i - y.i);
  const last = ordered.reduce((t, x) => Math.max(t, x.a.at), 0);
  return {
    seed,
    members,
    candidates,
    network,
    actions: ordered.map((x) => x.a),
    endAt: last + options.quietMs,
  };
}

export function describeScenario(s: Scenario): string {
  const net = s.network;
  const lines = [
    `seed ${s.seed}: ${s.members.length} members, loss ${net.loss}, dup ${net.duplicate}, delay ${net.minDelayMs}-${net.maxDelayMs} ms, ends at ${s.endAt} ms`,
  ];
  for (const { at, action } of s.actions) {
    const { kind, ...rest } = action;
    lines.push(`  t=${at} ${kind} ${JSON.stringify(rest)}`);
  }
  return lines.join('\n');
}
