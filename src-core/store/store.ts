/**
 * Opening a profile's database: level (classic-level) in one folder, a plaintext header that
 * holds the sealed database key, and typed stores on top (namespaces, ordered logs, blobs,
 * MLS group states) that share one transaction type.
 *
 * Opening never writes unless it creates a database or runs a migration: a wrong passphrase, a
 * foreign or damaged database, or a newer schema is reported before anything is written.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ClassicLevel } from 'classic-level';
import { BlobStore } from './blobStore.js';
import type { StoreCore } from './core.js';
import type { DatabaseKeys } from './databaseKeys.js';
import { deriveDatabaseKeys, wipeDatabaseKeys } from './databaseKeys.js';
import { StoreError, mapLevelError } from './errors.js';
import { GroupStateStore } from './groupStateStore.js';
import type { StoreHeader } from './header.js';
import {
  HEADER_KEY,
  HEADER_VERSION,
  MAGIC,
  encodeHeader,
  headerMacValid,
  parseHeader,
} from './header.js';
import type { DatabaseKeySource } from './keySource.js';
import type { SchemaOptions } from './migrations.js';
import { migrationPath } from './migrations.js';
import { Namespace } from './namespace.js';
import { OrderedLog } from './orderedLog.js';
import { Transaction } from './transaction.js';
import type { CommitOptions } from './transaction.js';

type Level = ClassicLevel<Uint8Array, Uint8Array>;

export interface OpenStoreOptions {
  /** The database folder (inside the profile folder). */
  readonly path: string;
  readonly keySource: DatabaseKeySource;
  /** Default: version 1, no migrations. */
  readonly schema?: SchemaOptions<Store>;
  /** Create the database if the folder holds none (default true). */
  readonly create?: boolean;
}

const NAMESPACE_KIND = 'ns';

/**
 * LevelDB keeps up to `maxOpenFiles - 10` table files open, and on 64-bit hosts it mmaps each open
 * table whole (up to 1,000 per process): every table read once stays in the process's RSS until
 * the table is evicted. With level's default of 1,000 that is all of a multi-GiB store of
 * attachment chunks (a 2 GiB download and save peaked at 1.8 GiB RSS, nearly all mapped tables).
 * 74 is LevelDB's floor: 64 tables of ~2 MiB (level's `maxFileSize`), ~128 MiB mapped at most;
 * a table read after eviction is opened again (footer and index block, one file descriptor).
 */
export const LEVEL_MAX_OPEN_FILES = 74;

function contextOf(databaseId: Uint8Array): Uint8Array {
  return Uint8Array.from(databaseId);
}

export class Store implements StoreCore {
  readonly blobs: BlobStore;
  readonly groups: GroupStateStore;
  private keys: DatabaseKeys | undefined;
  private header: StoreHeader;
  private readonly logs = new Map<string, Promise<OrderedLog>>();

  private constructor(
    readonly db: Level,
    private readonly databaseKey: Uint8Array,
    keys: DatabaseKeys,
    header: StoreHeader,
  ) {
    this.keys = keys;
    this.header = header;
    this.blobs = new BlobStore(this);
    this.groups = new GroupStateStore(this);
  }

  get databaseId(): Uint8Array {
    return Uint8Array.from(this.header.databaseId);
  }

  get schemaVersion(): number {
    return this.header.schemaVersion;
  }

  get keyKind(): string {
    return this.header.keyKind;
  }

  get isOpen(): boolean {
    return this.keys !== undefined;
  }

  valueKey(): Uint8Array {
    return this.live().value;
  }

  indexKey(): Uint8Array {
    return this.live().index;
  }

  transaction(): Transaction {
    this.live();
    return new Transaction(this);
  }

  /** Runs `fn` with a new transaction and commits it (aborts it if `fn` throws). */
  async write<T>(fn: (tx: Transaction) => T | Promise<T>, options: CommitOptions = {}): Promise<T> {
    const tx = this.transaction();
    let result: T;
    try {
      result = await fn(tx);
    } catch (e) {
      tx.abort();
      throw e;
    }
    await tx.commit(options);
    return result;
  }

  namespace(name: string): Namespace {
    this.live();
    return new Namespace(this, NAMESPACE_KIND, name);
  }

  /** The ordered log of `owner` (one object per owner, so sequence numbers stay unique). */
  log(owner: string): Promise<OrderedLog> {
    this.live();
    let log = this.logs.get(owner);
    if (log === undefined) {
      log = OrderedLog.open(this, owner);
      this.logs.set(owner, log);
      log.catch(() => this.logs.delete(owner));
    }
    return log;
  }

  /**
   * Seals the database key with another source (a new passphrase, the keychain). Only the header
   * is rewritten: the records stay as they are.
   */
  async changeKeySource(source: DatabaseKeySource): Promise<void> {
    this.live();
    const sealed = await source.seal(this.databaseKey, contextOf(this.header.databaseId));
    await this.writeHeader({
      ...this.header,
      keyKind: sealed.kind,
      keyParams: sealed.params,
      sealedKey: sealed.sealed,
    });
  }

  /** Queues the header with a new schema version (migrations). */
  setSchemaVersion(tx: Transaction, version: number): void {
    const keys = this.live();
    const next = { ...this.header, schemaVersion: version };
    tx.putRaw(HEADER_KEY, encodeHeader(keys.header, next));
    tx.onCommit(() => {
      this.header = parseHeader(encodeHeader(keys.header, next));
    });
  }

  async close(): Promise<void> {
    if (this.keys === undefined) return;
    wipeDatabaseKeys(this.keys);
    this.databaseKey.fill(0);
    this.keys = undefined;
    this.logs.clear();
    try {
      await this.db.close();
    } catch (e) {
      throw mapLevelError(e, 'close');
    }
  }

  private async writeHeader(body: Omit<StoreHeader, 'mac'>): Promise<void> {
    const keys = this.live();
    const bytes = encodeHeader(keys.header, body);
    try {
      await this.db.put(HEADER_KEY, bytes, { sync: true });
    } catch (e) {
      throw mapLevelError(e, 'header write');
    }
    this.header = parseHeader(bytes);
  }

  private live(): DatabaseKeys {
    if (this.keys === undefined) throw new StoreError('closed', 'the store is closed');
    return this.keys;
  }

  /** @internal Opens (or creates) the database; see `openStore`. */
  static async open(options: OpenStoreOptions): Promise<Store> {
    const create = options.create ?? true;
    const target = options.schema?.version ?? 1;
    if (!Number.isInteger(target) || target < 1) {
      throw new StoreError('invalid_argument', `schema version ${target}`);
    }
    if (!create && !existsSync(join(options.path, 'CURRENT'))) {
      throw new StoreError('not_found', 'no database in this folder');
    }
    const db: Level = new ClassicLevel<Uint8Array, Uint8Array>(options.path, {
      keyEncoding: 'view',
      valueEncoding: 'view',
      createIfMissing: create,
      maxOpenFiles: LEVEL_MAX_OPEN_FILES,
    });
    try {
      await db.open();
    } catch (e) {
      const mapped = mapLevelError(e, 'open');
      // CURRENT naming a manifest that is gone: the folder is a broken database, not an I/O fault.
      if (mapped.code === 'io_error' && /no such file or directory/i.test(mapped.message)) {
        throw new StoreError('damaged', mapped.message, { cause: e });
      }
      throw mapped;
    }
    let store: Store | undefined;
    try {
      store = await Store.unlock(db, options, target);
      const migrations = migrationPath(
        store.schemaVersion,
        target,
        options.schema?.migrations ?? [],
      );
      for (const step of migrations) {
        await store.write(async (tx) => {
          try {
            await step.run(store!, tx);
          } catch (e) {
            if (e instanceof StoreError) throw e;
            throw new StoreError(
              'migration_failed',
              `schema ${step.from} -> ${step.from + 1} (${step.description})`,
              { cause: e },
            );
          }
          store!.setSchemaVersion(tx, step.from + 1);
        });
      }
      return store;
    } catch (e) {
      // close() also wipes the keys of a store that was unlocked before a migration failed.
      await (store !== undefined ? store.close() : db.close()).catch(() => undefined);
      throw e instanceof StoreError ? e : mapLevelError(e, 'open');
    }
  }

  private static async unlock(
    db: Level,
    options: OpenStoreOptions,
    target: number,
  ): Promise<Store> {
    let raw: Uint8Array | undefined;
    try {
      raw = await db.get(HEADER_KEY);
    } catch (e) {
      throw mapLevelError(e, 'read header');
    }
    if (raw === undefined) {
      const any = await db.keys({ limit: 1 }).all();
      if (any.length > 0)
        throw new StoreError('foreign_database', 'a level database without a Parley header');
      if (options.create === false) throw new StoreError('not_found', 'no database in this folder');
      return Store.initialize(db, options.keySource, target);
    }
    const header = parseHeader(raw);
    const source = options.keySource;
    const databaseKey = await source.unseal(
      { kind: header.keyKind, params: header.keyParams, sealed: header.sealedKey },
      contextOf(header.databaseId),
    );
    const keys = deriveDatabaseKeys(databaseKey, header.databaseId);
    if (!headerMacValid(keys.header, header)) {
      wipeDatabaseKeys(keys);
      databaseKey.fill(0);
      if (!source.authenticatesKey)
        throw new StoreError('wrong_key', 'the key does not open this database');
      throw new StoreError('damaged', 'the header fails its MAC');
    }
    if (header.schemaVersion > target) {
      wipeDatabaseKeys(keys);
      databaseKey.fill(0);
      throw new StoreError(
        'newer_schema',
        `schema ${header.schemaVersion}, this build knows up to ${target}`,
      );
    }
    return new Store(db, databaseKey, keys, header);
  }

  private static async initialize(
    db: Level,
    source: DatabaseKeySource,
    target: number,
  ): Promise<Store> {
    const databaseId = new Uint8Array(randomBytes(16));
    const databaseKey = new Uint8Array(randomBytes(32));
    const sealed = await source.seal(databaseKey, contextOf(databaseId));
    const keys = deriveDatabaseKeys(databaseKey, databaseId);
    const body = {
      magic: MAGIC,
      headerVersion: HEADER_VERSION,
      databaseId,
      schemaVersion: target,
      keyKind: sealed.kind,
      keyParams: sealed.params,
      sealedKey: sealed.sealed,
    };
    const bytes = encodeHeader(keys.header, body);
    try {
      await db.put(HEADER_KEY, bytes, { sync: true });
    } catch (e) {
      wipeDatabaseKeys(keys);
      databaseKey.fill(0);
      throw mapLevelError(e, 'create');
    }
    return new Store(db, databaseKey, keys, parseHeader(bytes));
  }
}

/**
 * Opens the database at `options.path`, creating it if the folder holds none. Errors are
 * StoreError: wrong_passphrase / wrong_key, foreign_database, damaged, newer_schema, locked,
 * disk_full, io_error, not_found (create: false).
 */
export function openStore(options: OpenStoreOptions): Promise<Store> {
  return Store.open(options);
}
