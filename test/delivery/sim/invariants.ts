/**
 * The invariants every run must keep (issue 6, "deterministic simulation harness"):
 *  - convergence: members that are up and in the group end in one epoch with one tree hash,
 *    epoch authenticator and roster, and everyone in that roster who is up holds that state;
 *  - ordering: no one merged a commit without having the ordering record for it;
 *  - removal: a removed member reads nothing sent without it and never comes back by a fork;
 *  - delivery: each message is read by every member of the winning branch that was in the group
 *    when it was sent, or its sender is told it was not delivered; no one reads a message twice.
 * Checkers read a Trace only, so the self-tests can plant a violation in a trace by hand.
 */
import type { FinalMember, StateView, Trace } from './trace.js';

export type InvariantName =
  'convergence' | 'ordering' | 'removal' | 'delivery' | 'duplicate' | 'handler';

export interface Violation {
  readonly invariant: InvariantName;
  readonly detail: string;
}

function sameState(a: StateView, b: StateView): boolean {
  return (
    a.epoch === b.epoch &&
    a.treeHash === b.treeHash &&
    a.epochAuthenticator === b.epochAuthenticator &&
    a.roster.length === b.roster.length &&
    a.roster.every((m, i) => b.roster[i] === m)
  );
}

function describe(v: StateView): string {
  return `epoch ${v.epoch} tree ${v.treeHash.slice(0, 12)} auth ${v.epochAuthenticator.slice(0, 12)} [${v.roster.join(',')}]`;
}

/** Up members that believe they are in the group. */
function activeFinals(trace: Trace): (FinalMember & { view: StateView })[] {
  return trace.finals.filter(
    (f): f is FinalMember & { view: StateView } =>
      f.up && f.view !== undefined && f.view.roster.includes(f.name),
  );
}

/** The state all active members share, or undefined if they do not share one (or there are none). */
export function winningState(trace: Trace): StateView | undefined {
  const active = activeFinals(trace);
  const first = active[0];
  if (first === undefined) return undefined;
  return active.every((f) => sameState(f.view, first.view)) ? first.view : undefined;
}

export function checkConvergence(trace: Trace): Violation[] {
  const active = activeFinals(trace);
  const out: Violation[] = [];
  const first = active[0];
  if (first === undefined) {
    if (trace.finals.some((f) => f.up)) {
      out.push({ invariant: 'convergence', detail: 'no member that is up is in the group' });
    }
    return out;
  }
  for (const f of active.slice(1)) {
    if (!sameState(f.view, first.view)) {
      out.push({
        invariant: 'convergence',
        detail: `${f.name} ends at ${describe(f.view)}, ${first.name} at ${describe(first.view)}`,
      });
    }
  }
  if (out.length > 0) return out;
  for (const name of first.view.roster) {
    const f = trace.finals.find((x) => x.name === name);
    if (f === undefined || !f.up) continue;
    if (f.view === undefined || !sameState(f.view, first.view)) {
      out.push({
        invariant: 'convergence',
        detail: `${name} is up and in the roster ${describe(first.view)} but holds ${
          f.view === undefined ? 'no state' : describe(f.view)
        }`,
      });
    }
  }
  return out;
}

export function checkOrdering(trace: Trace): Violation[] {
  const seen = new Map<string, number>();
  for (const o of trace.orderingSeen) {
    const key = `${o.member}|${o.epoch}|${o.commitHash}`;
    const t = seen.get(key);
    if (t === undefined || o.time < t) seen.set(key, o.time);
  }
  const out: Violation[] = [];
  for (const m of trace.merges) {
    const t = seen.get(`${m.member}|${m.fromEpoch}|${m.commitHash}`);
    if (t === undefined || t > m.time) {
      out.push({
        invariant: 'ordering',
        detail: `${m.member} merged commit ${m.commitHash.slice(0, 12)} of epoch ${m.fromEpoch} at t=${m.time} without its ordering record${
          t === undefined ? '' : ` (it came at t=${t})`
        }`,
      });
    }
  }
  return out;
}

function readdedAfter(trace: Trace, member: string, time: number): boolean {
  return trace.readds.some((r) => r.member === member && r.time > time);
}

export function checkRemoval(trace: Trace): Violation[] {
  const out: Violation[] = [];
  const sent = new Map(trace.sent.map((s) => [s.id, s]));
  for (const r of trace.reads) {
    if (!r.view.roster.includes(r.reader)) {
      out.push({
        invariant: 'removal',
        detail: `${r.reader} read ${r.id} at t=${r.time} in a state that does not list it (${describe(r.view)})`,
      });
    }
    const s = sent.get(r.id);
    if (s?.senderView !== undefined && !s.senderView.roster.includes(r.reader)) {
      out.push({
        invariant: 'removal',
        detail: `${r.reader} read ${r.id}, which ${s.sender} sent at t=${s.time} to a group without it`,
      });
    }
  }
  for (const rm of trace.removals) {
    if (readdedAfter(trace, rm.member, rm.time)) continue;
    // Re-added in the same millisecond, after the removal (a member catching up merges both).
    const { order } = rm;
    if (
      order !== undefined &&
      trace.readds.some((r) => r.member === rm.member && (r.order ?? -1) > order)
    ) {
      continue;
    }
    for (const f of activeFinals(trace)) {
      if (f.view.roster.includes(rm.member)) {
        out.push({
          invariant: 'removal',
          detail: `${rm.member}, removed at t=${rm.time} (merged by ${rm.mergedBy}), is back in ${f.name}'s final roster`,
        });
        break;
      }
    }
  }
  return out;
}

export function checkDelivery(trace: Trace): Violation[] {
  const out: Violation[] = [];
  const readers = new Map<string, Map<string, number[]>>();
  for (const r of trace.reads) {
    let byReader = readers.get(r.id);
    if (byReader === undefined) {
      byReader = new Map();
      readers.set(r.id, byReader);
    }
    const incs = byReader.get(r.reader) ?? [];
    if (incs.includes(r.incarnation)) {
      out.push({
        invariant: 'duplicate',
        detail: `${r.reader} read ${r.id} twice (second at t=${r.time})`,
      });
    }
    incs.push(r.incarnation);
    byReader.set(r.reader, incs);
  }
  const win = winningState(trace);
  if (win === undefined) return out; // convergence already failed; nothing to measure against
  const reported = new Set(trace.notDelivered.map((n) => `${n.sender}|${n.id}`));
  const upFinal = new Set(trace.finals.filter((f) => f.up).map((f) => f.name));
  for (const s of trace.sent) {
    if (reported.has(`${s.sender}|${s.id}`) || trace.lostInCrash.has(s.id)) continue;
    if (s.senderView === undefined) {
      out.push({
        invariant: 'delivery',
        detail: `${s.sender} sent ${s.id} at t=${s.time} while not in the group and was not told`,
      });
      continue;
    }
    const missing = win.roster.filter(
      (m) =>
        m !== s.sender &&
        upFinal.has(m) &&
        s.senderView?.roster.includes(m) === true &&
        !readdedAfter(trace, m, s.time) &&
        !trace.rejoins.some((j) => j.member === m && j.time > s.time) &&
        readers.get(s.id)?.has(m) !== true,
    );
    if (missing.length > 0) {
      out.push({
        invariant: 'delivery',
        detail: `${s.id} (${s.sender}, t=${s.time}) never reached ${missing.join(',')} and ${s.sender} was not told`,
      });
    }
  }
  return out;
}

export function checkAll(trace: Trace): Violation[] {
  return [
    ...trace.handlerErrors.map((e): Violation => ({ invariant: 'handler', detail: e })),
    ...checkConvergence(trace),
    ...checkOrdering(trace),
    ...checkRemoval(trace),
    ...checkDelivery(trace),
  ];
}
