/**
 * Disappearing messages (`disappearAfterMs`): a group's messages that arrived before the cutoff
 * are deleted oldest first, a batch at a time, each batch in one transaction with the group's
 * state (the caller's `persist`): the stored message (its text, reply link, reactions), its id
 * index entry, and for an attachment its stored manifest (which holds the file key) and every
 * sealed chunk blob, unless another live message (of any group) carries the same manifest
 * (attachmentRefs.ts): then only this message's reference goes. Search scans the stored messages (messagesService.ts), so a deleted message
 * is gone from search in the same transaction; there is no separate search index to leave
 * behind.
 *
 * Arrival time, not the sender's `sentAt`: the sender's clock is its claim, and arrival order is
 * the log's order, so the oldest messages are always at the front and a batch is one range.
 */
import type { Store, Transaction } from '../../store/index.js';
import type { AttachmentManifest } from '../content/index.js';
import { attachmentIdOf } from './attachmentCrypto.js';
import { attachmentRefs, refName } from './attachmentRefs.js';
import { MESSAGE_INDEX_NS, decodeStoredMessage, messageLogName } from './groupRecords.js';
import type { StoredMessage } from './groupRecords.js';
import { hexOf } from './messageLedger.js';

/** Messages deleted per transaction at most (a transaction also holds their chunks). */
export const EXPIRE_BATCH = 200;

/** Whether the group's oldest stored message arrived before `cutoffMs` (no write needed if not). */
export async function anyExpired(
  store: Store,
  groupHex: string,
  cutoffMs: number,
): Promise<boolean> {
  const log = await store.log(messageLogName(groupHex));
  const [first] = await log.page({ direction: 'forward', limit: 1 });
  return first !== undefined && decodeStoredMessage(first.value).receivedAtMs < cutoffMs;
}

/**
 * Deletes (into `tx`) up to `limit` of the group's oldest messages that arrived before
 * `cutoffMs`, with everything stored for them. Returns the deleted messages (for events).
 */
export async function expireMessages(
  store: Store,
  groupHex: string,
  tx: Transaction,
  cutoffMs: number,
  limit = EXPIRE_BATCH,
): Promise<StoredMessage[]> {
  const log = await store.log(messageLogName(groupHex));
  const index = store.namespace(MESSAGE_INDEX_NS);
  const entries = await log.page({ direction: 'forward', limit });
  const refs = attachmentRefs(store);
  const carried = new Map<string, AttachmentManifest>();
  const gone: StoredMessage[] = [];
  for (const entry of entries) {
    const m = decodeStoredMessage(entry.value);
    if (m.receivedAtMs >= cutoffMs) break;
    const messageHex = hexOf(m.messageId);
    index.delete(tx, `${groupHex}/${messageHex}`);
    if (m.attachment !== undefined) {
      const id = attachmentIdOf(m.attachment);
      refs.drop(tx, id, refName(groupHex, messageHex));
      carried.set(id, m.attachment);
    }
    gone.push(m);
  }
  // Another live message (this group or another) carrying the same manifest keeps it.
  for (const [id, manifest] of carried) await refs.release(tx, id, manifest);
  if (gone.length > 0) {
    const first = entries[0]!.seq;
    await log.deleteRange(tx, first, entries[gone.length - 1]!.seq + 1n);
  }
  return gone;
}
