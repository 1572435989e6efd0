/**
 * The group policies that run on a timer: post-compromise security (each member updates its own
 * keys after the group's `keyUpdateAfterMs` or `keyUpdateAfterMessages`, whichever comes first)
 * and disappearing messages (history older than `disappearAfterMs` by arrival time is deleted
 * from the store, with its index, a batch at a time).
 *
 * Not done here yet: removing idle members (`removeIdleAfterMs`) needs a last-seen time per
 * member that every member agrees on, which the delivery layer does not keep.
 */
import type { GroupEntry, GroupHub } from './groupHub.js';

export class KeyPolicy {
  readonly #timer: NodeJS.Timeout;
  /** Groups whose update we asked for, with when (not asked again until it lands or times out). */
  readonly #asked = new Map<string, number>();

  constructor(
    private readonly hub: GroupHub,
    tickMs: number,
  ) {
    this.#timer = setInterval(() => this.tick(), tickMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  tick(): void {
    for (const e of this.hub.groups.values()) {
      if (e.meta.state !== 'active' || e.session === undefined) continue;
      this.#maybeUpdate(e);
      this.#expire(e);
    }
  }

  afterSend(e: GroupEntry): void {
    this.#maybeUpdate(e);
  }

  #maybeUpdate(e: GroupEntry): void {
    const policy = this.hub.rules(e)?.policy;
    if (policy === undefined || e.session === undefined || !e.session.isRunning) return;
    const now = this.hub.ctx.nowMs();
    const asked = this.#asked.get(e.hex);
    if (asked !== undefined && asked >= e.meta.lastUpdateMs && now - asked < 60_000) return;
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

  #expire(e: GroupEntry): void {
    const after = this.hub.rules(e)?.policy.disappearAfterMs;
    if (after === null || after === undefined) return;
    const cutoff = this.hub.ctx.nowMs() - after;
    void this.hub.persist(e, (tx) => e.ledger.expire(tx, cutoff)).catch(() => undefined);
  }
}
