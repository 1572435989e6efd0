/**
 * `profile.*`: create, unlock, lock. Creating makes the user key, this device's key and
 * certificate and the first identity record, and stores them encrypted before anything goes on
 * the network. Unlocking opens the store with the key source (a wrong passphrase is refused by
 * the store's AEAD check before anything is read or written). Locking closes the session: the
 * node stops, the store closes (its keys wiped), the identity private keys are overwritten.
 */
import { mkdir, rm } from 'node:fs/promises';
import {
  MAX_DEVICE_NAME_BYTES,
  encodeIdentityRecord,
  firstIdentityRecord,
  generateDeviceKey,
  generateUserKey,
  issueDeviceCertificate,
  zeroizeKey,
} from '../identity/index.js';
import type { Store } from '../store/index.js';
import { openStore } from '../store/index.js';
import type { CreateProfileParams, Me, ProfileStatus, UnlockParams } from './api.js';
import type { AppContext } from './appContext.js';
import { mapped } from './errorMapping.js';
import { AppError } from './errors.js';
import { checkDisplayName } from './identityService.js';
import { PROFILE_NS, encodeIdentity } from './profileRecords.js';
import type { ProfileService } from './services.js';

/** How long a device certificate is valid: two years, then the user key re-certifies the device. */
export const DEVICE_CERT_LIFETIME_SECONDS = 2n * 365n * 24n * 3600n;

export function checkDeviceName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0) throw new AppError('bad_request', 'the device name is empty');
  if (new TextEncoder().encode(trimmed).length > MAX_DEVICE_NAME_BYTES) {
    throw new AppError('bad_request', `the device name is over ${MAX_DEVICE_NAME_BYTES} bytes`);
  }
  return trimmed;
}

export class ProfileServiceImpl implements ProfileService {
  constructor(
    private readonly ctx: AppContext,
    private readonly me: () => Promise<Me>,
  ) {}

  async status(): Promise<ProfileStatus> {
    const state = this.ctx.unlocked ? 'unlocked' : this.ctx.profileExists() ? 'locked' : 'absent';
    return { state, keyProtection: this.ctx.options.keyProtection };
  }

  create(p: CreateProfileParams): Promise<Me> {
    return mapped('profile.create', () =>
      this.ctx.serial(async () => {
        if (this.ctx.unlocked || this.ctx.profileExists()) {
          throw new AppError('conflict', 'a profile already exists in this folder');
        }
        const displayName = checkDisplayName(p.displayName);
        const deviceName = checkDeviceName(p.deviceName);
        const keySource = this.ctx.keySource(p.passphrase);
        await mkdir(this.ctx.options.profileDir, { recursive: true });
        let store: Store | undefined;
        try {
          store = await openStore({ path: this.ctx.dbPath, keySource, create: true });
          await this.#writeNewIdentity(store, displayName, deviceName);
        } catch (err) {
          // The database is ours and holds no profile: remove it, so the folder reads as absent.
          await store?.close().catch(() => undefined);
          if (store !== undefined) await rm(this.ctx.dbPath, { recursive: true, force: true });
          throw err;
        }
        await this.ctx.startSession(store);
        return this.me();
      }),
    );
  }

  async #writeNewIdentity(store: Store, displayName: string, deviceName: string): Promise<void> {
    const userKey = generateUserKey();
    const deviceKey = generateDeviceKey();
    try {
      const now = this.ctx.nowSeconds();
      const cert = issueDeviceCertificate(userKey, {
        deviceKey: deviceKey.publicKey,
        deviceName,
        createdAt: now,
        expiresAt: now + DEVICE_CERT_LIFETIME_SECONDS,
      });
      const record = firstIdentityRecord(userKey, { displayName, devices: [cert], issuedAt: now });
      const value = encodeIdentity({
        userKeySeed: userKey.privateKey.slice(),
        deviceKeySeed: deviceKey.privateKey.slice(),
        record: encodeIdentityRecord(record),
        createdAtMs: BigInt(this.ctx.nowMs()),
      });
      await store.write((tx) => store.namespace(PROFILE_NS).put(tx, 'identity', value));
      value.fill(0);
    } finally {
      // The session loads its own copies from the store.
      zeroizeKey(userKey);
      zeroizeKey(deviceKey);
    }
  }

  unlock(p: UnlockParams): Promise<Me> {
    return mapped('profile.unlock', () =>
      this.ctx.serial(async () => {
        if (this.ctx.unlocked) return this.me();
        if (!this.ctx.profileExists()) throw new AppError('not_found', 'no profile in this folder');
        const keySource = this.ctx.keySource(p.passphrase);
        const store = await openStore({ path: this.ctx.dbPath, keySource, create: false });
        await this.ctx.startSession(store);
        return this.me();
      }),
    );
  }

  lock(): Promise<void> {
    return mapped('profile.lock', () => this.ctx.serial(() => this.ctx.endSession('user')));
  }
}
