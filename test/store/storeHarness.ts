/**
 * Test support for the store: temporary database folders (removed after), a raw view of a level
 * database's records, and a search of the raw files for a byte string.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { rawKeySource } from '../../src-core/store/index.js';
import type { DatabaseKeySource } from '../../src-core/store/index.js';

const made: string[] = [];

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-store-'));
  made.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

/** A fixed test key source (a raw key-encryption key). */
export function testKey(seed = 7): DatabaseKeySource {
  return rawKeySource(new Uint8Array(32).fill(seed));
}

/** Every record of a (closed) level database, hex key -> hex value, via level directly. */
export async function dumpLevel(path: string): Promise<Map<string, string>> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(path, {
    keyEncoding: 'view',
    valueEncoding: 'view',
    createIfMissing: false,
  });
  await db.open();
  const out = new Map<string, string>();
  for await (const [k, v] of db.iterator()) {
    out.set(Buffer.from(k).toString('hex'), Buffer.from(v).toString('hex'));
  }
  await db.close();
  return out;
}

/** Opens a level database directly (no store) to tamper with it. */
export async function withLevel<T>(
  path: string,
  fn: (db: ClassicLevel<Uint8Array, Uint8Array>) => Promise<T>,
): Promise<T> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(path, {
    keyEncoding: 'view',
    valueEncoding: 'view',
  });
  await db.open();
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** The files of a folder (recursively) that contain `needle`, by name. */
export async function filesContaining(dir: string, needle: Uint8Array): Promise<string[]> {
  const hits: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const bytes = await readFile(path);
    if (bytes.indexOf(Buffer.from(needle)) >= 0) hits.push(entry.name);
  }
  return hits;
}
