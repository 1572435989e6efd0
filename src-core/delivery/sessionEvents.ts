/**
 * What a group session tells the layers above, as typed events, and a minimal typed emitter.
 * Handlers run synchronously in the order they were added; a handler that throws is isolated
 * (the error is swallowed after the other handlers ran) so one bad listener cannot stop delivery.
 */
import type { GroupMember } from '../mls/client/index.js';
import type { DeliveryError } from './errors.js';

/** A local id for a message we sent, as `GroupSession.send` returned it. */
export type MessageId = number;

export interface SessionEvents {
  /** An application message of the group (not our own), once: copies are dropped by id. */
  message: {
    readonly sender: GroupMember;
    readonly data: Uint8Array;
    /** The sender's random id for it (a message sent again after a fork keeps its id). */
    readonly messageId: Uint8Array;
    readonly epoch: bigint;
    readonly authenticatedData: Uint8Array;
  };
  /** A commit was merged: the group is at `epoch`. */
  epoch: {
    readonly epoch: bigint;
    readonly committer: number | undefined;
    readonly commitHash: Uint8Array;
    readonly term: bigint;
  };
  /** Who joined, left or renewed keys with the commit that started `epoch`. */
  membership: {
    readonly epoch: bigint;
    readonly added: readonly GroupMember[];
    /** The removed members as the previous epoch's tree showed them. */
    readonly removed: readonly GroupMember[];
    readonly updated: readonly number[];
  };
  /** Our commit adding members was merged: deliver this Welcome to them (their mailboxes). */
  welcome: { readonly welcome: Uint8Array; readonly added: readonly GroupMember[] };
  /** Our commit lost its epoch; its changes are proposed again in the next one. */
  commitLost: { readonly epoch: bigint };
  /** A requested change could not be made (MLS refused it); it is dropped. */
  changeFailed: { readonly change: string; readonly error: Error };
  /** A message we published could not be handed to the network. */
  sendFailed: { readonly id: MessageId | undefined; readonly error: Error };
  /**
   * A message we sent will not reach the group: we were removed before it could go out, or
   * members joined before it could go out again (held for a commit, or re-sent after a lost
   * fork), and a member must not read what was sent before it joined.
   */
  notDelivered: {
    readonly id: MessageId;
    readonly reason: 'removed' | 'rejoin_needed' | 'membership_changed';
  };
  /** A leader took over (or we did). */
  leader: { readonly term: bigint; readonly leader: number; readonly self: boolean };
  /** Two branches met at `forkEpoch`; `won` tells whether ours was kept. */
  fork: {
    readonly forkEpoch: bigint;
    readonly won: boolean;
    /** Removals and adds of the losing branch that we propose again (when we lost). */
    readonly reproposedRemovals: number;
    readonly reproposedAdds: number;
    /** Our messages sent on the losing branch that are sent again. */
    readonly resent: number;
  };
  /** The fork point is no longer kept: only an external-commit rejoin can bring us back. */
  rejoinNeeded: {
    readonly forkEpoch: bigint;
    readonly error: DeliveryError;
    /** Our messages a rejoin may have to send again (sent within the window, or held). */
    readonly unsettled: readonly MessageId[];
  };
  /**
   * We rejoined by external commit (externalRejoin.ts) and are a member again from `epoch`:
   * messages of earlier epochs we had not read are beyond reach, as for a new member.
   */
  rejoined: { readonly epoch: bigint; readonly stuckAt: bigint };
  /** Traffic from a later epoch was seen: a sync from a peer would fill the gap. */
  behind: { readonly epoch: bigint; readonly seen: bigint };
  /** A commit removed us. The session stops; the group state is inactive. */
  removed: { readonly epoch: bigint };
  /** Input dropped with a typed error (bad, forged or stale). No state changed. */
  rejected: { readonly error: DeliveryError };
  /** An envelope we published (for the store-and-forward log). */
  published: { readonly envelope: Uint8Array; readonly epoch: bigint; readonly kind: number };
}

export type SessionEventName = keyof SessionEvents;
export type SessionListener<K extends SessionEventName> = (event: SessionEvents[K]) => void;

export class SessionEmitter {
  private readonly listeners = new Map<SessionEventName, Set<(event: never) => void>>();

  on<K extends SessionEventName>(name: K, listener: SessionListener<K>): () => void {
    let set = this.listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener as (event: never) => void);
    return () => set.delete(listener as (event: never) => void);
  }

  emit<K extends SessionEventName>(name: K, event: SessionEvents[K]): void {
    const set = this.listeners.get(name);
    if (set === undefined) return;
    for (const l of [...set]) {
      try {
        (l as SessionListener<K>)(event);
      } catch {
        // A listener's failure is its own; delivery goes on (see the file comment).
      }
    }
  }
}
