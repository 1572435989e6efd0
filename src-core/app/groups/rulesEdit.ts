/**
 * Changing a group's rules after creation: the edits a GroupContextExtensions commit makes to the
 * rules extension (groupRules.ts), the checks on a new policy, and what changed between two
 * versions of the rules (for the membership log and the `group.rules_changed` event).
 *
 * An edit is run by the delivery layer on the group's extensions at the time the commit is made
 * (delivery/changes.ts), not on the rules the caller saw: a change re-made after a lost commit
 * applies on top of whatever won meanwhile. Hence the "at least one admin" rule is checked again
 * inside the edit: two admins stepping down at once cannot leave the group without one (the
 * second edit finds nothing it may do and is dropped).
 */
import type { ExtensionsEdit } from '../../delivery/changes.js';
import type { Extension } from '../../mls/extension.js';
import type { GroupPolicy, Role } from '../api.js';
import { AppError } from '../errors.js';
import type { GroupRules } from './groupRules.js';
import { GROUP_RULES_EXTENSION, MAX_ADMINS, rulesExtension, rulesOf } from './groupRules.js';

/** A change of the rules; undefined: nothing it may change (or nothing to change). */
export type RulesEdit = (rules: GroupRules) => GroupRules | undefined;

/** The rules edit as an edit of the GroupContext extensions (the rules extension replaced). */
export function extensionsEdit(edit: RulesEdit): ExtensionsEdit {
  return (current: readonly Extension[]) => {
    const rules = rulesOf(current);
    if (rules === undefined) return undefined; // unreadable rules: nothing we can edit safely
    const next = edit(rules);
    if (next === undefined) return undefined;
    const ext = rulesExtension(next);
    return current.map((e) => (e.extensionType === GROUP_RULES_EXTENSION ? ext : e));
  };
}

/**
 * `userId` gets `role`; never leaves the group without an admin among its members (`present`:
 * the user ids in the tree when the edit runs; an admin who left still stands in the list).
 */
export function roleEdit(
  userId: string,
  role: Role,
  present: () => ReadonlySet<string>,
): RulesEdit {
  return (rules) => {
    const has = rules.admins.includes(userId);
    if (role === 'admin') {
      if (has || rules.admins.length >= MAX_ADMINS) return undefined;
      return { ...rules, admins: [...rules.admins, userId] };
    }
    if (!has) return undefined;
    const admins = rules.admins.filter((a) => a !== userId);
    const here = present();
    return admins.some((a) => here.has(a)) ? { ...rules, admins } : undefined;
  };
}

export function policyEdit(policy: GroupPolicy): RulesEdit {
  return (rules) => (samePolicy(rules.policy, policy) ? undefined : { ...rules, policy });
}

export function samePolicy(a: GroupPolicy, b: GroupPolicy): boolean {
  return (
    a.membership === b.membership &&
    a.keyUpdateAfterMs === b.keyUpdateAfterMs &&
    a.keyUpdateAfterMessages === b.keyUpdateAfterMessages &&
    a.removeIdleAfterMs === b.removeIdleAfterMs &&
    a.disappearAfterMs === b.disappearAfterMs
  );
}

/**
 * How many key-update periods an idle limit must span at least. A member online and following
 * the policy commits an update every `keyUpdateAfterMs` (keyPolicy.ts), which every member sees;
 * two periods leave room for one lost or late update before the member looks idle.
 */
export const IDLE_MIN_UPDATE_PERIODS = 2;

/** A policy as the wire keeps it (whole milliseconds, uint32 message count), or `bad_request`. */
export function checkPolicy(p: GroupPolicy): GroupPolicy {
  const ms = (n: number | null, what: string): void => {
    if (n === null) return;
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new AppError('bad_request', `${what} is a positive whole number of milliseconds`);
    }
  };
  ms(p.keyUpdateAfterMs, 'keyUpdateAfterMs');
  ms(p.removeIdleAfterMs, 'removeIdleAfterMs');
  ms(p.disappearAfterMs, 'disappearAfterMs');
  const n = p.keyUpdateAfterMessages;
  if (!Number.isInteger(n) || n <= 0 || n > 0xffffffff) {
    throw new AppError('bad_request', 'keyUpdateAfterMessages is a positive 32-bit count');
  }
  if (p.membership !== 'admins' && p.membership !== 'everyone') {
    throw new AppError('bad_request', 'membership is admins or everyone');
  }
  if (
    p.removeIdleAfterMs !== null &&
    p.removeIdleAfterMs < IDLE_MIN_UPDATE_PERIODS * p.keyUpdateAfterMs
  ) {
    throw new AppError(
      'bad_request',
      `removeIdleAfterMs must be at least ${IDLE_MIN_UPDATE_PERIODS} × keyUpdateAfterMs (members ` +
        'show they are there by their key updates)',
    );
  }
  return { ...p };
}

export interface RulesDiff {
  readonly promoted: readonly string[];
  readonly demoted: readonly string[];
  /** The policy fields that changed, described for people (`disappearAfterMs=off`). */
  readonly policy: readonly string[];
}

export function diffRules(before: GroupRules | undefined, after: GroupRules): RulesDiff {
  const was = new Set(before?.admins ?? []);
  const now = new Set(after.admins);
  const policy: string[] = [];
  if (before !== undefined) {
    for (const k of Object.keys(after.policy) as (keyof GroupPolicy)[]) {
      const v = after.policy[k];
      if (before.policy[k] !== v) policy.push(`${k}=${v === null ? 'off' : String(v)}`);
    }
  }
  return {
    promoted: after.admins.filter((a) => !was.has(a)),
    demoted: [...was].filter((a) => !now.has(a)),
    policy,
  };
}
