import { afterAll, describe, expect, it } from 'vitest';
import { StoreError, openStore } from '../../src-core/store/index.js';
import type { Migration, Store, StoreErrorCode } from '../../src-core/store/index.js';
import { dumpLevel, removeTempDirs, tempDir, testKey } from './storeHarness.js';

afterAll(removeTempDirs);

const text = (s: string) => new TextEncoder().encode(s);
const untext = (b: Uint8Array) => new TextDecoder().decode(b);

// Schema 1 stored a contact as {"name": ...}; schema 2 as {"displayName", "verification"}.
interface ContactV1 {
  name: string;
}
interface ContactV2 {
  displayName: string;
  verification: 'unverified' | 'verified';
}

const contactsV1toV2: Migration<Store> = {
  from: 1,
  description: 'contacts: name -> displayName, add verification state',
  async run(store, tx) {
    const contacts = store.namespace('contacts');
    for await (const [id, value] of contacts.entries()) {
      const old = JSON.parse(untext(value)) as ContactV1;
      const next: ContactV2 = { displayName: old.name, verification: 'unverified' };
      contacts.put(tx, id, text(JSON.stringify(next)));
    }
  },
};

async function expectCode(p: Promise<unknown>, code: StoreErrorCode): Promise<void> {
  const e: unknown = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(StoreError);
  expect((e as StoreError).code).toBe(code);
}

async function schemaV1(path: string): Promise<void> {
  const store = await openStore({ path, keySource: testKey(), schema: { version: 1 } });
  const contacts = store.namespace('contacts');
  await store.write((tx) => {
    for (let i = 0; i < 300; i++)
      contacts.put(tx, `c${i}`, text(JSON.stringify({ name: `Person ${i}` })));
  });
  await store.close();
}

describe('schema migrations', () => {
  it('migrates contacts v1 -> v2 on a real database, in one batch with the header', async () => {
    const path = await tempDir();
    await schemaV1(path);
    const store = await openStore({
      path,
      keySource: testKey(),
      schema: { version: 2, migrations: [contactsV1toV2] },
    });
    expect(store.schemaVersion).toBe(2);
    const got = JSON.parse(untext((await store.namespace('contacts').get('c42'))!)) as ContactV2;
    expect(got).toEqual({ displayName: 'Person 42', verification: 'unverified' });
    let n = 0;
    for await (const [, v] of store.namespace('contacts').entries()) {
      expect(Object.keys(JSON.parse(untext(v)) as object).sort()).toEqual([
        'displayName',
        'verification',
      ]);
      n++;
    }
    expect(n).toBe(300);
    await store.close();

    // Reopened at version 2 it is not migrated again; an older build refuses it.
    const again = await openStore({
      path,
      keySource: testKey(),
      schema: { version: 2, migrations: [contactsV1toV2] },
    });
    expect(again.schemaVersion).toBe(2);
    await again.close();
    await expectCode(
      openStore({ path, keySource: testKey(), schema: { version: 1 } }),
      'newer_schema',
    );
  });

  it('a migration that fails midway leaves schema 1 and every record as it was', async () => {
    const path = await tempDir();
    await schemaV1(path);
    const before = await dumpLevel(path);
    let seen = 0;
    const failing: Migration<Store> = {
      from: 1,
      description: 'fails after rewriting some records',
      async run(store, tx) {
        await contactsV1toV2.run(store, tx);
        for await (const entry of store.namespace('contacts').entries()) {
          void entry;
          if (++seen === 100) throw new Error('migration bug');
        }
      },
    };
    const e: unknown = await openStore({
      path,
      keySource: testKey(),
      schema: { version: 2, migrations: [failing] },
    }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(StoreError);
    expect((e as StoreError).code).toBe('migration_failed');
    expect(((e as StoreError).cause as Error).message).toBe('migration bug');
    expect(seen).toBe(100);
    expect(await dumpLevel(path)).toEqual(before);
    const v1 = await openStore({ path, keySource: testKey(), schema: { version: 1 } });
    expect(v1.schemaVersion).toBe(1);
    expect(JSON.parse(untext((await v1.namespace('contacts').get('c7'))!))).toEqual({
      name: 'Person 7',
    });
    await v1.close();
  });

  it('a missing step refuses to open and writes nothing', async () => {
    const path = await tempDir();
    await schemaV1(path);
    const before = await dumpLevel(path);
    const v2to3: Migration<Store> = { from: 2, description: 'later', run: () => Promise.resolve() };
    await expectCode(
      openStore({ path, keySource: testKey(), schema: { version: 3, migrations: [v2to3] } }),
      'invalid_argument',
    );
    expect(await dumpLevel(path)).toEqual(before);
    // With both steps it goes to 3, each step its own batch.
    const store = await openStore({
      path,
      keySource: testKey(),
      schema: { version: 3, migrations: [v2to3, contactsV1toV2] },
    });
    expect(store.schemaVersion).toBe(3);
    await store.close();
  });
});
