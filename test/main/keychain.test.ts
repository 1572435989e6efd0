import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import {
  SAFE_STORAGE_WRAPPER_NAME,
  answerKeychainRequest,
  chooseKeyProtection,
  safeStorageKeyWrapper,
} from '../../src-main/keychain.js';
import { FakeSafeStorage, GarbageSafeStorage } from './fakeSafeStorage.js';

describe('safeStorage key wrapper', () => {
  it('refuses the basic_text backend on Linux (a fixed key protects nothing)', async () => {
    const storage = new FakeSafeStorage();
    storage.backend = 'basic_text';
    const result = await safeStorageKeyWrapper(storage, 'linux');
    expect(result.available).toBe(false);
    if (!result.available) expect(result.reason).toContain('basic_text');
  });

  it('refuses an unknown Linux backend (asked before app ready)', async () => {
    const storage = new FakeSafeStorage();
    storage.backend = 'unknown';
    expect((await safeStorageKeyWrapper(storage, 'linux')).available).toBe(false);
  });

  it.each(['gnome_libsecret', 'kwallet', 'kwallet5', 'kwallet6'] as const)(
    'accepts the %s backend on Linux',
    async (backend) => {
      const storage = new FakeSafeStorage();
      storage.backend = backend;
      expect((await safeStorageKeyWrapper(storage, 'linux')).available).toBe(true);
    },
  );

  it('does not ask for a Linux backend elsewhere, but refuses when encryption is unavailable', async () => {
    const storage = new FakeSafeStorage();
    storage.backend = 'basic_text'; // meaningless off Linux
    expect((await safeStorageKeyWrapper(storage, 'darwin')).available).toBe(true);
    storage.available = false;
    for (const platform of ['darwin', 'win32', 'linux'] as const) {
      storage.backend = 'gnome_libsecret';
      const result = await safeStorageKeyWrapper(storage, platform);
      expect(result.available).toBe(false);
    }
  });

  it('wraps and unwraps a 32-byte key; another keyring cannot unwrap it', async () => {
    const result = await safeStorageKeyWrapper(new FakeSafeStorage(), 'linux');
    if (!result.available) throw new Error('expected a wrapper');
    expect(result.wrapper.name).toBe(SAFE_STORAGE_WRAPPER_NAME);
    const key = randomBytes(32);
    const wrapped = await result.wrapper.wrap(key);
    expect(Buffer.from(wrapped).includes(key)).toBe(false);
    expect(Buffer.from(await result.wrapper.unwrap(wrapped))).toEqual(key);
    const other = await safeStorageKeyWrapper(new FakeSafeStorage(), 'linux');
    if (!other.available) throw new Error('expected a wrapper');
    await expect(other.wrapper.unwrap(wrapped)).rejects.toThrow();
  });

  it('rejects an unwrapped value that is not a base64 32-byte key', async () => {
    for (const answer of ['', 'not base64 at all', Buffer.alloc(31).toString('base64')]) {
      const result = await safeStorageKeyWrapper(new GarbageSafeStorage(answer), 'win32');
      if (!result.available) throw new Error('expected a wrapper');
      await expect(result.wrapper.unwrap(new Uint8Array(40))).rejects.toThrow(/not a wrapped key/);
    }
  });
});

describe('answerKeychainRequest (main answering the core)', () => {
  it('refuses without a keychain, and hides the OS error text', async () => {
    const none = await answerKeychainRequest(null, {
      type: 'keychain',
      id: 3,
      op: 'unwrap',
      bytes: new Uint8Array(8),
    });
    expect(none).toEqual({ type: 'keychain-result', id: 3, ok: false, message: 'no OS keychain' });
    const result = await safeStorageKeyWrapper(new FakeSafeStorage(), 'linux');
    if (!result.available) throw new Error('expected a wrapper');
    const failed = await answerKeychainRequest(result.wrapper, {
      type: 'keychain',
      id: 4,
      op: 'unwrap',
      bytes: new Uint8Array(40),
    });
    expect(failed).toEqual({
      type: 'keychain-result',
      id: 4,
      ok: false,
      message: 'the OS keychain could not unwrap the key',
    });
  });
});

describe('chooseKeyProtection', () => {
  it('a new profile uses the keychain when there is one, else a passphrase', () => {
    expect(
      chooseKeyProtection({ recorded: null, profileExists: false, keychainAvailable: true }),
    ).toBe('keychain');
    expect(
      chooseKeyProtection({ recorded: 'keychain', profileExists: false, keychainAvailable: false }),
    ).toBe('passphrase');
  });

  it('an existing profile keeps what it was created with, keychain or not', () => {
    expect(
      chooseKeyProtection({ recorded: 'keychain', profileExists: true, keychainAvailable: false }),
    ).toBe('keychain');
    expect(
      chooseKeyProtection({ recorded: 'passphrase', profileExists: true, keychainAvailable: true }),
    ).toBe('passphrase');
    // Made by the CLI (no record): a passphrase profile.
    expect(
      chooseKeyProtection({ recorded: null, profileExists: true, keychainAvailable: true }),
    ).toBe('passphrase');
  });
});
