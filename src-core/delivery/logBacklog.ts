/**
 * What our own ciphertext log holds that the session has not used: the log keeps every ciphertext
 * that reached us (from the channel or a sync), but the session may have dropped some — envelopes
 * of later epochs held in memory and lost in a restart, a commit whose ordering record reached the
 * log only with a sync (a sync hands the session new entries only, and filling in a record does
 * not make the commit new). When the log holds the ordered commit of the session's epoch, the
 * session is behind its own log: the entries from that epoch on are handed to it again (in the
 * log's order: an epoch's proposals and messages, then its commit). Duplicates are the session's
 * to drop (MLS refuses a used generation; application ids are filtered).
 */
import type { CiphertextLog, LogCursor, LogEntry } from './ciphertextLog.js';
import { EntryKind } from './ciphertextLog.js';

/** Entries handed over at most per call: the rest come with the next call (the next sync). */
const BACKLOG_LIMIT = 10_000;
const PAGE_BYTES = 1024 * 1024;

/**
 * The log's entries the session at `epoch` may not have used: from `epoch` on if the log holds the
 * commit that ends `epoch` with its ordering record (the session is behind the log), and, when
 * `passedFrom` < `epoch` (a catch-up just moved the session on from there), the application
 * messages of the epochs it passed and of the one it reached: a sync hands over new entries only, so a message our log
 * already held (e.g. held in memory for a later epoch, then lost in a restart) would be skipped.
 */
export function logBacklog(
  log: CiphertextLog,
  groupId: Uint8Array,
  epoch: bigint,
  passedFrom: bigint = epoch,
): LogEntry[] {
  const ordered = log.commitOf(groupId, epoch)?.orderingRecord !== undefined;
  const passed = passedFrom < epoch;
  if (!ordered && !passed) return [];
  const start = passed ? passedFrom : epoch;
  const out: LogEntry[] = [];
  let cursor: LogCursor | undefined = { epoch: start, fromSeq: 0, commitDone: false };
  while (cursor !== undefined && out.length < BACKLOG_LIMIT) {
    const page = log.readPage(groupId, cursor, PAGE_BYTES, BACKLOG_LIMIT - out.length);
    for (const e of page.entries) {
      const passedMessage = passed && e.epoch <= epoch && e.kind === EntryKind.application;
      if (passedMessage || (ordered && e.epoch >= epoch)) out.push(e);
    }
    cursor = page.next;
    if (!ordered && cursor !== undefined && cursor.epoch > epoch) break;
  }
  return out;
}
