/**
 * The record-key layout and what the typed stores (namespace, log, blobs, group states) need
 * from the open store. Record keys are keyed hashes, so they reveal no names:
 *
 * ```
 * 0x00 ‖ "parley/header"                    the header (plaintext, MACed)
 * 0x01 ‖ C[16] ‖ E[16]                      an entry of a collection (namespace, group state)
 *        C = HMAC(index key, "collection\0" ‖ kind ‖ "\0" ‖ name)[0..16]
 *        E = HMAC(index key, C ‖ entry name)[0..16]
 * 0x02 ‖ L[16] ‖ uint64 sequence (big-endian) an entry of an ordered log
 *        L = HMAC(index key, "log\0" ‖ owner)[0..16]
 * 0x03 ‖ B[16]                              a blob, B = HMAC(index key, "blob\0" ‖ SHA-256(blob))
 * ```
 */
import type { ClassicLevel } from 'classic-level';
import { concat } from '../crypto/bytes.js';
import { keyedHash } from './databaseKeys.js';
import { mapLevelError } from './errors.js';
import type { Transaction } from './transaction.js';

export const AREA_COLLECTION = 0x01;
export const AREA_LOG = 0x02;
export const AREA_BLOB = 0x03;
export const HASH_LENGTH = 16;

const utf8 = new TextEncoder();

export interface StoreCore {
  readonly db: ClassicLevel<Uint8Array, Uint8Array>;
  /** Throws StoreError('closed') once the store is closed. */
  valueKey(): Uint8Array;
  indexKey(): Uint8Array;
  transaction(): Transaction;
}

/** `area ‖ HMAC(index key, label ‖ parts)[0..16]` */
export function hashedPrefix(core: StoreCore, area: number, label: string, ...parts: Uint8Array[]) {
  return concat(
    Uint8Array.of(area),
    keyedHash(core.indexKey(), HASH_LENGTH, utf8.encode(label), ...parts),
  );
}

/** The first key after every key that starts with `prefix`. */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = Uint8Array.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  throw new RangeError('prefix of 0xff bytes has no end');
}

export async function getRaw(core: StoreCore, key: Uint8Array, what: string) {
  try {
    return await core.db.get(key);
  } catch (e) {
    throw mapLevelError(e, `read ${what}`);
  }
}

export interface ScanRange {
  readonly gte?: Uint8Array;
  readonly gt?: Uint8Array;
  readonly lte?: Uint8Array;
  readonly lt?: Uint8Array;
  readonly reverse?: boolean;
  readonly limit?: number;
}

/** Raw entries of a key range, in key order (or reverse), read in chunks. */
export async function* scanRaw(
  core: StoreCore,
  range: ScanRange,
  what: string,
): AsyncGenerator<[Uint8Array, Uint8Array]> {
  const it = core.db.iterator({ ...range, limit: range.limit ?? -1 });
  try {
    for (;;) {
      let chunk: [Uint8Array, Uint8Array][];
      try {
        chunk = await it.nextv(256);
      } catch (e) {
        throw mapLevelError(e, `scan ${what}`);
      }
      if (chunk.length === 0) return;
      yield* chunk;
    }
  } finally {
    await it.close();
  }
}

/** Raw keys of a range (no values read). */
export async function scanKeys(core: StoreCore, range: ScanRange, what: string) {
  const out: Uint8Array[] = [];
  const it = core.db.keys({ ...range, limit: range.limit ?? -1 });
  try {
    for (;;) {
      const chunk = await it.nextv(1024);
      if (chunk.length === 0) return out;
      out.push(...chunk);
    }
  } catch (e) {
    throw mapLevelError(e, `scan ${what}`);
  } finally {
    await it.close();
  }
}
