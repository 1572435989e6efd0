/**
 * A first guess at why a seed failed, from its scenario and trace, for the known-failure list
 * and the failure report. It names the pattern, it does not prove the cause: replay the seed.
 */
import type { RunResult } from './runner.js';

export type FailureClass =
  | 'rejoin-needed'
  | 'own-commit-lost-in-crash'
  | 'duplicate-after-resend'
  | 'undetected-fork'
  | 'stuck-behind'
  | 'message-not-redelivered'
  | 'other';

export const FAILURE_CLASSES: Readonly<Record<FailureClass, string>> = {
  'rejoin-needed':
    'a member lost a fork it cannot roll back (restarted with an empty fork window, or past it), and neither its rejoin by external commit nor a re-add by the leader brought it back',
  'own-commit-lost-in-crash':
    'a member crashed after sending a commit that was then ordered; restarted from its stored state it cannot process its own commit and stays behind',
  'duplicate-after-resend':
    'messages sent again after a lost fork are read twice by members that read them on the losing branch',
  'undetected-fork': 'members end in the same epoch on different branches and never notice',
  'stuck-behind': 'a member stays in an older epoch of the winning branch',
  'message-not-redelivered':
    'a message sent during a partition or fork never reaches some members and its sender is not told',
  other: 'not classified',
};

export function classify(r: RunResult): FailureClass {
  const { trace, scenario, violations } = r;
  if (trace.notes.some((n) => n.includes('rejoin needed'))) return 'rejoin-needed';
  const stuck = new Set<string>();
  for (const v of violations) {
    if (v.invariant !== 'convergence') continue;
    const m = /^(\S+) (ends at|is up)/.exec(v.detail);
    if (m?.[1] !== undefined) stuck.add(m[1]);
  }
  const crashedAfterCommit = scenario.actions.some(
    ({ at, action }) =>
      action.kind === 'crash' &&
      stuck.has(action.member) &&
      scenario.actions.some(
        (b) =>
          (b.action.kind === 'update' ||
            b.action.kind === 'add' ||
            b.action.kind === 'remove' ||
            b.action.kind === 'leave') &&
          b.action.by === action.member &&
          b.at <= at &&
          at - b.at < 3_000,
      ),
  );
  if (crashedAfterCommit) return 'own-commit-lost-in-crash';
  if (violations.some((v) => v.invariant === 'duplicate')) return 'duplicate-after-resend';
  const conv = violations.find((v) => v.invariant === 'convergence');
  if (conv !== undefined) {
    const epochs = [...conv.detail.matchAll(/epoch (\d+)/g)].map((m) => m[1]);
    return epochs.length >= 2 && epochs[0] === epochs[1] ? 'undetected-fork' : 'stuck-behind';
  }
  if (violations.every((v) => v.invariant === 'delivery')) return 'message-not-redelivered';
  return 'other';
}
