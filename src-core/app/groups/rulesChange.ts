/**
 * Making a rules change (a role, the policy): a GroupContextExtensions intent on the group's
 * session, awaited until a merged commit makes the rules say what was asked. The session makes
 * the commit again after a lost epoch, on top of whatever won (delivery/changes.ts); the call
 * fails when MLS refuses it (`forbidden` when the group's policy does: we were demoted meanwhile),
 * when the change no longer applies to the rules the group now has (`conflict`: e.g. it would
 * leave the group without an admin), when we leave the group, or after `timeoutMs`. Once
 * merged, the edit is kept for the fork window and made again if that epoch's branch loses a fork.
 */
import type { GroupSession } from '../../delivery/groupSession.js';
import { DEFAULT_FORK_WINDOW } from '../../delivery/sessionOptions.js';
import type { Group } from '../../mls/client/index.js';
import { MlsError } from '../../mls/errors.js';
import { AppError } from '../errors.js';
import type { GroupHub } from './groupHub.js';
import type { GroupRules } from './groupRules.js';
import { rulesOf } from './groupRules.js';
import type { RulesEdit } from './rulesEdit.js';
import { extensionsEdit } from './rulesEdit.js';
import { RulesReplay } from './rulesReplay.js';

/** Per session: our merged edits, made again after a lost fork (rulesReplay.ts). */
const replays = new WeakMap<GroupSession, RulesReplay>();

function replayOf(session: GroupSession): RulesReplay {
  let r = replays.get(session);
  if (r === undefined) {
    r = new RulesReplay(session, DEFAULT_FORK_WINDOW, (run) => queueMicrotask(run));
    replays.set(session, r);
  }
  return r;
}

const rulesNow = (g: Group): GroupRules | undefined => rulesOf(g.state.groupContext.extensions);

function failure(error: Error): AppError {
  if (error instanceof MlsError && error.code === 'proposal_rejected_by_policy') {
    return new AppError('forbidden', "the group's rules no longer let us change them", {
      cause: error,
    });
  }
  return new AppError('conflict', 'the group refused the rules change', { cause: error });
}

export function changeRules(
  hub: GroupHub,
  groupHex: string,
  edit: RulesEdit,
  done: (rules: GroupRules) => boolean,
  timeoutMs = 60_000,
): Promise<void> {
  const e = hub.active(groupHex);
  const session = e.session;
  const change = extensionsEdit(edit);
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const offs: (() => void)[] = [];
    const finish = (err?: AppError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const off of offs) off();
      if (err === undefined) resolve();
      else reject(err);
    };
    const check = (epoch?: bigint): void => {
      const rules = rulesNow(session.group);
      if (rules !== undefined && done(rules)) {
        if (epoch !== undefined) replayOf(session).merged(change, epoch);
        return finish();
      }
      if (rules === undefined || edit(rules) === undefined) {
        finish(new AppError('conflict', 'the change no longer applies to the group’s rules'));
      }
    };
    const timer = setTimeout(
      () => finish(new AppError('unavailable', 'the group did not confirm the change in time')),
      timeoutMs,
    );
    offs.push(
      session.on('epoch', (ev) => check(ev.epoch)),
      session.on('changeFailed', (f) => {
        if (f.change === 'extensions') finish(failure(f.error));
      }),
      session.on('removed', () =>
        finish(new AppError('conflict', 'we are no longer in the group')),
      ),
    );
    if (e.leaving) return finish(new AppError('conflict', 'we are leaving this group'));
    try {
      session.changeExtensions(change);
    } catch (err) {
      return finish(new AppError('conflict', 'we are no longer in this group', { cause: err }));
    }
    check();
  });
}
