/**
 * Where the database key comes from. A database has one random 32-byte key, made when it is
 * created; the header record holds it sealed by a key source:
 *
 * - `passphraseKeySource` (the CLI): scrypt(passphrase, salt) is the key-encryption key; the
 *   sealed key is XChaCha20-Poly1305 under it, so a wrong passphrase fails the AEAD tag.
 * - `wrappedKeySource` (the desktop app): an OS keychain wraps the key. Electron's safeStorage
 *   implements `KeyWrapper` in src-main; nothing here depends on Electron.
 * - `rawKeySource`: a caller-held 32-byte key-encryption key (tests, and callers that keep the
 *   key elsewhere).
 *
 * Because the database key is random and only sealed, changing the passphrase (or moving from a
 * passphrase to the keychain) rewrites the header only, not the records.
 */
import { randomBytes, scrypt } from 'node:crypto';
import { decode, encode, fixedBytes, struct, uint32, uint8 } from '../codec/index.js';
import { KEY_LENGTH, open, seal } from './aead.js';
import { StoreError } from './errors.js';

/** What the header stores about the database key. */
export interface SealedDatabaseKey {
  /** Which kind of source sealed it: 'passphrase', 'raw', or 'wrapped:<wrapper name>'. */
  readonly kind: string;
  /** Public parameters the source needs to unseal (scrypt salt and cost; empty otherwise). */
  readonly params: Uint8Array;
  readonly sealed: Uint8Array;
}

export interface DatabaseKeySource {
  readonly kind: string;
  /**
   * True when `unseal` itself proves the key right (an AEAD tag). When false, the store's header
   * MAC is the check, and a mismatch is reported as `wrong_key` rather than `damaged`.
   */
  readonly authenticatesKey: boolean;
  /** Seals a new database key. `context` binds it to one database (its id). */
  seal(databaseKey: Uint8Array, context: Uint8Array): Promise<SealedDatabaseKey>;
  /** The database key, or StoreError('wrong_passphrase' | 'wrong_key'). */
  unseal(sealed: SealedDatabaseKey, context: Uint8Array): Promise<Uint8Array>;
}

/** Protects bytes with an OS keychain (Electron safeStorage, libsecret, ...). */
export interface KeyWrapper {
  /** Stable name stored in the header, e.g. 'electron-safe-storage'. */
  readonly name: string;
  wrap(key: Uint8Array): Promise<Uint8Array>;
  /** Throws if the keychain cannot unwrap (another user or machine, keychain reset). */
  unwrap(wrapped: Uint8Array): Promise<Uint8Array>;
}

function checkKind(
  sealed: SealedDatabaseKey,
  kind: string,
  code: 'wrong_passphrase' | 'wrong_key',
) {
  if (sealed.kind !== kind) {
    throw new StoreError(code, `the database key is protected by '${sealed.kind}', not '${kind}'`);
  }
}

function aad(kind: string, params: Uint8Array, context: Uint8Array): Uint8Array {
  const label = new TextEncoder().encode(`parley store key sealed by ${kind}\0`);
  const out = new Uint8Array(label.length + params.length + context.length);
  out.set(label);
  out.set(params, label.length);
  out.set(context, label.length + params.length);
  return out;
}

/** scrypt parameters, as stored in the header (RFC 7914 names). */
export interface ScryptParams {
  readonly logN: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Uint8Array;
}

const scryptParamsCodec = struct<ScryptParams>({
  logN: uint8,
  r: uint32,
  p: uint32,
  salt: fixedBytes(16),
});

/**
 * N = 2^17, r = 8, p = 1: 128 MiB and about 0.5 s with node's native scrypt here (noble's is
 * ~20% slower and blocks the event loop; node's runs on the libuv pool). The OWASP floor for
 * scrypt is 2^17 at r = 8.
 */
export const DEFAULT_SCRYPT_LOG_N = 17;
// A header is untrusted input: bound what it may make us allocate or spend.
const MIN_LOG_N = 10;
const MAX_LOG_N = 20;
const MAX_R = 32;
const MAX_P = 4;

function scryptKey(passphrase: Uint8Array, params: ScryptParams): Promise<Uint8Array> {
  const N = 2 ** params.logN;
  const maxmem = 128 * N * params.r * params.p + 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(
      passphrase,
      params.salt,
      KEY_LENGTH,
      { N, r: params.r, p: params.p, maxmem },
      (err, key) => (err ? reject(err) : resolve(new Uint8Array(key.buffer, key.byteOffset, 32))),
    );
  });
}

export interface PassphraseOptions {
  /** log2 of scrypt's N for new databases; default 17. Below 17 only for tests. */
  readonly logN?: number;
}

/** A passphrase (NFKC-normalized) stretched with scrypt. */
export function passphraseKeySource(
  passphrase: string,
  options: PassphraseOptions = {},
): DatabaseKeySource {
  const secret = new TextEncoder().encode(passphrase.normalize('NFKC'));
  const logN = options.logN ?? DEFAULT_SCRYPT_LOG_N;
  if (!Number.isInteger(logN) || logN < MIN_LOG_N || logN > MAX_LOG_N) {
    throw new StoreError(
      'invalid_argument',
      `scrypt logN ${logN} outside ${MIN_LOG_N}..${MAX_LOG_N}`,
    );
  }
  const kind = 'passphrase';
  return {
    kind,
    authenticatesKey: true,
    async seal(databaseKey, context) {
      const params: ScryptParams = { logN, r: 8, p: 1, salt: randomBytes(16) };
      const encoded = encode(scryptParamsCodec, params);
      const kek = await scryptKey(secret, params);
      try {
        return {
          kind,
          params: encoded,
          sealed: seal(kek, databaseKey, aad(kind, encoded, context)),
        };
      } finally {
        kek.fill(0);
      }
    },
    async unseal(sealed, context) {
      checkKind(sealed, kind, 'wrong_passphrase');
      let params: ScryptParams;
      try {
        params = decode(scryptParamsCodec, sealed.params);
      } catch (e) {
        throw new StoreError('damaged', 'header: malformed scrypt parameters', { cause: e });
      }
      if (
        params.logN < MIN_LOG_N ||
        params.logN > MAX_LOG_N ||
        params.r < 1 ||
        params.r > MAX_R ||
        params.p < 1 ||
        params.p > MAX_P
      ) {
        throw new StoreError('damaged', 'header: scrypt parameters out of bounds');
      }
      const kek = await scryptKey(secret, params);
      try {
        const key = open(kek, sealed.sealed, aad(kind, sealed.params, context));
        if (key === undefined || key.length !== KEY_LENGTH) {
          throw new StoreError('wrong_passphrase', 'the passphrase does not open this database');
        }
        return key;
      } finally {
        kek.fill(0);
      }
    },
  };
}

/** A caller-held 32-byte key-encryption key. */
export function rawKeySource(keyEncryptionKey: Uint8Array): DatabaseKeySource {
  if (keyEncryptionKey.length !== KEY_LENGTH) {
    throw new StoreError(
      'invalid_argument',
      `a raw key is ${KEY_LENGTH} bytes, got ${keyEncryptionKey.length}`,
    );
  }
  const kek = Uint8Array.from(keyEncryptionKey);
  const kind = 'raw';
  const none = new Uint8Array(0);
  return {
    kind,
    authenticatesKey: true,
    seal: (databaseKey, context) =>
      Promise.resolve({
        kind,
        params: none,
        sealed: seal(kek, databaseKey, aad(kind, none, context)),
      }),
    unseal(sealed, context) {
      checkKind(sealed, kind, 'wrong_key');
      const key = open(kek, sealed.sealed, aad(kind, sealed.params, context));
      if (key === undefined || key.length !== KEY_LENGTH) {
        return Promise.reject(new StoreError('wrong_key', 'the key does not open this database'));
      }
      return Promise.resolve(key);
    },
  };
}

/**
 * The database key wrapped by an OS keychain. The wrapper may not authenticate (safeStorage on
 * Linux is AES-CBC without a MAC), so the store checks the unwrapped key against the header MAC.
 */
export function wrappedKeySource(wrapper: KeyWrapper): DatabaseKeySource {
  const kind = `wrapped:${wrapper.name}`;
  return {
    kind,
    authenticatesKey: false,
    async seal(databaseKey) {
      return { kind, params: new Uint8Array(0), sealed: await wrapper.wrap(databaseKey) };
    },
    async unseal(sealed) {
      checkKind(sealed, kind, 'wrong_key');
      let key: Uint8Array;
      try {
        key = await wrapper.unwrap(sealed.sealed);
      } catch (e) {
        throw new StoreError('wrong_key', `${wrapper.name} could not unwrap the database key`, {
          cause: e,
        });
      }
      if (key.length !== KEY_LENGTH) {
        key.fill(0);
        throw new StoreError('wrong_key', `${wrapper.name} returned a key of the wrong length`);
      }
      return key;
    },
  };
}
