/**
 * After a lost fork our ciphertext log still holds the losing branch: its commit at the fork
 * epoch and everything of the epochs after it. Kept, it would be served to members catching up
 * (more fork evidence, a branch nobody follows) and handed again to our own session (logBacklog),
 * and the log refuses the winning branch's commits for those epochs as conflicts, so it could
 * never relay them. Dropped here; the caller then catches up from the fork epoch to refill it.
 *
 * The fork epoch's proposals and application messages stay: they were sent under that epoch's
 * keys, which both branches share (the branches differ from its commit on). The commit held at
 * the fork epoch is dropped whichever branch it is of: the winner's comes back with the catch-up.
 */
import type { CiphertextLog } from '../../delivery/ciphertextLog.js';
import type { GroupSession } from '../../delivery/groupSession.js';

/** Drops the losing branch from the fork epoch on; resolves with how many entries went. */
export async function dropLostBranch(
  log: CiphertextLog,
  groupId: Uint8Array,
  forkEpoch: bigint,
): Promise<number> {
  const commit = log.commitOf(groupId, forkEpoch);
  const dropped = commit === undefined ? 0 : await log.remove(groupId, [commit.messageId]);
  return dropped + (await log.truncateFrom(groupId, forkEpoch + 1n));
}

/**
 * On each fork the session lost, drops the losing branch from `log` and then calls `refill` with
 * the fork epoch (a catch-up from there). A store failure is reported to `failed`.
 */
export function followLostForks(
  session: GroupSession,
  log: () => CiphertextLog | undefined,
  groupId: Uint8Array,
  refill: (forkEpoch: bigint) => void,
  failed: (err: unknown) => void,
): () => void {
  return session.on('fork', (f) => {
    const l = log();
    if (f.won || l === undefined) return;
    dropLostBranch(l, groupId, f.forkEpoch).then(() => refill(f.forkEpoch), failed);
  });
}
