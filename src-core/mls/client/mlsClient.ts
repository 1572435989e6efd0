/**
 * One MLS client (a device in a group, RFC 9420 §2): its cipher suite, credential and signature
 * key, its KeyPackages, and the groups it creates or joins. Pure and synchronous; the layers
 * above store what it produces (see `src-core/mls/storage` for group states).
 */
import type { CipherSuite, KeyPair } from '../../crypto/types.js';
import type { Credential } from '../credential.js';
import { MlsError } from '../errors.js';
import { WireFormat } from '../framing/framedContent.js';
import { decodeMlsMessage } from '../framing/mlsMessage.js';
import type { GroupConfig } from '../group/config.js';
import { createGroup } from '../group/createGroup.js';
import type { CreateGroupOptions } from '../group/createGroup.js';
import { joinFromWelcome } from '../group/join.js';
import type { KeyPackageBundle } from '../group/keyPackages.js';
import type { RatchetTreeNodes } from '../ratchetTreeExtension.js';
import type { Welcome } from '../welcome.js';
import { Group } from './group.js';
import type {
  KeyPackageBatch,
  KeyPackageBatchOptions,
  PublishedKeyPackage,
} from './keyPackageStore.js';
import { KeyPackageStore } from './keyPackageStore.js';

export interface MlsClientOptions {
  readonly suite: CipherSuite;
  readonly credential: Credential;
  /**
   * The key our leaves sign with. The identity layer certifies it; the client never wipes it
   * (it is the caller's).
   */
  readonly signatureKeyPair: KeyPair;
  /** The config of the groups this client creates and joins, unless given per group. */
  readonly config?: GroupConfig;
}

export type NewGroupOptions = Pick<
  CreateGroupOptions,
  'groupId' | 'capabilities' | 'leafExtensions' | 'extensions' | 'config'
>;

export interface JoinGroupOptions {
  /** The tree, when the Welcome's GroupInfo does not carry it. */
  readonly ratchetTree?: RatchetTreeNodes;
  readonly config?: GroupConfig;
  /** §12.4.3.1: the group id must differ from those of our other groups. */
  readonly isGroupIdInUse?: (groupId: Uint8Array) => boolean;
}

export class MlsClient {
  readonly suite: CipherSuite;
  readonly credential: Credential;
  readonly signaturePublicKey: Uint8Array;
  private readonly signatureKeyPair: KeyPair;
  private readonly config: GroupConfig;
  private readonly keyPackages: KeyPackageStore;

  constructor(options: MlsClientOptions) {
    this.suite = options.suite;
    this.credential = options.credential;
    this.signatureKeyPair = options.signatureKeyPair;
    this.signaturePublicKey = options.signatureKeyPair.publicKey;
    this.config = options.config ?? {};
    this.keyPackages = new KeyPackageStore(this.suite, this.credential, this.signatureKeyPair);
  }

  /** `count` one-time KeyPackages and a new last-resort one, for our contacts to hold. */
  createKeyPackages(options: KeyPackageBatchOptions): KeyPackageBatch {
    return this.keyPackages.createBatch(options);
  }

  /** The KeyPackages whose private keys we still hold. */
  keyPackageList(): PublishedKeyPackage[] {
    return this.keyPackages.list();
  }

  /** Refs of one-time KeyPackages used since the last call: tell the contacts to drop them. */
  takeConsumedKeyPackages(): Uint8Array[] {
    return this.keyPackages.takeConsumed();
  }

  /** Our KeyPackage bundles with their private keys, to store (see KeyPackageStore). */
  keyPackageBundles(): KeyPackageBundle[] {
    return this.keyPackages.bundlesToStore();
  }

  /** Restores stored bundles (made by a client with this credential and signature key). */
  restoreKeyPackages(bundles: readonly KeyPackageBundle[]): void {
    this.keyPackages.restore(bundles);
  }

  /** Deletes the KeyPackages (and their private keys) that expired before `now` (seconds). */
  pruneExpiredKeyPackages(now: bigint): number {
    return this.keyPackages.pruneExpired(now);
  }

  /** A new group with us alone in it, epoch 0. */
  createGroup(options: NewGroupOptions = {}): Group {
    return new Group(
      createGroup({
        suite: this.suite,
        credential: this.credential,
        signatureKeyPair: this.signatureKeyPair,
        config: options.config ?? this.config,
        ...(options.groupId === undefined ? {} : { groupId: options.groupId }),
        ...(options.capabilities === undefined ? {} : { capabilities: options.capabilities }),
        ...(options.leafExtensions === undefined ? {} : { leafExtensions: options.leafExtensions }),
        ...(options.extensions === undefined ? {} : { extensions: options.extensions }),
      }),
    );
  }

  /**
   * Joins from a Welcome (MLSMessage bytes) sent for one of our KeyPackages. A one-time
   * KeyPackage's private keys are deleted once the join succeeds; a failed join deletes nothing
   * (the Welcome may be forged). Throws MlsError ('no_matching_key_package' when the Welcome is
   * for none of the KeyPackages we hold).
   */
  joinGroup(welcome: Uint8Array, options: JoinGroupOptions = {}): Group {
    const message = decodeMlsMessage(welcome);
    if (message.wireFormat !== WireFormat.welcome) {
      throw new MlsError('invalid_wire_format', 'not a Welcome');
    }
    const bundle = this.bundleFor(message.welcome);
    const state = joinFromWelcome({
      welcome: message.welcome,
      keyPackages: [bundle],
      suite: this.suite,
      config: options.config ?? this.config,
      ...(options.ratchetTree === undefined ? {} : { ratchetTree: options.ratchetTree }),
      ...(options.isGroupIdInUse === undefined ? {} : { isGroupIdInUse: options.isGroupIdInUse }),
    });
    this.keyPackages.used(bundle);
    return new Group(state);
  }

  private bundleFor(welcome: Welcome): KeyPackageBundle {
    if (welcome.cipherSuite !== this.suite.id) {
      throw new MlsError('unsupported_cipher_suite', `Welcome for suite ${welcome.cipherSuite}`);
    }
    for (const entry of welcome.secrets) {
      const bundle = this.keyPackages.find(entry.newMember);
      if (bundle !== undefined) return bundle;
    }
    throw new MlsError('no_matching_key_package', 'the Welcome is for none of our KeyPackages');
  }

  /** Deletes every KeyPackage this client holds (the device is being retired). */
  destroy(): void {
    this.keyPackages.clear();
  }
}
