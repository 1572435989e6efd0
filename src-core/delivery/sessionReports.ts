/**
 * The session's reports to the layer that can act on them: `behind` (start a sync) and
 * `rejoinNeeded` (only a rejoin brings us back). Both are rate-limited so that forged input can
 * neither flood nor silence them: `behind` once per epoch of ours and again every `retryMs`
 * while still behind (a sync may have failed), `rejoinNeeded` once per epoch.
 */
import { DeliveryError } from './errors.js';
import type { MessageId, SessionEmitter } from './sessionEvents.js';

export class SessionReports {
  private behindReported: { epoch: bigint; at: number } | undefined;
  /** When traffic of a later epoch was last seen (a leader that saw it lately must not order). */
  aheadSeenAt = Number.NEGATIVE_INFINITY;
  private readonly rejoinReported = new Set<bigint>();

  constructor(
    private readonly events: SessionEmitter,
    private readonly retryMs: number,
    /** Every sighting of a later epoch (our messages of this epoch may reach others too late). */
    private readonly onAhead: (epoch: bigint, seen: bigint) => void,
  ) {}

  /** Whether no traffic of a later epoch was seen for `quietMs` (a leader may order then). */
  mayOrder(now: number, quietMs: number): boolean {
    return now - this.aheadSeenAt >= quietMs;
  }

  /** Traffic of epoch `seen` arrived while we are at `epoch`. */
  behind(epoch: bigint, seen: bigint, now: number): void {
    this.aheadSeenAt = now;
    this.onAhead(epoch, seen);
    const last = this.behindReported;
    if (last?.epoch === epoch && now - last.at < this.retryMs) return;
    this.behindReported = { epoch, at: now };
    this.events.emit('behind', { epoch, seen });
  }

  /** A `rejoinNeeded` report, once per epoch. */
  rejoin(epoch: bigint, why: string, unsettled: readonly MessageId[]): void {
    if (this.rejoinReported.has(epoch)) return;
    this.rejoinReported.add(epoch);
    const error = new DeliveryError('rejoin_needed', `epoch ${epoch}: ${why}`);
    this.events.emit('rejoinNeeded', { forkEpoch: epoch, error, unsettled });
  }
}
