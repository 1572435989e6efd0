import { describe, expect, it } from 'vitest';
import type { AppContent, AttachmentManifest } from '../../src-core/app/content/index.js';
import { chunkHash } from '../../src-core/app/content/index.js';
import { attachmentIdOf } from '../../src-core/app/groups/attachmentCrypto.js';
import { anyExpired, expireMessages } from '../../src-core/app/groups/disappearing.js';
import { ATTACHMENTS_NS } from '../../src-core/app/groups/groupRecords.js';
import { MessageLedger } from '../../src-core/app/groups/messageLedger.js';
import type { Store } from '../../src-core/store/index.js';
import { fileContent, storedFile, textContent, useTempStore } from './support/expiryStore.js';

const open = useTempStore('parley-disappear-');
const G1 = '11'.repeat(32);
const G2 = '22'.repeat(32);
const text = (t: string): AppContent => textContent(t);
const file = (m: AttachmentManifest): AppContent => fileContent(m, 'file');

async function chunksHeld(s: Store, m: AttachmentManifest): Promise<boolean[]> {
  return Promise.all([0, 1].map((i) => s.blobs.has(chunkHash(m, i))));
}

describe('disappearing messages in the store', () => {
  it('one transaction: message, index, attachment record and chunks go together or not at all', async () => {
    const s = await open();
    const l1 = await MessageLedger.open(s, G1);
    const manifest = await storedFile(s);
    const old = text('old');
    const withFile = file(manifest);
    const fresh = text('fresh');
    await s.write((tx) => l1.apply(tx, 'bob', false, old, 100));
    await s.write((tx) => l1.apply(tx, 'bob', false, withFile, 150));
    await s.write((tx) => l1.apply(tx, 'bob', false, fresh, 300));
    const attachments = s.namespace(ATTACHMENTS_NS);
    const attachmentId = attachmentIdOf(manifest);
    expect(await attachments.get(attachmentId)).toBeDefined();
    expect(await anyExpired(s, G1, 100)).toBe(false);
    expect(await anyExpired(s, G1, 200)).toBe(true);

    // Aborted: nothing is gone.
    const tx = s.transaction();
    const gone = await expireMessages(s, G1, tx, 200);
    expect(gone.map((m) => m.text)).toEqual(['old', 'file']);
    tx.abort();
    expect(await l1.find(old.messageId)).toBeDefined();
    expect(await l1.find(withFile.messageId)).toBeDefined();
    expect(await attachments.get(attachmentId)).toBeDefined();
    expect(await chunksHeld(s, manifest)).toEqual([true, true]);

    // Committed: all of it is gone, the fresh message stays.
    await s.write((t) => expireMessages(s, G1, t, 200));
    expect(await l1.find(old.messageId)).toBeUndefined();
    expect(await l1.find(withFile.messageId)).toBeUndefined();
    expect((await l1.page(undefined, 10)).map((x) => x.message.text)).toEqual(['fresh']);
    expect(await attachments.get(attachmentId)).toBeUndefined();
    expect(await chunksHeld(s, manifest)).toEqual([false, false]);
    expect(await anyExpired(s, G1, 200)).toBe(false);
  });

  it("batches, and leaves another group's copy of an attachment alone", async () => {
    const s = await open();
    const l1 = await MessageLedger.open(s, G1);
    const l2 = await MessageLedger.open(s, G2);
    const manifest = await storedFile(s);
    for (let i = 0; i < 5; i++) await s.write((tx) => l1.apply(tx, 'bob', false, text(`m${i}`), i));
    await s.write((tx) => l1.apply(tx, 'bob', false, file(manifest), 10));
    // The same manifest stored by group 2 afterwards: the record now names group 2.
    await s.write((tx) => l2.apply(tx, 'carol', false, file(manifest), 20));
    const first = await s.write((tx) => expireMessages(s, G1, tx, 1_000, 2));
    expect(first.map((m) => m.text)).toEqual(['m0', 'm1']);
    while (await anyExpired(s, G1, 1_000))
      await s.write((tx) => expireMessages(s, G1, tx, 1_000, 2));
    expect(await l1.page(undefined, 10)).toEqual([]);
    expect(await s.namespace(ATTACHMENTS_NS).get(attachmentIdOf(manifest))).toBeDefined();
    expect(await chunksHeld(s, manifest)).toEqual([true, true]);
    expect((await l2.page(undefined, 10)).length).toBe(1);
  });
});
