/**
 * Tells the UI when a group's rules changed: after each merged commit (a GroupContextExtensions
 * commit, ours or another admin's, or a branch switch that brought other rules) the rules are
 * compared with the last ones seen; a change is logged (`role_changed` per person, one
 * `policy_changed`) in one transaction and announced by `group.rules_changed` and
 * `group.changed` (our role may have changed).
 */
import type { GroupSession } from '../../delivery/groupSession.js';
import type { GroupEntry, GroupHub } from './groupHub.js';
import type { GroupRules } from './groupRules.js';
import { rulesOf, userIdOfCredential } from './groupRules.js';
import type { StoredLogEntry } from './groupRecords.js';
import { diffRules } from './rulesEdit.js';

function sameRules(a: GroupRules | undefined, b: GroupRules | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class RulesWatch {
  constructor(private readonly hub: GroupHub) {}

  /** Watches one session from its start; returns the unsubscribe. */
  attach(e: GroupEntry, session: GroupSession): () => void {
    const rulesNow = (): GroupRules | undefined =>
      rulesOf(session.group.state.groupContext.extensions);
    let known = rulesNow();
    return session.on('epoch', (ev) => {
      const after = rulesNow();
      if (after === undefined || sameRules(known, after)) return;
      const before = known;
      known = after;
      const committer = session.group.members().find((m) => m.leafIndex === ev.committer);
      const by = committer === undefined ? undefined : userIdOfCredential(committer.credential);
      this.#announce(e, ev.epoch, before, after, by);
    });
  }

  #announce(
    e: GroupEntry,
    epoch: bigint,
    before: GroupRules | undefined,
    after: GroupRules,
    by: string | undefined,
  ): void {
    const diff = diffRules(before, after);
    const actor = by ?? this.hub.myUserId;
    void this.hub
      .persist(e, (tx) => {
        const entries: StoredLogEntry[] = [];
        for (const u of diff.promoted) {
          entries.push(this.hub.logEntry(tx, e, 'role_changed', actor, u, 'admin', epoch));
        }
        for (const u of diff.demoted) {
          entries.push(this.hub.logEntry(tx, e, 'role_changed', actor, u, 'member', epoch));
        }
        if (diff.policy.length > 0) {
          const detail = diff.policy.join(', ');
          entries.push(this.hub.logEntry(tx, e, 'policy_changed', actor, undefined, detail, epoch));
        }
        return entries;
      })
      .then((entries) => {
        for (const entry of entries) this.hub.emitLog(e, entry);
        this.hub.ctx.events.emit('group.rules_changed', {
          groupId: e.hex,
          admins: [...after.admins],
          policy: { ...after.policy },
          byUserId: by ?? null,
        });
        this.hub.views.emitGroup(e);
      })
      .catch(() => undefined);
  }
}
