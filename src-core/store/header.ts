/**
 * The header record: the one plaintext record, under a fixed key. It says this is a Parley
 * database, which header format and schema it has, and holds the sealed database key. A MAC
 * under a key derived from the database key covers every other field, so the schema version
 * and the scrypt parameters cannot be changed without the key.
 *
 * ```
 * struct {
 *   opaque magic[8] = "PARLEYDB";
 *   uint16 header_version = 1;
 *   opaque database_id[16];
 *   uint32 schema_version;
 *   opaque key_kind<V>;        // utf-8: 'passphrase', 'raw', 'wrapped:<name>'
 *   opaque key_params<V>;      // scrypt logN, r, p, salt (passphrase), else empty
 *   opaque sealed_key<V>;
 *   opaque mac[32];            // HMAC-SHA256(header key, all fields above)
 * } StoreHeader;
 * ```
 */
import { timingSafeEqual } from 'node:crypto';
import type { Codec } from '../codec/index.js';
import {
  decode,
  encode,
  fixedBytes,
  opaque,
  struct,
  uint16,
  uint32,
  utf8String,
} from '../codec/index.js';
import { keyedHash } from './databaseKeys.js';
import { StoreError } from './errors.js';

/** The header's record key: the only key that starts with 0x00. */
export const HEADER_KEY = Uint8Array.from([0x00, ...new TextEncoder().encode('parley/header')]);
export const MAGIC = new TextEncoder().encode('PARLEYDB');
export const HEADER_VERSION = 1;

export interface HeaderBody {
  readonly magic: Uint8Array;
  readonly headerVersion: number;
  readonly databaseId: Uint8Array;
  readonly schemaVersion: number;
  readonly keyKind: string;
  readonly keyParams: Uint8Array;
  readonly sealedKey: Uint8Array;
}

export interface StoreHeader extends HeaderBody {
  readonly mac: Uint8Array;
}

const bodyCodec: Codec<HeaderBody> = struct<HeaderBody>({
  magic: fixedBytes(8),
  headerVersion: uint16,
  databaseId: fixedBytes(16),
  schemaVersion: uint32,
  keyKind: utf8String,
  keyParams: opaque,
  sealedKey: opaque,
});

const headerCodec: Codec<StoreHeader> = struct<StoreHeader>({
  magic: fixedBytes(8),
  headerVersion: uint16,
  databaseId: fixedBytes(16),
  schemaVersion: uint32,
  keyKind: utf8String,
  keyParams: opaque,
  sealedKey: opaque,
  mac: fixedBytes(32),
});

function macOf(headerKey: Uint8Array, body: HeaderBody): Uint8Array {
  return keyedHash(headerKey, 32, encode(bodyCodec, body));
}

export function encodeHeader(headerKey: Uint8Array, body: HeaderBody): Uint8Array {
  return encode(headerCodec, { ...body, mac: macOf(headerKey, body) });
}

/**
 * Parses the header without the key. Throws foreign_database (not our magic), newer_schema (a
 * header format from a newer build) or damaged (ours, but malformed).
 */
export function parseHeader(bytes: Uint8Array): StoreHeader {
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) {
    throw new StoreError('foreign_database', 'the header record is not a Parley header');
  }
  const version = (bytes[8]! << 8) | bytes[9]!;
  if (version > HEADER_VERSION) {
    throw new StoreError(
      'newer_schema',
      `header version ${version}, this build reads ${HEADER_VERSION}`,
    );
  }
  try {
    return decode(headerCodec, bytes);
  } catch (e) {
    throw new StoreError('damaged', 'the header record is malformed', { cause: e });
  }
}

export function headerMacValid(headerKey: Uint8Array, header: StoreHeader): boolean {
  return timingSafeEqual(macOf(headerKey, header), header.mac);
}
