/**
 * Keeps a group session's election state (term, leader) in the group's stored meta, so the next
 * start resumes it through the session's `election` option. A member restarted at term 0 would
 * claim term 1 again when its leader went silent, a term another leader may already hold: two
 * leaders of one term order different commits for one epoch (a fork the rule then has to judge).
 * The delivery layer has no storage port; the group state is ours to store, and so is this.
 */
import type { GroupSession } from '../../delivery/groupSession.js';
import type { GroupEntry, GroupHub } from './groupHub.js';
import type { GroupElection } from './groupRecords.js';

/** The `election` option for a session of `e` (spread into the options; empty when none). */
export function resumeElection(e: GroupEntry): { election?: GroupElection } {
  const election = e.meta.election;
  return election === undefined ? {} : { election };
}

/**
 * Follows the session's `leader` and `epoch` events; a changed term or leader is saved with the
 * group's next batch (one is queued at once). Returns the unsubscribe.
 */
export function keepElection(hub: GroupHub, e: GroupEntry, session: GroupSession): () => void {
  const keep = (): void => {
    const now = e.meta.election;
    if (now !== undefined && now.term === session.term && now.leader === session.leader) return;
    e.meta.election = { term: session.term, leader: session.leader };
    void hub.persist(e, () => undefined).catch(() => undefined);
  };
  keep();
  const offs = [session.on('leader', keep), session.on('epoch', keep)];
  return () => {
    for (const off of offs) off();
  };
}
