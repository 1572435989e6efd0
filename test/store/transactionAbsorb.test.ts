/**
 * Transaction.absorb: pieces filled separately become one batch (the app's group writes use it so
 * a piece that throws is dropped alone). What an absorbed piece queued is written with the batch,
 * its hooks run with the batch's outcome, an aborted piece leaves nothing, and a piece of another
 * store or a closed one is refused.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { StoreError, openStore } from '../../src-core/store/index.js';
import { removeTempDirs, tempDir, testKey } from './storeHarness.js';

afterAll(removeTempDirs);

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : new TextDecoder().decode(b);

describe('Transaction.absorb', () => {
  it('writes absorbed pieces in one batch, runs their hooks, drops aborted ones', async () => {
    const store = await openStore({ path: await tempDir(), keySource: testKey() });
    const other = await openStore({ path: await tempDir(), keySource: testKey() });
    try {
      const ns = store.namespace('t');
      const log = await store.log('l');
      const batch = store.transaction();
      const events: string[] = [];

      const a = store.transaction();
      ns.put(a, 'x', bytes('1'));
      log.append(a, bytes('first'));
      a.onCommit(() => events.push('a committed'));
      batch.absorb(a);
      expect(a.isOpen).toBe(false);
      expect(() => ns.put(a, 'y', bytes('late'))).toThrow(StoreError);

      const dropped = store.transaction();
      ns.put(dropped, 'z', bytes('never'));
      dropped.onAbort(() => events.push('dropped aborted'));
      dropped.abort();

      const b = store.transaction();
      ns.put(b, 'x', bytes('2')); // the later write of a key wins
      log.append(b, bytes('second'));
      b.onCommit(() => events.push('b committed'));
      batch.absorb(b);

      const foreign = other.transaction();
      expect(() => batch.absorb(foreign)).toThrow(StoreError);
      foreign.abort();
      expect(() => batch.absorb(a)).toThrow(StoreError); // closed

      expect(await ns.get('x')).toBeUndefined(); // nothing before the commit
      await batch.commit();
      expect(text(await ns.get('x'))).toBe('2');
      expect(await ns.get('z')).toBeUndefined();
      expect((await log.page({ limit: 10 })).map((e) => text(e.value))).toEqual([
        'first',
        'second',
      ]);
      expect(events).toEqual(['dropped aborted', 'a committed', 'b committed']);
    } finally {
      await store.close();
      await other.close();
    }
  });

  it('an aborted batch runs the abort hooks of the pieces it absorbed', async () => {
    const store = await openStore({ path: await tempDir(), keySource: testKey() });
    try {
      const batch = store.transaction();
      const piece = store.transaction();
      let aborted = false;
      store.namespace('t').put(piece, 'x', bytes('1'));
      piece.onAbort(() => (aborted = true));
      batch.absorb(piece);
      batch.abort();
      expect(aborted).toBe(true);
      expect(await store.namespace('t').get('x')).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});
