/**
 * The session's reports to the layer that can act on them: `behind` (start a sync) and
 * `rejoinNeeded` (only a rejoin brings us back). Both are rate-limited so that forged input can
 * neither flood nor silence them: `behind` once per epoch of ours and again every `retryMs`
 * while still behind (a sync may have failed), `rejoinNeeded` once per epoch.
 */
import { DeliveryError } from './errors.js';
import type { MessageId, SessionEmitter } from './sessionEvents.js';

/** How many quiet periods later-epoch traffic may hold a leader back (see mayOrder). */
const STALE_AHEAD_FACTOR = 2;

export class SessionReports {
  private behindReported: { epoch: bigint; at: number } | undefined;
  /** When traffic of a later epoch was last seen (a leader that saw it lately must not order). */
  private aheadSeenAt = Number.NEGATIVE_INFINITY;
  /** When we first saw traffic of a later epoch while at our current one. */
  private aheadSince: { readonly epoch: bigint; readonly at: number } | undefined;
  private readonly rejoinReported = new Set<bigint>();

  constructor(
    private readonly events: SessionEmitter,
    private readonly retryMs: number,
    /** Every sighting of a later epoch (our messages of this epoch may reach others too late). */
    private readonly onAhead: (epoch: bigint, seen: bigint) => void,
  ) {}

  /**
   * Whether a leader at `epoch` may order: no traffic of a later epoch for `quietMs`, or such
   * traffic for `STALE_AHEAD_FACTOR × quietMs` since we first saw it at this epoch without our
   * getting past it. A sync brings a member onto a branch it can follow well within an election
   * timeout; later-epoch traffic that has not done so by then is of a branch we cannot follow: a
   * lost branch still served from ciphertext logs, or forged (an envelope of a later epoch cannot
   * be verified). Without the bound it would stop the leader ordering for good.
   */
  mayOrder(epoch: bigint, now: number, quietMs: number): boolean {
    if (now - this.aheadSeenAt >= quietMs) return true;
    const since = this.aheadSince;
    return since?.epoch === epoch && now - since.at >= STALE_AHEAD_FACTOR * quietMs;
  }

  /** Traffic of epoch `seen` arrived while we are at `epoch`. */
  behind(epoch: bigint, seen: bigint, now: number): void {
    this.aheadSeenAt = now;
    if (this.aheadSince?.epoch !== epoch) this.aheadSince = { epoch, at: now };
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
