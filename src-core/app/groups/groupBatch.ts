/**
 * A group's writes, batched. `GroupHub.persist` queues a write (a function filling a
 * transaction); `flushWrites` runs every write queued so far into one transaction, then saves the
 * group's MLS state as it stands and the group's meta, and commits.
 *
 * Why writes queued meanwhile share a batch: it keeps the stored state in step with the stored
 * messages. A session event (a message decrypted, a commit merged) changes the state in memory
 * and queues its write at once, so the state saved at the end of a batch holds the ratchet steps
 * of the writes in it and before it, and no other. Saving it with only the first of several would
 * store a state whose keys for the others are spent, and a crash before their batch would lose
 * those messages for good (the others' copies no longer decrypt). test/app/crashBurst.test.ts
 * lost messages this way before.
 *
 * Each write fills a transaction of its own, absorbed into the batch, so one that throws is
 * dropped alone. Reads do not see the batch's own writes; the message ledger remembers what it
 * wrote into unsettled transactions for that (an edit of a message in the same batch).
 */
import type { Session } from '../appContext.js';
import type { Transaction } from '../../store/index.js';
import type { GroupEntry, GroupHub } from './groupHub.js';
import { GROUP_META_NS, encodeGroupMeta } from './groupRecords.js';

/** A write queued for a group's next batch. */
export interface QueuedWrite {
  readonly fill: (tx: Transaction) => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
}

/** One batch: every queued write, then the state they leave, then the meta. Never throws. */
export async function flushWrites(hub: GroupHub, e: GroupEntry): Promise<void> {
  if (e.writes.length === 0) return;
  let s: Session;
  try {
    s = hub.session;
  } catch (err) {
    for (const w of e.writes.splice(0)) w.reject(err);
    return;
  }
  const tx = s.store.transaction();
  const batch: { write: QueuedWrite; out: unknown }[] = [];
  try {
    while (e.writes.length > 0) {
      const write = e.writes.shift()!;
      const piece = s.store.transaction();
      try {
        const out = await write.fill(piece);
        tx.absorb(piece);
        batch.push({ write, out });
      } catch (err) {
        if (piece.isOpen) piece.abort();
        write.reject(err);
      }
    }
    if (e.session?.isRunning === true) e.group = e.session.group;
    if (e.stored !== undefined && e.group !== undefined) {
      e.stored.save(tx, e.group.state);
      e.meta.epoch = Number(e.group.epoch);
    }
    s.store.namespace(GROUP_META_NS).put(tx, e.hex, encodeGroupMeta(e.meta));
    await tx.commit();
  } catch (err) {
    if (tx.isOpen) tx.abort();
    for (const b of batch) b.write.reject(err);
    console.error('app: a group write failed', err instanceof Error ? err.name : err);
    // The stored handle is stale after a failed batch: load it again from disk.
    if (e.stored !== undefined) {
      try {
        e.stored = await s.store.groups.load(e.id, { config: hub.config });
      } catch (loadErr) {
        const name = loadErr instanceof Error ? loadErr.name : loadErr;
        console.error('app: a group state did not load again', name);
      }
    }
    return;
  }
  for (const b of batch) b.write.resolve(b.out);
}
