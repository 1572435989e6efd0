/**
 * One seed, one run: the scenario drawn from the seed plays on real GroupSessions (real MLS) over
 * the simulated network and clock; what happens is written to a Trace and the invariants are
 * checked at the end. The group is founded out of band before time 0 (the first member adds the
 * others with one commit and hands each the Welcome), so every run starts at epoch 1 with all
 * founding members in.
 *
 * Welcomes for members added during the run go through a mailbox: held while the invitee is down,
 * handed over 50 ms after the commit was merged otherwise. An invitee takes a Welcome only if it
 * holds no active group, or the Welcome is for a later epoch, or its session said it needs a
 * rejoin (after a fork, the re-made add's Welcome replaces the losing branch's).
 */
import { cipherSuite } from '../../../src-core/crypto/index.js';
import type { GroupSessionTiming } from '../../../src-core/delivery/groupSession.js';
import { founding } from './founding.js';
import type { Violation } from './invariants.js';
import { checkAll } from './invariants.js';
import type { MemberObserver } from './member.js';
import { Member } from './member.js';
import type { NetworkStats } from './network.js';
import { SimNetwork } from './network.js';
import { SeededRandom } from './prng.js';
import type { Action, Scenario, ScenarioOptions } from './scenario.js';
import { defaultScenarioOptions, generateScenario } from './scenario.js';
import { Scheduler } from './scheduler.js';
import type { Trace } from './trace.js';
import { emptyTrace } from './trace.js';

export interface RunOptions {
  readonly scenario: ScenarioOptions;
  readonly timing: Partial<GroupSessionTiming>;
  readonly syncEveryMs: number;
  readonly syncBackEpochs: number;
  /** Virtual ms after the last scripted action before the run may end early (all invariants hold). */
  readonly settleMs: number;
  /** Envelopes a member never gets (a planted fault for the self-tests). */
  readonly dropInbound?: (member: string, kind: number) => boolean;
  /** Members that merge commits without their ordering records (self-tests only). */
  readonly mergeWithoutRecord?: readonly string[];
}

export const defaultRunOptions: RunOptions = {
  scenario: defaultScenarioOptions,
  timing: {},
  syncEveryMs: 4_000,
  syncBackEpochs: 3,
  settleMs: 5_000,
};

export interface RunStats {
  readonly members: number;
  readonly events: number;
  readonly finalEpoch: bigint | undefined;
  readonly merges: number;
  readonly sent: number;
  readonly reads: number;
  readonly skippedActions: number;
  readonly notDelivered: number;
  /** Messages exempt from the delivery check because their sender crashed after sending them. */
  readonly exemptByCrash: number;
  readonly network: NetworkStats;
}

export interface RunResult {
  readonly seed: number;
  readonly scenario: Scenario;
  readonly trace: Trace;
  readonly violations: Violation[];
  readonly stats: RunStats;
}

export async function runSeed(seed: number, options: Partial<RunOptions> = {}): Promise<RunResult> {
  const opts: RunOptions = { ...defaultRunOptions, ...options };
  const scenario = generateScenario(seed, opts.scenario);
  const trace = emptyTrace(seed);
  const scheduler = new Scheduler();
  const root = new SeededRandom(seed);
  const net = new SimNetwork(scheduler, root.stream('network'), scenario.network);
  const members = new Map<string, Member>();
  const mailbox = new Map<string, Uint8Array[]>();
  const sentBy = new Map<string, string[]>();
  let skipped = 0;

  const removedOnce = new Set<string>();
  let membershipOrder = 0;
  const observer: MemberObserver = {
    merged(m, commitHash, fromEpoch, after) {
      trace.merges.push({ time: scheduler.now(), member: m.name, commitHash, fromEpoch, after });
    },
    orderingSeen(m, epoch, commitHash) {
      trace.orderingSeen.push({ time: scheduler.now(), member: m.name, epoch, commitHash });
    },
    read(m, data, view) {
      trace.reads.push({
        time: scheduler.now(),
        reader: m.name,
        incarnation: m.incarnation,
        id: new TextDecoder().decode(data),
        view,
      });
    },
    rejoined(m) {
      trace.rejoins.push({ member: m.name, time: scheduler.now() });
    },
    notDelivered(m, id) {
      trace.notDelivered.push({ time: scheduler.now(), sender: m.name, id });
    },
    membership(m, removed, added, after) {
      for (const name of removed) {
        if (removedOnce.has(name)) continue;
        removedOnce.add(name);
        const order = membershipOrder++;
        trace.removals.push({
          time: scheduler.now(),
          order,
          member: name,
          mergedBy: m.name,
          after,
        });
      }
      for (const name of added) {
        if (!removedOnce.delete(name)) continue;
        trace.readds.push({ member: name, time: scheduler.now(), order: membershipOrder++ });
      }
    },
    welcome(_m, welcome, added) {
      for (const name of added) {
        scheduler.schedule(50, 'mailbox', () => {
          const box = mailbox.get(name) ?? [];
          box.push(welcome);
          mailbox.set(name, box);
          openMailbox(name);
        });
      }
    },
    note(m, text) {
      trace.notes.push(`t=${scheduler.now()} ${m.name} ${text}`);
    },
    error(m, what, error) {
      trace.handlerErrors.push(`t=${scheduler.now()} ${m.name} ${what}: ${String(error)}`);
    },
  };

  function openMailbox(name: string): void {
    const m = members.get(name);
    const box = mailbox.get(name);
    if (m === undefined || box === undefined || !net.isUp(name) || m.incarnation < 0) return;
    mailbox.delete(name);
    for (const welcome of box) {
      const current = m.view();
      let group;
      try {
        group = m.client.joinGroup(welcome);
      } catch {
        continue; // a Welcome for a KeyPackage already used (the other branch's): not ours
      }
      if (current !== undefined && !m.needsRejoin && group.epoch <= current.epoch) {
        // Kept unstarted: if our branch turns out abandoned (see GroupSession.abandoned), this
        // re-add is the way back.
        m.park(group);
        continue;
      }
      m.join(group);
    }
  }

  const everyone = [...scenario.members, ...scenario.candidates];
  const directory = (name: string) => members.get(name)?.takeKeyPackage()?.message;
  const suite = cipherSuite(1);
  const founded = founding(suite, scenario.members);
  for (const name of everyone) {
    const client = founded.clients.get(name);
    const records = founded.records.get(name);
    members.set(
      name,
      new Member(
        name,
        observer,
        {
          timing: opts.timing,
          syncEveryMs: opts.syncEveryMs,
          syncTimeoutMs: 2_000,
          syncBackEpochs: opts.syncBackEpochs,
          directory,
          ...(opts.dropInbound === undefined ? {} : { dropInbound: opts.dropInbound }),
          mergeWithoutRecord: opts.mergeWithoutRecord?.includes(name) === true,
        },
        suite,
        client === undefined || records === undefined ? undefined : { client, records },
      ),
    );
  }
  const member = (name: string): Member => members.get(name) as Member;
  // Founders resume their epoch-1 state as they come up.
  for (const name of everyone) {
    await member(name).up(net.start(name, root.stream(`peer/${name}`)));
  }

  const play = (action: Action): void => {
    const time = scheduler.now();
    switch (action.kind) {
      case 'send': {
        const m = member(action.by);
        const view = m.view();
        let accepted: boolean;
        try {
          accepted = view !== undefined && m.send(action.id);
        } catch (e) {
          // The sender is told at once (the call failed), which the delivery invariant allows;
          // listed so the report shows what the session refused.
          accepted = false;
          trace.skippedActions.push(`t=${time} send by ${action.by}: ${String(e)}`);
        }
        if (!accepted) {
          skipped++;
          return;
        }
        trace.sent.push({ id: action.id, time, sender: action.by, senderView: view });
        sentBy.set(action.by, [...(sentBy.get(action.by) ?? []), action.id]);
        return;
      }
      case 'partition':
        return net.partition(action.sides);
      case 'heal':
        return net.heal();
      case 'crash': {
        net.crash(action.member);
        member(action.member).crash();
        for (const id of sentBy.get(action.member) ?? []) trace.lostInCrash.add(id);
        sentBy.delete(action.member);
        return;
      }
      case 'restart': {
        const m = member(action.member);
        void m
          .up(net.start(action.member, root.stream(`peer/${action.member}/${time}`)))
          .then(() => openMailbox(action.member));
        return;
      }
      default:
        break;
    }
    const by = member(action.by);
    const s = by.session;
    if (s === undefined || !s.isRunning) {
      skipped++;
      return;
    }
    try {
      if (action.kind === 'update') s.update();
      else if (action.kind === 'leave') s.leave();
      else if (action.kind === 'add') {
        const kp = member(action.member).takeKeyPackage();
        if (kp === undefined) skipped++;
        else s.add([kp.message]);
      } else {
        const target = s.group.members().find((x) => {
          const c = x.credential;
          return 'identity' in c && new TextDecoder().decode(c.identity) === action.member;
        });
        if (target === undefined) skipped++;
        else s.remove([target.leafIndex]);
      }
    } catch (e) {
      skipped++;
      trace.skippedActions.push(`t=${time} ${action.kind} by ${action.by}: ${String(e)}`);
    }
  };
  for (const { at, action } of scenario.actions) {
    scheduler.schedule(at, 'script', () => play(action));
  }
  const lastAction = scenario.actions.reduce((t, a) => Math.max(t, a.at), 0);
  const finish = (): Violation[] => {
    trace.finals.length = 0;
    for (const name of everyone) {
      trace.finals.push({ name, up: net.isUp(name), view: member(name).view() });
    }
    return checkAll({
      ...trace,
      handlerErrors: [...trace.handlerErrors, ...scheduler.errors.map((e) => e.message)],
    });
  };
  // After the script and a settling time, the run ends at the first whole second at which every
  // invariant holds, or at the end of the quiet period (and is then judged as it stands).
  await scheduler.runUntil(Math.min(scenario.endAt, lastAction + opts.settleMs));
  let violations = finish();
  while (violations.length > 0 && scheduler.now() < scenario.endAt) {
    await scheduler.runUntil(Math.min(scenario.endAt, scheduler.now() + 1_000));
    violations = finish();
  }
  for (const e of scheduler.errors) trace.handlerErrors.push(e.message);
  const final = trace.finals.find((f) => f.up && f.view !== undefined)?.view;
  return {
    seed,
    scenario,
    trace,
    violations,
    stats: {
      members: scenario.members.length,
      events: scheduler.executed,
      finalEpoch: final?.epoch,
      merges: trace.merges.length,
      sent: trace.sent.length,
      reads: trace.reads.length,
      skippedActions: skipped,
      notDelivered: trace.notDelivered.length,
      exemptByCrash: trace.lostInCrash.size,
      network: { ...net.stats },
    },
  };
}
