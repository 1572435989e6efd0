import { describe, expect, it } from 'vitest';
import type { AppContent, AttachmentManifest } from '../../src-core/app/content/index.js';
import { ContentType, chunkHash } from '../../src-core/app/content/index.js';
import { attachmentIdOf } from '../../src-core/app/groups/attachmentCrypto.js';
import { attachmentRefs } from '../../src-core/app/groups/attachmentRefs.js';
import { expireMessages } from '../../src-core/app/groups/disappearing.js';
import { ATTACHMENTS_NS } from '../../src-core/app/groups/groupRecords.js';
import { MessageLedger } from '../../src-core/app/groups/messageLedger.js';
import type { Store } from '../../src-core/store/index.js';
import { fileContent, messageId, storedFile, useTempStore } from './support/expiryStore.js';

const open = useTempStore('parley-attach-refs-');
const G1 = '11'.repeat(32);
const G2 = '22'.repeat(32);
const file = (m: AttachmentManifest): AppContent => fileContent(m);
const deletion = (ref: Uint8Array): AppContent => ({
  messageId: messageId(),
  sentAtMs: 2n,
  body: { type: ContentType.delete, ref },
});

/** Whether the record (file key) and each chunk are still stored. */
async function held(s: Store, m: AttachmentManifest): Promise<[boolean, boolean, boolean]> {
  const record = (await s.namespace(ATTACHMENTS_NS).get(attachmentIdOf(m))) !== undefined;
  const [a, b] = await Promise.all([0, 1].map((i) => s.blobs.has(chunkHash(m, i))));
  return [record, a!, b!];
}

describe('an attachment carried by several messages', () => {
  it('sent twice in one group: the first expiring keeps record and chunks, the last frees them', async () => {
    const s = await open();
    const l = await MessageLedger.open(s, G1);
    const m = await storedFile(s);
    await s.write((tx) => l.apply(tx, 'bob', false, file(m), 100));
    await s.write((tx) => l.apply(tx, 'bob', false, file(m), 300));

    const first = await s.write((tx) => expireMessages(s, G1, tx, 200));
    expect(first.length).toBe(1);
    expect(await held(s, m)).toEqual([true, true, true]);

    const second = await s.write((tx) => expireMessages(s, G1, tx, 400));
    expect(second.length).toBe(1);
    expect(await held(s, m)).toEqual([false, false, false]);
  });

  it('both copies expiring in one batch free it once; a copy in another group keeps it', async () => {
    const s = await open();
    const l1 = await MessageLedger.open(s, G1);
    const l2 = await MessageLedger.open(s, G2);
    const m = await storedFile(s);
    await s.write((tx) => l1.apply(tx, 'bob', false, file(m), 100));
    await s.write((tx) => l1.apply(tx, 'bob', false, file(m), 110));
    // Group 2 first, so the record names group 1 last: the reference, not the record, decides.
    await s.write((tx) => l2.apply(tx, 'carol', false, file(m), 50));
    await s.write((tx) => l1.apply(tx, 'bob', false, file(m), 120));
    expect((await s.write((tx) => expireMessages(s, G1, tx, 1_000))).length).toBe(3);
    expect(await held(s, m)).toEqual([true, true, true]);
    const refs = attachmentRefs(s);
    const id = attachmentIdOf(m);
    // The record names group 1 (stored last), yet group 2 still carries it (attachments.fetch).
    expect([await refs.carriedIn(id, G1), await refs.carriedIn(id, G2)]).toEqual([false, true]);
    expect((await s.write((tx) => expireMessages(s, G2, tx, 1_000))).length).toBe(1);
    expect(await refs.carriedIn(id, G2)).toBe(false);
    expect(await held(s, m)).toEqual([false, false, false]);
  });

  it('a reference added by a transaction not committed yet keeps the chunks', async () => {
    const s = await open();
    const l1 = await MessageLedger.open(s, G1);
    const l2 = await MessageLedger.open(s, G2);
    const m = await storedFile(s);
    await s.write((tx) => l1.apply(tx, 'bob', false, file(m), 100));
    const open2 = s.transaction();
    await l2.apply(open2, 'carol', false, file(m), 150);
    await s.write((tx) => expireMessages(s, G1, tx, 200));
    expect(await held(s, m)).toEqual([true, true, true]);
    await open2.commit();
    expect((await l2.page(undefined, 5)).length).toBe(1);
  });

  it('a delete for everyone frees the file key and chunks unless another message has them', async () => {
    const s = await open();
    const l = await MessageLedger.open(s, G1);
    const m = await storedFile(s);
    const a = file(m);
    const b = file(m);
    await s.write((tx) => l.apply(tx, 'bob', false, a, 100));
    await s.write((tx) => l.apply(tx, 'bob', false, b, 110));
    expect(
      (await s.write((tx) => l.apply(tx, 'bob', false, deletion(a.messageId), 120))).kind,
    ).toBe('deleted');
    expect(await held(s, m)).toEqual([true, true, true]);
    await s.write((tx) => l.apply(tx, 'bob', false, deletion(b.messageId), 130));
    expect(await held(s, m)).toEqual([false, false, false]);
    // The deleted messages stay as tombstones; their expiry has nothing more to free.
    expect((await s.write((tx) => expireMessages(s, G1, tx, 1_000))).length).toBe(2);
  });

  it('an aborted expiry changes nothing, and tells no listener', async () => {
    const s = await open();
    const l = await MessageLedger.open(s, G1);
    const m = await storedFile(s);
    await s.write((tx) => l.apply(tx, 'bob', false, file(m), 100));
    const heard: string[] = [];
    const off = attachmentRefs(s).onCollected((x) => heard.push(x));
    const tx = s.transaction();
    await expireMessages(s, G1, tx, 200);
    expect(attachmentRefs(s).isCollecting(attachmentIdOf(m))).toBe(true);
    tx.abort();
    expect(attachmentRefs(s).isCollecting(attachmentIdOf(m))).toBe(false);
    expect(heard).toEqual([]);
    expect(await held(s, m)).toEqual([true, true, true]);
    await s.write((t) => expireMessages(s, G1, t, 200));
    expect(heard).toEqual([attachmentIdOf(m)]);
    expect(await held(s, m)).toEqual([false, false, false]);
    off();
  });
});
