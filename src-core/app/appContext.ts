/**
 * The composition root of one running profile. `AppContext` lives as long as the app object: the
 * profile folder, the injected key protection and network configuration, the event stream and the
 * services that joined it. A `Session` lives from unlock to lock: the open store, the identity
 * keys, the trust store and record book, the libp2p node, the delivery ports and the delivery
 * parts every service shares. Nothing here is global; everything is injected or built here, and
 * `Session.close()` takes it all down in reverse order and wipes the private keys it held.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cipherSuite } from '../crypto/index.js';
import type { CipherSuite, CipherSuiteId, KeyPair } from '../crypto/types.js';
import { IdentityGossip } from '../delivery/identityGossip.js';
import { KeyPackageHolder, KeyPackagePublisher } from '../delivery/keyPackageDirectory.js';
import { Libp2pPorts } from '../delivery/libp2pPorts.js';
import type { DeviceKeyPair, IdentityRecord, UserKeyPair } from '../identity/index.js';
import {
  RecordBook,
  TrustStore,
  decodeIdentityRecord,
  deviceKeyFromPrivate,
  verifyIdentityRecord,
  encodeIdentityRecord,
  findDevice,
  userKeyFingerprint,
  userKeyFromPrivate,
  zeroizeKey,
} from '../identity/index.js';
import type { MlsClient } from '../mls/client/index.js';
import type { NetConfig, PeerIdentityStore } from '../net/index.js';
import { createParleyNode } from '../net/index.js';
import type { ParleyNode } from '../net/index.js';
import type { DatabaseKeySource, Store, Transaction } from '../store/index.js';
import { passphraseKeySource } from '../store/index.js';
import type { KeyProtection } from './api.js';
import { ContactBook } from './contactBook.js';
import { parleyCapabilities } from './groups/groupRules.js';
import type { StoreAndForwardOptions } from './groups/groupSync.js';
import { CredentialType } from '../mls/credential.js';
import { AppError } from './errors.js';
import { AppEvents } from './events.js';
import { Holdings } from './holdings.js';
import { loadKeyPackageClient, putKeyPackages } from './keyPackageRecords.js';
import {
  IDENTITY_STATE_NS,
  PROFILE_NS,
  StorePeerAddressBook,
  StorePeerIdentityStore,
  decodeIdentity,
  decodeSettings,
  encodeIdentity,
  encodeSettings,
} from './profileRecords.js';

export interface AppContextOptions {
  /** The profile folder; the database lives in `<profileDir>/db`. */
  readonly profileDir: string;
  /** `passphrase`: the CLI (scrypt); `keychain`: src-main passes `keychain` (safeStorage). */
  readonly keyProtection: KeyProtection;
  /** The database key source when `keyProtection` is `keychain`. */
  readonly keychain?: DatabaseKeySource;
  /** scrypt cost (log2 N) for new passphrase databases; the store's default (17) unless tests lower it. */
  readonly scryptLogN?: number;
  /** `defaultNetConfig()` in the app, `loopbackNetConfig()` in tests. */
  readonly net: NetConfig;
  /** Where the libp2p key lives; default the encrypted store. Tests inject one to reuse a peer id. */
  readonly peerIdentity?: (store: Store) => PeerIdentityStore;
  /** The cipher suite of our KeyPackages and groups (default 1). */
  readonly suiteId?: CipherSuiteId;
  /** Wall clock in ms (default Date.now). */
  readonly now?: () => number;
  /** One-time KeyPackages handed to each contact (default 8). */
  readonly keyPackagesPerContact?: number;
  /** Store and forward for groups: log retention, catch-up period (groups/groupSync.ts). */
  readonly storeAndForward?: StoreAndForwardOptions;
}

/** Services that need the unlocked profile (groups, messages, ...) join the session here. */
export interface SessionParticipant {
  /** Called after the core is up (store, identity, node, ports), in registration order. */
  open?(session: Session): Promise<void>;
  /** Called before the core goes down, in reverse order. Must not throw. */
  close?(session: Session): Promise<void>;
}

/** Our identity in memory. `userKey` is absent on a device linked without the user key. */
export interface IdentityKeys {
  userKey: UserKeyPair | undefined;
  readonly deviceKey: DeviceKeyPair;
  /** Our newest record; replaced (never mutated) when a new one is signed. */
  record: IdentityRecord;
  readonly createdAtMs: number;
}

/** The KeyPackage side of the delivery layer: our packages for contacts, and contacts' for us. */
export interface KeyPackageParts {
  /** Makes our KeyPackages (its leaf key is certified by the device key, bound to no group). */
  readonly client: MlsClient;
  readonly signatureKeyPair: KeyPair;
  /** Holds contacts' packages and serves them to whoever adds them. */
  readonly holder: KeyPackageHolder;
  readonly publisher: KeyPackagePublisher;
}

/** A user id: hex of the user key fingerprint (identity/safetyNumber.ts). */
export function userIdOf(userKey: Uint8Array): string {
  return Buffer.from(userKeyFingerprint(userKey)).toString('hex');
}

export function deviceIdOf(deviceKey: Uint8Array): string {
  return Buffer.from(deviceKey).toString('hex');
}

export class AppContext {
  readonly events = new AppEvents();
  /**
   * The groups we share with a user (for `contact.key_changed`); the groups service sets it.
   * Until then no group is named.
   */
  groupsOfUser: (userId: string) => string[] = () => [];
  /**
   * A contact's device left KeyPackages with us under `owner` (their leaf signature key, the
   * directory's key): the groups hub remembers it to add that contact while it is offline.
   */
  keyPackageOwnerSeen: (userId: string, owner: Uint8Array) => void = () => undefined;
  readonly suite: CipherSuite;
  readonly #participants: SessionParticipant[] = [];
  #session: Session | undefined;
  /** Serialises create/unlock/lock so two calls never open the database twice. */
  #lifecycle: Promise<unknown> = Promise.resolve();

  constructor(readonly options: AppContextOptions) {
    if (options.keyProtection === 'keychain' && options.keychain === undefined) {
      throw new AppError('bad_request', 'keychain protection needs a keychain key source');
    }
    this.suite = cipherSuite(options.suiteId ?? 1);
  }

  get dbPath(): string {
    return join(this.options.profileDir, 'db');
  }

  /** A database exists in the profile folder (LevelDB writes CURRENT when it creates one). */
  profileExists(): boolean {
    return existsSync(join(this.dbPath, 'CURRENT'));
  }

  nowMs(): number {
    return (this.options.now ?? Date.now)();
  }

  nowSeconds(): bigint {
    return BigInt(Math.floor(this.nowMs() / 1000));
  }

  keySource(passphrase: string | undefined): DatabaseKeySource {
    if (this.options.keyProtection === 'keychain') {
      if (passphrase !== undefined) {
        throw new AppError('bad_request', 'this profile is protected by the keychain');
      }
      return this.options.keychain!;
    }
    if (passphrase === undefined || passphrase.length === 0) {
      throw new AppError('bad_request', 'a passphrase is required');
    }
    return passphraseKeySource(
      passphrase,
      this.options.scryptLogN === undefined ? {} : { logN: this.options.scryptLogN },
    );
  }

  join(participant: SessionParticipant): void {
    this.#participants.push(participant);
  }

  get unlocked(): boolean {
    return this.#session !== undefined;
  }

  /** The open session, or AppError 'locked'. */
  session(): Session {
    if (this.#session === undefined) throw new AppError('locked', 'the profile is locked');
    return this.#session;
  }

  /** Runs profile lifecycle steps one at a time. */
  serial<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#lifecycle.then(step, step);
    this.#lifecycle = run.catch(() => undefined);
    return run;
  }

  /**
   * Builds the session over an open store holding a profile. On failure everything built so far
   * is taken down (the store included) and the error is rethrown.
   */
  async startSession(store: Store): Promise<Session> {
    if (this.#session !== undefined) throw new AppError('conflict', 'the profile is unlocked');
    const session = await Session.open(this, store);
    try {
      for (const p of this.#participants) await p.open?.(session);
    } catch (err) {
      await this.#teardown(session);
      throw err;
    }
    this.#session = session;
    return session;
  }

  async endSession(reason: 'user' | 'idle' | 'shutdown'): Promise<void> {
    const session = this.#session;
    if (session === undefined) return;
    this.#session = undefined;
    await this.#teardown(session);
    this.events.emit('profile.locked', { reason });
  }

  /**
   * Rebuilds the session over the same open store (after our identity was replaced, e.g. by
   * linking this device to a user): services close, the core restarts from what is stored.
   */
  async reloadSession(): Promise<Session> {
    const old = this.session();
    this.#session = undefined;
    await this.#teardown(old, { keepStore: true });
    return this.startSession(old.store);
  }

  async #teardown(session: Session, options: { keepStore?: boolean } = {}): Promise<void> {
    for (const p of [...this.#participants].reverse()) {
      try {
        await p.close?.(session);
      } catch (err) {
        console.error('app: a service failed to close', err instanceof Error ? err.name : err);
      }
    }
    await session.close(options);
  }
}

/** Everything that exists while the profile is unlocked. */
export class Session {
  #closed = false;
  /**
   * Where identity records that gossip accepted go (the contacts service sets it): a record
   * arriving from a peer is only a claim about its signer, never about the peer.
   */
  recordSink: RecordSink | undefined;

  private constructor(
    readonly ctx: AppContext,
    readonly store: Store,
    readonly identity: IdentityKeys,
    readonly trust: TrustStore,
    readonly records: RecordBook,
    readonly contacts: ContactBook,
    readonly settings: { lanDiscovery: boolean },
    readonly node: ParleyNode,
    readonly ports: Libp2pPorts,
    readonly identityGossip: IdentityGossip,
    readonly keyPackages: KeyPackageParts,
  ) {}

  get userId(): string {
    return userIdOf(this.identity.record.userKey);
  }

  get deviceId(): string {
    return deviceIdOf(this.identity.deviceKey.publicKey);
  }

  get deviceName(): string {
    return findDevice(this.identity.record, this.identity.deviceKey.publicKey)?.deviceName ?? '';
  }

  static async open(ctx: AppContext, store: Store): Promise<Session> {
    const profileNs = store.namespace(PROFILE_NS);
    const identityBytes = await profileNs.get('identity');
    if (identityBytes === undefined) {
      await store.close();
      throw new AppError('not_found', 'the database holds no profile');
    }
    const stored = decodeIdentity(identityBytes);
    const identity: IdentityKeys = {
      userKey:
        stored.userKeySeed === undefined ? undefined : userKeyFromPrivate(stored.userKeySeed),
      deviceKey: deviceKeyFromPrivate(stored.deviceKeySeed),
      record: decodeIdentityRecord(stored.record),
      createdAtMs: Number(stored.createdAtMs),
    };
    stored.deviceKeySeed.fill(0);
    stored.userKeySeed?.fill(0);
    const wipe = (): void => {
      if (identity.userKey !== undefined) zeroizeKey(identity.userKey);
      zeroizeKey(identity.deviceKey);
    };
    let node: ParleyNode | undefined;
    let ports: Libp2pPorts | undefined;
    try {
      const stateNs = store.namespace(IDENTITY_STATE_NS);
      const trustBytes = await stateNs.get('trust');
      const trust = trustBytes === undefined ? new TrustStore() : TrustStore.import(trustBytes);
      const recordBytes = await stateNs.get('records');
      const records =
        recordBytes === undefined
          ? new RecordBook({ trustStore: trust })
          : RecordBook.import(recordBytes, { trustStore: trust });
      records.add(encodeIdentityRecord(identity.record));
      const contacts = await ContactBook.load(store);
      const settingsBytes = await profileNs.get('settings');
      const settings = {
        lanDiscovery:
          settingsBytes === undefined ? false : decodeSettings(settingsBytes).lanDiscovery,
      };
      const netConfig: NetConfig = {
        ...ctx.options.net,
        mdns: {
          ...ctx.options.net.mdns,
          enabled: ctx.options.net.mdns.enabled && settings.lanDiscovery,
        },
      };
      node = await createParleyNode({
        identity: (ctx.options.peerIdentity ?? ((s) => new StorePeerIdentityStore(s)))(store),
        config: netConfig,
        addressBook: new StorePeerAddressBook(store),
      });
      await node.start();
      ports = new Libp2pPorts(node);
      const requests = ports.requests;
      const route: { session?: Session } = {};
      const identityGossip = new IdentityGossip({
        channels: ports.channels,
        requests,
        clock: ports.clock,
        random: ports.random,
        validate: validateGossipRecord,
        onRecord: (record, from) => route.session?.recordSink?.(record, from),
      });
      identityGossip.setOwnRecords([encodeIdentityRecord(identity.record)]);
      const keyPackages = await makeKeyPackageParts(ctx, store, identity, ports, contacts);
      await ports.ready();
      const session = new Session(
        ctx,
        store,
        identity,
        trust,
        records,
        contacts,
        settings,
        node,
        ports,
        identityGossip,
        keyPackages,
      );
      route.session = session;
      if (settings.lanDiscovery) identityGossip.startLan();
      return session;
    } catch (err) {
      await ports?.close().catch(() => undefined);
      await node?.stop().catch(() => undefined);
      wipe();
      await store.close();
      throw err;
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Puts the trust store and record book into `tx` (they change together). */
  putTrust(tx: Transaction): void {
    const ns = this.store.namespace(IDENTITY_STATE_NS);
    ns.put(tx, 'trust', this.trust.export());
    ns.put(tx, 'records', this.records.export());
  }

  /** Puts our identity material into `tx`. */
  putIdentity(tx: Transaction): void {
    const userSeed = this.identity.userKey?.privateKey;
    this.store.namespace(PROFILE_NS).put(
      tx,
      'identity',
      encodeIdentity({
        userKeySeed: userSeed === undefined ? undefined : userSeed.slice(),
        deviceKeySeed: this.identity.deviceKey.privateKey.slice(),
        record: encodeIdentityRecord(this.identity.record),
        createdAtMs: BigInt(this.identity.createdAtMs),
      }),
    );
  }

  /**
   * Puts the KeyPackage bundles we hold into `tx`: after packages were made (a top-up) and in the
   * batch of a join that consumed one (its private keys must not survive on disk).
   */
  putKeyPackages(tx: Transaction): void {
    putKeyPackages(this.store, tx, this.keyPackages.client);
  }

  putSettings(tx: Transaction): void {
    this.store.namespace(PROFILE_NS).put(tx, 'settings', encodeSettings(this.settings));
  }

  /** Takes everything down in reverse order and wipes the keys; safe to call twice. */
  async close(options: { keepStore?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.identityGossip.close();
    this.keyPackages.holder.close();
    this.keyPackages.client.destroy();
    this.keyPackages.signatureKeyPair.privateKey.fill(0);
    await this.ports.close().catch(() => undefined);
    await this.node.stop().catch(() => undefined);
    if (this.identity.userKey !== undefined) zeroizeKey(this.identity.userKey);
    zeroizeKey(this.identity.deviceKey);
    if (options.keepStore !== true) await this.store.close();
  }
}

/** Receives a signed identity record accepted by gossip, with the neighbour that sent it. */
export type RecordSink = (record: Uint8Array, from: string) => void;

/** Gossip validation: well formed and signed by its user key; what it means is decided later. */
function validateGossipRecord(bytes: Uint8Array): 'accept' | 'reject' {
  try {
    verifyIdentityRecord(decodeIdentityRecord(bytes));
    return 'accept';
  } catch {
    return 'reject';
  }
}

async function makeKeyPackageParts(
  ctx: AppContext,
  store: Store,
  identity: IdentityKeys,
  ports: Libp2pPorts,
  contacts: ContactBook,
): Promise<KeyPackageParts> {
  const cert = findDevice(identity.record, identity.deviceKey.publicKey);
  if (cert === undefined) {
    throw new AppError('internal', 'our own record does not list this device');
  }
  const { client, signatureKeyPair } = await loadKeyPackageClient(
    store,
    ctx.suite,
    { userKey: identity.record.userKey, certificate: cert, key: identity.deviceKey },
    ctx.nowSeconds(),
  );
  // What we hold for contacts outlives a restart (holdings.ts).
  const holdings = new Holdings(store);
  const holder: KeyPackageHolder = new KeyPackageHolder({
    requests: ports.requests,
    suite: ctx.suite,
    onChange: (owner) => holdings.saveShelf(holder, owner),
    // Only contacts' devices may leave packages with us.
    acceptDeposit: (from, owner) => {
      const id = contacts.contactOfPeer(from);
      if (id !== undefined) ctx.keyPackageOwnerSeen(id, owner);
      return id !== undefined;
    },
  });
  await holdings.restoreShelves(holder);
  const publisher = new KeyPackagePublisher({
    client,
    signatureKeyPair,
    requests: ports.requests,
    // Packages a contact may add us with must list what Parley groups require.
    capabilities: parleyCapabilities(ctx.suite, CredentialType.basic),
  });
  return { client, signatureKeyPair, holder, publisher };
}
