import { afterAll, describe, expect, it } from 'vitest';
import { CIPHERTEXT_LOG_NS, StoreLogStore } from '../../src-core/app/groups/ciphertextLogStore.js';
import { CiphertextLog, EntryKind } from '../../src-core/delivery/ciphertextLog.js';
import { openStore } from '../../src-core/store/index.js';
import { filesContaining, removeTempDirs, tempDir, testKey } from '../store/storeHarness.js';

afterAll(removeTempDirs);

const group = new Uint8Array(32).fill(0xab);

function message(i: number): Uint8Array {
  // Opaque to the log: it never parses what it keeps.
  const m = new Uint8Array(64).fill(i);
  m.set(new TextEncoder().encode(`ciphertext-${i}`), 0);
  return m;
}

describe('StoreLogStore: the ciphertext log on the encrypted store', () => {
  it('keeps entries, commits and ordering records across a reopen; deletes as the log says', async () => {
    const path = await tempDir();
    let store = await openStore({ path, keySource: testKey() });
    let log = await CiphertextLog.open(new StoreLogStore(store), { now: () => 1_000 });
    await log.appendBatch(group, [
      { kind: EntryKind.application, epoch: 3n, message: message(1) },
      { kind: EntryKind.proposal, epoch: 3n, message: message(2) },
      { kind: EntryKind.commit, epoch: 3n, message: message(3), orderingRecord: message(4) },
      { kind: EntryKind.application, epoch: 4n, message: message(5) },
    ]);
    const before = log.head(group)!;
    await store.close();

    store = await openStore({ path, keySource: testKey() });
    const logStore = new StoreLogStore(store);
    log = await CiphertextLog.open(logStore, { now: () => 1_000 });
    expect(log.skippedOnLoad).toBe(0);
    expect(logStore.skipped).toBe(0);
    expect(log.size(group)).toBe(4);
    expect(log.head(group)).toEqual(before);
    const page = log.readPage(group, { epoch: 3n, fromSeq: 0, commitDone: false }, 1 << 20);
    expect(page.entries.map((e) => e.message[63])).toEqual([1, 2, 3, 5]);
    expect(page.entries[2]!.orderingRecord).toEqual(message(4));

    // Nothing readable on disk: names and contents are encrypted.
    expect(await filesContaining(path, new TextEncoder().encode('ciphertext-1'))).toEqual([]);

    await log.dropGroup(group);
    await store.close();
    store = await openStore({ path, keySource: testKey() });
    log = await CiphertextLog.open(new StoreLogStore(store), { now: () => 1_000 });
    expect(log.size(group)).toBe(0);
    await store.close();
  });

  it('skips stored names that are not <group hex>/<id hex>, and values the log cannot read', async () => {
    const path = await tempDir();
    const store = await openStore({ path, keySource: testKey() });
    const ns = store.namespace(CIPHERTEXT_LOG_NS);
    await store.write((tx) => {
      ns.put(tx, 'not-hex/00', new Uint8Array([1]));
      ns.put(tx, 'abc/00', new Uint8Array([1])); // odd length
      ns.put(tx, `${'ab'.repeat(32)}/${'cd'.repeat(32)}`, new Uint8Array([9, 9, 9]));
    });
    const logStore = new StoreLogStore(store);
    const log = await CiphertextLog.open(logStore);
    expect(logStore.skipped).toBe(2);
    expect(log.skippedOnLoad).toBe(1);
    expect(log.size(group)).toBe(0);
    await store.close();
  });
});
