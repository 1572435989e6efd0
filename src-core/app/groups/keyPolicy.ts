/**
 * The group policies that run on a timer or on events, each group's from its own rules (the
 * GroupContext extension, groupRules.ts; changed by admins through `setPolicy`):
 * - post-compromise security: each member updates its own keys after the group's
 *   `keyUpdateAfterMs` or `keyUpdateAfterMessages`, whichever comes first;
 * - disappearing messages: history older than `disappearAfterMs` by arrival time is deleted with
 *   everything stored for it (disappearing.ts), a batch per transaction;
 * - idle members: those the policy lets remove others propose the removal of members not seen
 *   for `removeIdleAfterMs` (idleMembers.ts, where the last-seen rule and its limits are);
 * - rule changes are logged and announced (rulesWatch.ts).
 */
import type { GroupSession } from '../../delivery/groupSession.js';
import type { GroupEntry, GroupHub } from './groupHub.js';
import { anyExpired, expireMessages } from './disappearing.js';
import { IdleMembers } from './idleMembers.js';
import { RulesWatch } from './rulesWatch.js';

/** An update asked for and not merged is asked again after this long. */
const UPDATE_RETRY_MS = 60_000;

export class KeyPolicy {
  #timer: NodeJS.Timeout | undefined;
  /** Groups whose update we asked for, with when (not asked again until it lands or times out). */
  readonly #asked = new Map<string, number>();
  /** Groups with an expiry batch running (one at a time per group). */
  readonly #expiring = new Set<string>();
  readonly idle: IdleMembers;
  readonly #rules: RulesWatch;

  constructor(private readonly hub: GroupHub) {
    this.idle = new IdleMembers(hub);
    this.#rules = new RulesWatch(hub);
  }

  /** Starts the timer (at unlock). */
  start(tickMs: number): void {
    this.stop();
    this.#timer = setInterval(() => void this.tick(), tickMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#asked.clear();
  }

  /** Watches a session from its start (idle members, rule changes); returns the unsubscribe. */
  attach(e: GroupEntry, session: GroupSession): () => void {
    const offs = [this.idle.attach(e, session), this.#rules.attach(e, session)];
    return () => {
      for (const off of offs) off();
    };
  }

  /** One round over the active groups; resolves once expiry batches are stored (tests await it). */
  async tick(): Promise<void> {
    const runs: Promise<void>[] = [];
    for (const e of this.hub.groups.values()) {
      if (e.meta.state !== 'active' || e.session === undefined) continue;
      this.#maybeUpdate(e);
      this.idle.tick(e);
      runs.push(this.#expire(e));
    }
    await Promise.all(runs);
  }

  afterSend(e: GroupEntry): void {
    this.#maybeUpdate(e);
  }

  #maybeUpdate(e: GroupEntry): void {
    const policy = this.hub.rules(e)?.policy;
    if (policy === undefined || e.session === undefined || !e.session.isRunning) return;
    const now = this.hub.ctx.nowMs();
    const asked = this.#asked.get(e.hex);
    if (asked !== undefined && asked >= e.meta.lastUpdateMs && now - asked < UPDATE_RETRY_MS) {
      return;
    }
    const due =
      now - e.meta.lastUpdateMs >= policy.keyUpdateAfterMs ||
      (policy.keyUpdateAfterMessages > 0 &&
        e.meta.sentSinceUpdate >= policy.keyUpdateAfterMessages);
    if (!due) return;
    this.#asked.set(e.hex, now);
    try {
      e.session.update();
    } catch {
      // The session stopped meanwhile; nothing to update.
    }
  }

  async #expire(e: GroupEntry): Promise<void> {
    const after = this.hub.rules(e)?.policy.disappearAfterMs;
    if (after === null || after === undefined || this.#expiring.has(e.hex)) return;
    const cutoff = this.hub.ctx.nowMs() - after;
    this.#expiring.add(e.hex);
    try {
      const store = this.hub.session.store;
      while (await anyExpired(store, e.hex, cutoff)) {
        const gone = await this.hub.persist(e, (tx) => expireMessages(store, e.hex, tx, cutoff));
        for (const m of gone) {
          const messageId = Buffer.from(m.messageId).toString('hex');
          this.hub.ctx.events.emit('message.deleted', { groupId: e.hex, messageId });
        }
        if (gone.length === 0) break;
        this.hub.views.emitGroup(e);
      }
    } catch {
      // Locked or a failed write: the next tick tries again.
    } finally {
      this.#expiring.delete(e.hex);
    }
  }
}
