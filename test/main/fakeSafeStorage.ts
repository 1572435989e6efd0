/**
 * A test double for Electron's `safeStorage`, an OS facility (Keychain, DPAPI, libsecret) that
 * does not exist under plain Node. It encrypts for real (AES-256-GCM under a key held by this
 * object, standing in for the OS keyring), so a wrapped key opens only with the same "machine",
 * and it reports whatever availability and Linux backend a test sets.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SafeStorageLike } from '../../src-main/keychain.js';

type Backend = ReturnType<SafeStorageLike['getSelectedStorageBackend']>;

export class FakeSafeStorage implements SafeStorageLike {
  readonly #key = randomBytes(32);
  available = true;
  backend: Backend = 'gnome_libsecret';
  encryptCalls = 0;

  getSelectedStorageBackend(): Backend {
    return this.backend;
  }

  isAsyncEncryptionAvailable(): Promise<boolean> {
    return Promise.resolve(this.available);
  }

  encryptStringAsync(plainText: string): Promise<Buffer> {
    this.encryptCalls++;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(plainText, 'utf8'), cipher.final()]);
    return Promise.resolve(Buffer.concat([iv, cipher.getAuthTag(), body]));
  }

  decryptStringAsync(encrypted: Buffer): Promise<{ shouldReEncrypt: boolean; result: string }> {
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, encrypted.subarray(0, 12));
      decipher.setAuthTag(encrypted.subarray(12, 28));
      const text = Buffer.concat([decipher.update(encrypted.subarray(28)), decipher.final()]);
      return Promise.resolve({ shouldReEncrypt: false, result: text.toString('utf8') });
    } catch {
      return Promise.reject(new Error('Error while decrypting the ciphertext provided'));
    }
  }
}

/** Stands in for safeStorage's plain-text mode: "decrypts" to whatever string it was given. */
export class GarbageSafeStorage extends FakeSafeStorage {
  constructor(private readonly answer: string) {
    super();
  }

  override decryptStringAsync(): Promise<{ shouldReEncrypt: boolean; result: string }> {
    return Promise.resolve({ shouldReEncrypt: false, result: this.answer });
  }
}
