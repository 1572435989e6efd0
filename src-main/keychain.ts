/**
 * The OS keychain as a `KeyWrapper` (src-core/store/keySource.ts), over Electron's safeStorage:
 * Keychain on macOS, DPAPI on Windows, libsecret or KWallet on Linux. safeStorage lives only in
 * the main process, so the core (in the utility process) reaches this through the core host.
 *
 * Where safeStorage is not available or not protective, the wrapper is refused and the profile
 * uses a passphrase instead (`keyProtection: 'passphrase'` in the app API). On Linux, the
 * `basic_text` backend encrypts with a key hard-coded in Chromium: anyone with the file can
 * unwrap it, which is worse than a passphrase, so it is refused like no keychain at all.
 *
 * This module takes the safeStorage object as a parameter and imports Electron's types only, so
 * its refusal logic runs under plain Node in tests.
 */
import type { SafeStorage } from 'electron';
import type { KeyProtection } from '../src-core/app/api.js';
import type { KeyWrapper } from '../src-core/store/index.js';
import type { KeychainRequest, KeychainResult } from './coreProtocol.js';

/** The part of Electron's safeStorage used here. */
export type SafeStorageLike = Pick<
  SafeStorage,
  | 'isAsyncEncryptionAvailable'
  | 'encryptStringAsync'
  | 'decryptStringAsync'
  | 'getSelectedStorageBackend'
>;

/** Name stored in the database header (`wrapped:electron-safe-storage`). */
export const SAFE_STORAGE_WRAPPER_NAME = 'electron-safe-storage';

/** Linux backends that keep the secret in a real keyring; anything else is refused. */
const PROTECTIVE_LINUX_BACKENDS: ReadonlySet<string> = new Set([
  'gnome_libsecret',
  'kwallet',
  'kwallet5',
  'kwallet6',
]);

export type KeychainAvailability =
  { available: true; wrapper: KeyWrapper } | { available: false; reason: string };

/**
 * A wrapper over safeStorage when it protects keys on this machine. Call after app `ready`
 * (before it, Linux reports the backend as `unknown`, which is refused).
 */
export async function safeStorageKeyWrapper(
  safeStorage: SafeStorageLike,
  platform: NodeJS.Platform,
): Promise<KeychainAvailability> {
  if (platform === 'linux') {
    const backend = safeStorage.getSelectedStorageBackend();
    if (!PROTECTIVE_LINUX_BACKENDS.has(backend)) {
      return {
        available: false,
        reason:
          backend === 'basic_text'
            ? 'no OS keyring (safeStorage would use a fixed key: basic_text)'
            : `unsupported safeStorage backend: ${backend}`,
      };
    }
  }
  let available: boolean;
  try {
    available = await safeStorage.isAsyncEncryptionAvailable();
  } catch {
    available = false;
  }
  if (!available) return { available: false, reason: 'safeStorage encryption is not available' };
  return { available: true, wrapper: safeStorageWrapper(safeStorage) };
}

function safeStorageWrapper(safeStorage: SafeStorageLike): KeyWrapper {
  return {
    name: SAFE_STORAGE_WRAPPER_NAME,
    async wrap(key) {
      // safeStorage takes a string: the key goes as base64. JS strings cannot be wiped; the
      // copy lives until the garbage collector reclaims it (the bytes themselves are the
      // caller's to wipe).
      const wrapped = await safeStorage.encryptStringAsync(Buffer.from(key).toString('base64'));
      return new Uint8Array(wrapped);
    },
    async unwrap(wrapped) {
      const { result } = await safeStorage.decryptStringAsync(Buffer.from(wrapped));
      // `shouldReEncrypt` (a rotated OS key) is not acted on: the header keeps the old
      // wrapping, which the keychain still opens; re-wrapping would be a store.changeKeySource.
      if (!/^[A-Za-z0-9+/]{43}=$/.test(result)) {
        throw new Error('the keychain returned something that is not a wrapped key');
      }
      return new Uint8Array(Buffer.from(result, 'base64'));
    },
  };
}

/**
 * How a profile's database key is protected. An existing profile keeps what it was created
 * with (`recorded`, written at each start while no profile exists; a profile without a record
 * was made by the CLI, with a passphrase). A new profile uses the keychain when there is one. A profile recorded as `keychain` stays so even
 * when the keychain is unavailable now: unlocking then fails with a typed error rather than
 * silently asking for a passphrase that never existed.
 */
export function chooseKeyProtection(input: {
  recorded: KeyProtection | null;
  profileExists: boolean;
  keychainAvailable: boolean;
}): KeyProtection {
  if (input.profileExists) return input.recorded ?? 'passphrase';
  return input.keychainAvailable ? 'keychain' : 'passphrase';
}

/**
 * Main's answer to the core's keychain request. Main wipes its copies of the key bytes once the
 * answer is posted (postMessage copies them); failures carry no bytes and no OS error text.
 */
export async function answerKeychainRequest(
  wrapper: KeyWrapper | null,
  request: KeychainRequest,
): Promise<KeychainResult> {
  if (wrapper === null) {
    return { type: 'keychain-result', id: request.id, ok: false, message: 'no OS keychain' };
  }
  try {
    const bytes =
      request.op === 'wrap'
        ? await wrapper.wrap(request.bytes)
        : await wrapper.unwrap(request.bytes);
    return { type: 'keychain-result', id: request.id, ok: true, bytes };
  } catch {
    return {
      type: 'keychain-result',
      id: request.id,
      ok: false,
      message: `the OS keychain could not ${request.op} the key`,
    };
  }
}
