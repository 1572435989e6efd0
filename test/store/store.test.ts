import { spawn } from 'node:child_process';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  StoreError,
  openStore,
  passphraseKeySource,
  rawKeySource,
  wrappedKeySource,
} from '../../src-core/store/index.js';
import type { KeyWrapper, Store, StoreErrorCode } from '../../src-core/store/index.js';
import { HEADER_KEY } from '../../src-core/store/header.js';
import {
  dumpLevel,
  filesContaining,
  removeTempDirs,
  tempDir,
  testKey,
  withLevel,
} from './storeHarness.js';

afterAll(removeTempDirs);

const text = (s: string) => new TextEncoder().encode(s);
const untext = (b: Uint8Array) => new TextDecoder().decode(b);

async function expectCode(p: Promise<unknown>, code: StoreErrorCode): Promise<StoreError> {
  const e: unknown = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(StoreError);
  expect((e as StoreError).code).toBe(code);
  return e as StoreError;
}

async function fresh(): Promise<{ path: string; store: Store }> {
  const path = await tempDir();
  return { path, store: await openStore({ path, keySource: testKey() }) };
}

describe('store: open, unlock, round trip', () => {
  it('writes namespaces, logs and blobs and reads them back after reopening', async () => {
    const { path, store } = await fresh();
    const contacts = store.namespace('contacts');
    const log = await store.log('group-a');
    const chunk = text('chunk of an attachment');
    let hash: Uint8Array = new Uint8Array();
    await store.write((tx) => {
      contacts.put(tx, 'alice', text('Alice'));
      contacts.put(tx, 'bob', text('Bob'));
      for (let i = 0; i < 5; i++) log.append(tx, text(`message ${i}`));
      hash = store.blobs.put(tx, chunk);
    });
    await store.write((tx) => contacts.delete(tx, 'bob'));
    await store.close();
    await expectCode(contacts.get('alice'), 'closed');

    const again = await openStore({ path, keySource: testKey(), create: false });
    const c2 = again.namespace('contacts');
    expect(untext((await c2.get('alice'))!)).toBe('Alice');
    expect(await c2.get('bob')).toBeUndefined();
    await expectCode(c2.require('bob'), 'not_found');
    const names: string[] = [];
    for await (const [name] of c2.entries()) names.push(name);
    expect(names).toEqual(['alice']);
    // Another namespace with the same entry names is separate.
    expect(await again.namespace('other').get('alice')).toBeUndefined();

    const l2 = await again.log('group-a');
    expect(l2.nextSeq).toBe(6n);
    const first = await l2.page({ limit: 3 });
    expect(first.map((e) => [e.seq, untext(e.value)])).toEqual([
      [1n, 'message 0'],
      [2n, 'message 1'],
      [3n, 'message 2'],
    ]);
    const back = await l2.page({ direction: 'backward', from: 4n, limit: 2 });
    expect(back.map((e) => e.seq)).toEqual([4n, 3n]);
    const last = await l2.page({ direction: 'backward', limit: 1 });
    expect(last.map((e) => e.seq)).toEqual([5n]);
    await again.write((tx) => l2.deleteRange(tx, 2n, 4n));
    expect((await l2.page()).map((e) => e.seq)).toEqual([1n, 4n, 5n]);
    expect((await (await again.log('group-b')).page()).length).toBe(0);

    expect(untext((await again.blobs.get(hash))!)).toBe('chunk of an attachment');
    expect(await again.blobs.has(new Uint8Array(32))).toBe(false);
    await again.close();
  });

  it('a passphrase opens the database; a wrong one is wrong_passphrase and writes nothing', async () => {
    const path = await tempDir();
    const store = await openStore({
      path,
      keySource: passphraseKeySource('correct horse', { logN: 12 }),
    });
    await store.write((tx) => store.namespace('n').put(tx, 'k', text('v')));
    await store.close();
    const before = await dumpLevel(path);

    await expectCode(
      openStore({ path, keySource: passphraseKeySource('wrong horse', { logN: 12 }) }),
      'wrong_passphrase',
    );
    await expectCode(openStore({ path, keySource: testKey() }), 'wrong_key');
    expect(await dumpLevel(path)).toEqual(before);

    // Passphrases are NFKC-normalized: the composed and decomposed forms are the same.
    const p1 = await tempDir();
    const s1 = await openStore({
      path: p1,
      keySource: passphraseKeySource('caf\u00e9', { logN: 12 }),
    });
    await s1.close();
    const s2 = await openStore({
      path: p1,
      keySource: passphraseKeySource('cafe\u0301', { logN: 12 }),
    });
    await s2.close();
  });

  it('the default scrypt cost (N = 2^17) opens with the right passphrase only', async () => {
    const path = await tempDir();
    const store = await openStore({ path, keySource: passphraseKeySource('pw') });
    await store.close();
    await expectCode(openStore({ path, keySource: passphraseKeySource('pW') }), 'wrong_passphrase');
    await (await openStore({ path, keySource: passphraseKeySource('pw') })).close();
  });

  it('changing the key source rewrites the header only; the old passphrase stops working', async () => {
    const path = await tempDir();
    const store = await openStore({ path, keySource: passphraseKeySource('old', { logN: 12 }) });
    await store.write((tx) => store.namespace('n').put(tx, 'k', text('kept')));
    await store.changeKeySource(passphraseKeySource('new', { logN: 12 }));
    await store.close();
    await expectCode(
      openStore({ path, keySource: passphraseKeySource('old', { logN: 12 }) }),
      'wrong_passphrase',
    );
    const again = await openStore({ path, keySource: passphraseKeySource('new', { logN: 12 }) });
    expect(untext((await again.namespace('n').get('k'))!)).toBe('kept');
    await again.close();
  });

  it('an OS-keychain wrapper: a wrapper that cannot unwrap or unwraps garbage is wrong_key', async () => {
    // A stand-in keychain that really encrypts (raw XChaCha under its own secret), as
    // safeStorage does; a second "machine" has another secret.
    const keychain = (seed: number): KeyWrapper => {
      const inner = rawKeySource(new Uint8Array(32).fill(seed));
      const ctx = new Uint8Array(0);
      return {
        name: 'test-keychain',
        wrap: async (key) => (await inner.seal(key, ctx)).sealed,
        unwrap: (wrapped) =>
          inner.unseal({ kind: 'raw', params: new Uint8Array(0), sealed: wrapped }, ctx),
      };
    };
    const path = await tempDir();
    const store = await openStore({ path, keySource: wrappedKeySource(keychain(1)) });
    await store.write((tx) => store.namespace('n').put(tx, 'k', text('v')));
    await store.close();
    await expectCode(openStore({ path, keySource: wrappedKeySource(keychain(2)) }), 'wrong_key');
    // A keychain that does not authenticate and returns the wrong 32 bytes: the header MAC says so.
    const garbage: KeyWrapper = {
      name: 'test-keychain',
      wrap: () => Promise.resolve(new Uint8Array(32)),
      unwrap: () => Promise.resolve(new Uint8Array(32).fill(9)),
    };
    await expectCode(openStore({ path, keySource: wrappedKeySource(garbage) }), 'wrong_key');
    const again = await openStore({ path, keySource: wrappedKeySource(keychain(1)) });
    expect(untext((await again.namespace('n').get('k'))!)).toBe('v');
    await again.close();
  });
});

describe('store: hostile or broken files', () => {
  it('a tampered value is corrupt_record; nothing is overwritten', async () => {
    const { path, store } = await fresh();
    const ns = store.namespace('n');
    await store.write((tx) => ns.put(tx, 'k', text('value')));
    const key = ns.recordKey('k');
    await store.close();
    await withLevel(path, async (db) => {
      const v = (await db.get(key))!;
      v[v.length - 20]! ^= 1;
      await db.put(key, v);
    });
    const before = await dumpLevel(path);
    const again = await openStore({ path, keySource: testKey() });
    await expectCode(again.namespace('n').get('k'), 'corrupt_record');
    const all = again.namespace('n').entries();
    await expectCode(all.next(), 'corrupt_record');
    await again.close();
    expect(await dumpLevel(path)).toEqual(before);
  });

  it('values swapped between two keys (or two log positions) do not authenticate', async () => {
    const { path, store } = await fresh();
    const ns = store.namespace('n');
    const log = await store.log('g');
    await store.write((tx) => {
      ns.put(tx, 'a', text('for a'));
      ns.put(tx, 'b', text('for b'));
      log.append(tx, text('first'));
      log.append(tx, text('second'));
    });
    const [ka, kb] = [ns.recordKey('a'), ns.recordKey('b')];
    const page = await log.page();
    expect(page.length).toBe(2);
    await store.close();
    await withLevel(path, async (db) => {
      const [va, vb] = [(await db.get(ka))!, (await db.get(kb))!];
      await db.batch([
        { type: 'put', key: ka, value: vb },
        { type: 'put', key: kb, value: va },
      ]);
      const logKeys = await db.keys({ gte: Uint8Array.of(2), lt: Uint8Array.of(3) }).all();
      expect(logKeys.length).toBe(2);
      const [l1, l2] = [(await db.get(logKeys[0]!))!, (await db.get(logKeys[1]!))!];
      await db.batch([
        { type: 'put', key: logKeys[0]!, value: l2 },
        { type: 'put', key: logKeys[1]!, value: l1 },
      ]);
    });
    const again = await openStore({ path, keySource: testKey() });
    await expectCode(again.namespace('n').get('a'), 'corrupt_record');
    await expectCode(again.namespace('n').get('b'), 'corrupt_record');
    await expectCode((await again.log('g')).page(), 'corrupt_record');
    await again.close();
  });

  it('a level database without our header is foreign_database, and stays untouched', async () => {
    const path = await tempDir();
    await withLevel(path, (db) => db.put(text('someone'), text('else')));
    const before = await dumpLevel(path);
    await expectCode(openStore({ path, keySource: testKey() }), 'foreign_database');
    // A header key holding something that is not our header.
    await withLevel(path, (db) => db.put(HEADER_KEY, text('not a parley header at all')));
    await expectCode(openStore({ path, keySource: testKey() }), 'foreign_database');
    await withLevel(path, (db) => db.del(HEADER_KEY));
    expect(await dumpLevel(path)).toEqual(before);
  });

  it('files that are not a level database are damaged; an absent one is not_found with create: false', async () => {
    const { path, store } = await fresh();
    await store.close();
    const manifest = (await readdir(path)).find((f) => f.startsWith('MANIFEST-'))!;
    const good = await readFile(join(path, manifest));
    // CURRENT names a manifest that does not exist.
    await writeFile(join(path, 'CURRENT'), 'MANIFEST-999999\n');
    await expectCode(openStore({ path, keySource: testKey() }), 'damaged');
    // CURRENT is not even well-formed.
    await writeFile(join(path, 'CURRENT'), 'garbage');
    await expectCode(openStore({ path, keySource: testKey() }), 'damaged');
    // The manifest itself is overwritten.
    await writeFile(join(path, 'CURRENT'), `${manifest}\n`);
    const broken = Buffer.from(good);
    broken.fill(0x41, 0, Math.min(40, broken.length));
    await writeFile(join(path, manifest), broken);
    await expectCode(openStore({ path, keySource: testKey() }), 'damaged');
    // Restored, it opens: nothing was overwritten by the failed opens.
    await writeFile(join(path, manifest), good);
    await (await openStore({ path, keySource: testKey() })).close();
    await expectCode(
      openStore({ path: join(path, 'nothing'), keySource: testKey(), create: false }),
      'not_found',
    );
  });

  it('a header whose MAC fails (schema version edited without the key) is damaged', async () => {
    const { path, store } = await fresh();
    await store.close();
    await withLevel(path, async (db) => {
      const h = (await db.get(HEADER_KEY))!;
      h[10 + 16 + 3]! ^= 0x01; // the low byte of schema_version
      await db.put(HEADER_KEY, h);
    });
    await expectCode(openStore({ path, keySource: testKey() }), 'damaged');
  });

  it('a newer schema or header version is newer_schema, and nothing is written', async () => {
    const path = await tempDir();
    const store = await openStore({
      path,
      keySource: testKey(),
      schema: { version: 3, migrations: [] },
    });
    await store.close();
    const before = await dumpLevel(path);
    await expectCode(
      openStore({ path, keySource: testKey(), schema: { version: 2 } }),
      'newer_schema',
    );
    expect(await dumpLevel(path)).toEqual(before);
    await withLevel(path, async (db) => {
      const h = (await db.get(HEADER_KEY))!;
      h[9] = 2; // header_version 2
      await db.put(HEADER_KEY, h);
    });
    await expectCode(
      openStore({ path, keySource: testKey(), schema: { version: 3 } }),
      'newer_schema',
    );
  });

  it('a database open in another process is locked', async () => {
    const { path, store } = await fresh();
    await store.close();
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "import { ClassicLevel } from 'classic-level'; const db = new ClassicLevel(process.argv[1]); await db.open(); console.log('open'); setInterval(() => {}, 1000);",
        path,
      ],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) =>
          d.toString().includes('open') ? resolve() : undefined,
        );
        child.on('exit', (code) => reject(new Error(`holder exited ${code}`)));
      });
      await expectCode(openStore({ path, keySource: testKey() }), 'locked');
    } finally {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;
    }
    // In this process too: a second handle on an open database.
    const first = await openStore({ path, keySource: testKey() });
    await expectCode(openStore({ path, keySource: testKey() }), 'locked');
    await first.close();
  });

  it('no plaintext of names, keys or values appears in the files (and the search can find it)', async () => {
    const marker = 'MARKER-7f3a9c-plaintext';
    const { path, store } = await fresh();
    const ns = store.namespace(`ns-${marker}`);
    const log = await store.log(`owner-${marker}`);
    await store.write((tx) => {
      for (let i = 0; i < 50; i++) ns.put(tx, `${marker}-${i}`, text(`${marker} value ${i}`));
      for (let i = 0; i < 50; i++) log.append(tx, text(`${marker} message ${i}`));
      store.blobs.put(tx, text(`${marker} blob`));
    });
    await store.close();
    // Reopen and compact, so the data sits in table files as well as the log.
    const again = await openStore({ path, keySource: testKey() });
    await again.db.compactRange(Uint8Array.of(0), Uint8Array.of(0xff));
    await again.close();
    expect(await filesContaining(path, text(marker))).toEqual([]);

    const control = await tempDir();
    await withLevel(control, (db) => db.put(text('k'), text(`${marker} value`)));
    expect((await filesContaining(control, text(marker))).length).toBeGreaterThan(0);
  });
});
