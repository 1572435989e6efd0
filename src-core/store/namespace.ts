/**
 * A key-value namespace (`store.namespace('contacts')`): string keys, byte values, unordered.
 * Each entry is one record whose key is a keyed hash of the namespace and the entry name, and
 * whose encrypted value holds the name and the value:
 *
 * ```
 * struct { opaque name<V>; opaque value<V>; } CollectionEntry;   // utf-8 name
 * ```
 *
 * Listing a namespace is a range scan over its prefix, in hash order (not name order). What
 * leaks: how many entries a namespace has and their sizes; not the namespace or entry names.
 */
import { concat } from '../crypto/bytes.js';
import type { Codec } from '../codec/index.js';
import { decode, encode, opaque, struct, utf8String } from '../codec/index.js';
import type { StoreCore } from './core.js';
import {
  AREA_COLLECTION,
  HASH_LENGTH,
  getRaw,
  hashedPrefix,
  prefixEnd,
  scanKeys,
  scanRaw,
} from './core.js';
import { keyedHash } from './databaseKeys.js';
import { StoreError } from './errors.js';
import { openRecord } from './recordCipher.js';
import type { Transaction } from './transaction.js';

interface CollectionEntry {
  readonly name: string;
  readonly value: Uint8Array;
}

const entryCodec: Codec<CollectionEntry> = struct<CollectionEntry>({
  name: utf8String,
  value: opaque,
});

const utf8 = new TextEncoder();

export class Namespace {
  private readonly prefix: Uint8Array;
  private readonly what: string;

  /** `kind` separates internal collections (group states) from the app's namespaces. */
  constructor(
    private readonly core: StoreCore,
    kind: string,
    name: string | Uint8Array,
  ) {
    const nameBytes = typeof name === 'string' ? utf8.encode(name) : name;
    this.prefix = hashedPrefix(core, AREA_COLLECTION, `collection\0${kind}\0`, nameBytes);
    this.what = `${kind} entry`;
  }

  /** The record key of entry `name`. */
  recordKey(name: string): Uint8Array {
    return concat(
      this.prefix,
      keyedHash(this.core.indexKey(), HASH_LENGTH, this.prefix, utf8.encode(name)),
    );
  }

  async get(name: string): Promise<Uint8Array | undefined> {
    const key = this.recordKey(name);
    const stored = await getRaw(this.core, key, this.what);
    if (stored === undefined) return undefined;
    const entry = this.decodeEntry(key, stored);
    if (entry.name !== name) {
      throw new StoreError('corrupt_record', `${this.what}: holds another entry's name`);
    }
    return entry.value;
  }

  /** Like get, but StoreError('not_found') when absent. */
  async require(name: string): Promise<Uint8Array> {
    const v = await this.get(name);
    if (v === undefined) throw new StoreError('not_found', `${this.what} not found`);
    return v;
  }

  put(tx: Transaction, name: string, value: Uint8Array): void {
    const plain = encode(entryCodec, { name, value });
    tx.put(this.recordKey(name), plain);
    plain.fill(0);
  }

  delete(tx: Transaction, name: string): void {
    tx.del(this.recordKey(name));
  }

  /** Every entry, in record-key (hash) order. A value that fails authentication throws. */
  async *entries(): AsyncGenerator<[string, Uint8Array]> {
    const range = { gte: this.prefix, lt: prefixEnd(this.prefix) };
    for await (const [key, stored] of scanRaw(this.core, range, this.what)) {
      const entry = this.decodeEntry(key, stored);
      yield [entry.name, entry.value];
    }
  }

  /** Queues the deletion of every entry (read now, deleted when `tx` commits). */
  async clear(tx: Transaction): Promise<number> {
    const keys = await scanKeys(
      this.core,
      { gte: this.prefix, lt: prefixEnd(this.prefix) },
      this.what,
    );
    for (const k of keys) tx.del(k);
    return keys.length;
  }

  private decodeEntry(key: Uint8Array, stored: Uint8Array): CollectionEntry {
    const plain = openRecord(this.core.valueKey(), key, stored, this.what);
    let entry: CollectionEntry;
    try {
      entry = decode(entryCodec, plain);
    } catch (e) {
      throw new StoreError('corrupt_record', `${this.what}: malformed`, { cause: e });
    } finally {
      plain.fill(0);
    }
    // The name is inside the authenticated value; the key must be the one derived from it.
    const expected = this.recordKey(entry.name);
    if (!Buffer.from(expected).equals(Buffer.from(key))) {
      entry.value.fill(0);
      throw new StoreError('corrupt_record', `${this.what}: stored under another key`);
    }
    return entry;
  }
}
