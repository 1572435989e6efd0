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

/** Entries handed over at most per call: the rest come with the next call (the next sync). */
const BACKLOG_LIMIT = 10_000;
const PAGE_BYTES = 1024 * 1024;

/**
 * The log's entries from `epoch` on if the log holds the commit that ends `epoch` with its
 * ordering record (the session at `epoch` is behind the log), else none.
 */
export function logBacklog(log: CiphertextLog, groupId: Uint8Array, epoch: bigint): LogEntry[] {
  const commit = log.commitOf(groupId, epoch);
  if (commit?.orderingRecord === undefined) return [];
  const out: LogEntry[] = [];
  let cursor: LogCursor | undefined = { epoch, fromSeq: 0, commitDone: false };
  while (cursor !== undefined && out.length < BACKLOG_LIMIT) {
    const page = log.readPage(groupId, cursor, PAGE_BYTES, BACKLOG_LIMIT - out.length);
    out.push(...page.entries);
    cursor = page.next;
  }
  return out;
}
