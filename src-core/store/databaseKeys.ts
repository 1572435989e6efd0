/**
 * The keys a database key is split into (HKDF-SHA256, salt = database id, one label each), and
 * the keyed hash that turns names into record keys.
 *
 * - value key: encrypts every value (aead.ts), with the record key as associated data;
 * - index key: HMAC key for record keys, so they reveal no namespace, group, owner or key name;
 * - header key: MACs the header record (schema version, key parameters).
 */
import { createHmac, hkdfSync } from 'node:crypto';

export interface DatabaseKeys {
  readonly value: Uint8Array;
  readonly index: Uint8Array;
  readonly header: Uint8Array;
}

const LABELS = {
  value: 'parley store v1 value key',
  index: 'parley store v1 index key',
  header: 'parley store v1 header key',
} as const;

export function deriveDatabaseKeys(databaseKey: Uint8Array, databaseId: Uint8Array): DatabaseKeys {
  const derive = (label: string) =>
    new Uint8Array(hkdfSync('sha256', databaseKey, databaseId, label, 32));
  return {
    value: derive(LABELS.value),
    index: derive(LABELS.index),
    header: derive(LABELS.header),
  };
}

export function wipeDatabaseKeys(keys: DatabaseKeys): void {
  keys.value.fill(0);
  keys.index.fill(0);
  keys.header.fill(0);
}

/** HMAC-SHA256(key, parts[0] ‖ parts[1] ‖ ...), truncated to `length` bytes. */
export function keyedHash(key: Uint8Array, length: number, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  const d = h.digest();
  return new Uint8Array(d.buffer, d.byteOffset, length);
}
