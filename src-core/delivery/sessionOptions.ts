/** How a group session is configured: its timers, its fork window, its buffers. */
import type { SeenMessages } from './applicationFrame.js';
import type { Group, GroupMember, KeyPackageInput } from '../mls/client/index.js';
import type { ExternalRejoinOptions } from './externalRejoin.js';
import type { ElectionTiming } from './leaderElection.js';
import { DEFAULT_ELECTION_TIMING } from './leaderElection.js';
import type { ChannelPort, Clock } from './ports.js';

export interface GroupSessionTiming extends ElectionTiming {
  /** How often the session checks its timers (heartbeat, election, retries). */
  readonly tickMs: number;
  /** How long the leader waits before committing proposals nobody else committed. */
  readonly proposalCommitDelayMs: number;
  /** How long a commit or proposal of ours waits for its epoch to move before we send it again. */
  readonly retryMs: number;
}

export const DEFAULT_SESSION_TIMING: GroupSessionTiming = {
  ...DEFAULT_ELECTION_TIMING,
  tickMs: 250,
  proposalCommitDelayMs: 500,
  retryMs: 2_000,
};

export const DEFAULT_FORK_WINDOW = 8;
export const DEFAULT_BUFFER_LIMIT = 4096;

export interface GroupSessionOptions {
  /** The MLS group (created or joined), at its current epoch. The session owns it from now on. */
  readonly group: Group;
  readonly ports: { readonly clock: Clock; readonly channels: ChannelPort };
  readonly timing?: Partial<GroupSessionTiming>;
  /** Epochs whose states are kept as fork points (default 8). */
  readonly forkWindow?: number;
  /** Envelopes held for later epochs and from other branches (default 4096). */
  readonly bufferLimit?: number;
  /**
   * A fresh KeyPackage for a member to re-add after a fork (its one-time KeyPackage was used on
   * the losing branch). Wire it to the key-package directory; without it the old one is reused.
   */
  readonly freshKeyPackage?: (member: GroupMember) => KeyPackageInput | undefined;
  /**
   * Rejoining by external commit when we cannot follow the group (externalRejoin.ts): where to
   * fetch a GroupInfo, and who may take whose leaf. Without it, a leader's re-add is the fallback.
   */
  readonly rejoin?: ExternalRejoinOptions;
  /** Election state to resume from (a restart); default: term 0, the lowest leaf. */
  readonly election?: { readonly term: bigint; readonly leader: number };
  /**
   * The message ids a previous session of this group read (`GroupSession.seenMessages`), when
   * this one replaces it (re-added on another branch): messages sent again there are not read
   * twice.
   */
  readonly seen?: SeenMessages;
}
