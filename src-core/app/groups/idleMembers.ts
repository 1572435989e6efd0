/**
 * Removing idle members (`removeIdleAfterMs`). A member (a leaf: each device is one) is *seen*
 * when we merge a commit it made or one that carries its Update, when it is added, and when we
 * read an application message it sent (all authenticated by MLS: a commit or message is signed
 * by the sender's leaf). Heartbeats are not counted: only the leader sends them.
 *
 * The signal every member can judge is the key update: the policy makes each member commit fresh
 * keys every `keyUpdateAfterMs` while it is online (keyPolicy.ts), and commits are ordered, so
 * every member sees the same ones, give or take delivery time. The idle limit must span at least
 * two update periods (rulesEdit.ts `checkPolicy`), so one lost or late update never makes an
 * online member look idle. Messages are an extra, local signal.
 *
 * Whoever the policy lets remove others (an admin, or anyone with `membership = everyone`)
 * proposes the removal of the members idle past the limit, as an ordinary removal intent: two
 * admins doing it at once converge on one commit (delivery/changes.ts drops a removal the group
 * already made).
 *
 * Limits, by choice: times are kept in memory and counted from when *we* started watching the
 * group (unlock, join): a member is never judged idle over a time we were not there to see it,
 * so an admin that was offline for a week removes nobody on its return; removal therefore needs
 * one such member online for the whole limit. A member that only reads (and does not follow the
 * key-update policy, e.g. an old client) is idle by this rule.
 */
import type { GroupSession } from '../../delivery/groupSession.js';
import type { GroupMember } from '../../mls/client/index.js';
import type { GroupEntry, GroupHub } from './groupHub.js';
import { roleOf } from './groupRules.js';
import { hexOf } from './messageLedger.js';

interface Activity {
  /** When we started watching the group. */
  readonly since: number;
  /** Last seen, by leaf signature key (hex). */
  readonly seen: Map<string, number>;
  /** Removals we asked for, by key, with when (asked again after `RETRY_MS`). */
  readonly asked: Map<string, number>;
}

/** A removal asked for and not merged is asked again after this long. */
const RETRY_MS = 60_000;

export class IdleMembers {
  readonly #groups = new Map<string, Activity>();

  constructor(private readonly hub: GroupHub) {}

  /** Watches one session from its start; returns the unsubscribe. */
  attach(e: GroupEntry, session: GroupSession): () => void {
    const a: Activity = { since: this.hub.ctx.nowMs(), seen: new Map(), asked: new Map() };
    this.#groups.set(e.hex, a);
    const mark = (key: Uint8Array): void => {
      a.seen.set(hexOf(key), this.hub.ctx.nowMs());
    };
    const markLeaf = (leaf: number): void => {
      const m = session.group.members().find((x) => x.leafIndex === leaf);
      if (m !== undefined) mark(m.signatureKey);
    };
    const offs = [
      session.on('message', (m) => mark(m.sender.signatureKey)),
      session.on('epoch', (ev) => {
        if (ev.committer !== undefined) markLeaf(ev.committer);
      }),
      session.on('membership', (m) => {
        for (const x of m.added) mark(x.signatureKey);
        for (const leaf of m.updated) markLeaf(leaf);
        for (const x of m.removed) {
          a.seen.delete(hexOf(x.signatureKey));
          a.asked.delete(hexOf(x.signatureKey));
        }
      }),
    ];
    return () => {
      for (const off of offs) off();
      if (this.#groups.get(e.hex) === a) this.#groups.delete(e.hex);
    };
  }

  /** Members other than us not seen for `limitMs` (counted from when we started watching). */
  idle(e: GroupEntry, limitMs: number): GroupMember[] {
    const a = this.#groups.get(e.hex);
    const group = e.session?.group;
    if (a === undefined || group === undefined) return [];
    const now = this.hub.ctx.nowMs();
    return group.members().filter((m) => {
      if (m.leafIndex === group.ownLeaf) return false;
      const last = Math.max(a.seen.get(hexOf(m.signatureKey)) ?? 0, a.since);
      return now - last >= limitMs;
    });
  }

  /** Proposes the removal of idle members when the policy says so and lets us. */
  tick(e: GroupEntry): void {
    const rules = this.hub.rules(e);
    const limit = rules?.policy.removeIdleAfterMs;
    const session = e.session;
    if (limit === null || limit === undefined || rules === undefined) return;
    if (session === undefined || !session.isRunning || e.leaving) return;
    const may =
      rules.policy.membership === 'everyone' || roleOf(rules, this.hub.myUserId) === 'admin';
    if (!may) return;
    const a = this.#groups.get(e.hex);
    if (a === undefined) return;
    const now = this.hub.ctx.nowMs();
    const due = this.idle(e, limit).filter((m) => {
      const asked = a.asked.get(hexOf(m.signatureKey));
      return asked === undefined || now - asked >= RETRY_MS;
    });
    if (due.length === 0) return;
    for (const m of due) a.asked.set(hexOf(m.signatureKey), now);
    try {
      session.remove(due.map((m) => m.leafIndex));
    } catch {
      // The session stopped meanwhile: nobody to remove.
    }
  }
}
