/**
 * A client's own KeyPackages (RFC 9420 §10) and their private keys, from creation to deletion.
 *
 * Contacts hold a batch of one-time KeyPackages and one last-resort KeyPackage for us, so that we
 * can be added while offline. A one-time KeyPackage's private keys are deleted as soon as a
 * Welcome used it (forward secrecy: a later theft opens nothing) and its ref is remembered as
 * consumed, so the contacts can be told to drop it. A last-resort KeyPackage stays until it
 * expires or is replaced. Expired KeyPackages are deleted by `pruneExpired`.
 */
import type { CipherSuite, KeyPair } from '../../crypto/types.js';
import type { Capabilities } from '../capabilities.js';
import type { Credential } from '../credential.js';
import { MlsError } from '../errors.js';
import { WireFormat } from '../framing/framedContent.js';
import { encodeMlsMessage } from '../framing/mlsMessage.js';
import { PROTOCOL_VERSION_MLS10 } from '../groupContext.js';
import type { KeyPackageBundle } from '../group/keyPackages.js';
import { createKeyPackage, isLastResort } from '../group/keyPackages.js';
import type { KeyPackage } from '../keyPackage.js';
import { LeafNodeSource } from '../leafNode.js';

/** One of our KeyPackages as we hand it out. */
export interface PublishedKeyPackage {
  /** KeyPackageRef (§5.2), the key contacts and Welcomes refer to it by. */
  readonly ref: Uint8Array;
  readonly keyPackage: KeyPackage;
  /** The KeyPackage as an MLSMessage, ready to give to contacts. */
  readonly message: Uint8Array;
  readonly lastResort: boolean;
  /** End of its lifetime, seconds since the Unix epoch. */
  readonly notAfter: bigint;
}

export interface KeyPackageBatchOptions {
  /** How many one-time KeyPackages. */
  readonly count: number;
  /** Also make a last-resort KeyPackage (replacing the previous one). Default true. */
  readonly lastResort?: boolean;
  /** Seconds of validity; default the group config's (90 days). */
  readonly validFor?: bigint;
  readonly now?: bigint;
  readonly capabilities?: Capabilities;
}

export interface KeyPackageBatch {
  readonly oneTime: readonly PublishedKeyPackage[];
  readonly lastResort: PublishedKeyPackage | undefined;
}

function refKey(ref: Uint8Array): string {
  let s = '';
  for (const b of ref) s += b.toString(16).padStart(2, '0');
  return s;
}

/** End of a KeyPackage's lifetime (its leaf always has one: leaf_node_source = key_package). */
function notAfter(kp: KeyPackage): bigint {
  const leaf = kp.leafNode;
  return leaf.leafNodeSource === LeafNodeSource.keyPackage ? leaf.lifetime.notAfter : 0n;
}

function wipe(bundle: KeyPackageBundle): void {
  bundle.initPrivateKey.fill(0);
  bundle.encryptionPrivateKey.fill(0);
}

/** Most one-time KeyPackages made in one batch (each costs two key pairs and two signatures). */
export const MAX_BATCH = 1000;

export class KeyPackageStore {
  private readonly bundles = new Map<string, KeyPackageBundle>();
  private readonly consumed: Uint8Array[] = [];

  constructor(
    private readonly suite: CipherSuite,
    private readonly credential: Credential,
    private readonly signatureKeyPair: KeyPair,
  ) {}

  /** Makes `count` one-time KeyPackages and (by default) a new last-resort one. */
  createBatch(options: KeyPackageBatchOptions): KeyPackageBatch {
    if (!Number.isInteger(options.count) || options.count < 0 || options.count > MAX_BATCH) {
      throw new MlsError('invalid_argument', `batch of ${options.count} KeyPackages`);
    }
    const make = (lastResort: boolean): PublishedKeyPackage => {
      const bundle = createKeyPackage({
        suite: this.suite,
        credential: this.credential,
        signatureKeyPair: this.signatureKeyPair,
        lastResort,
        ...(options.validFor === undefined ? {} : { validFor: options.validFor }),
        ...(options.now === undefined ? {} : { now: options.now }),
        ...(options.capabilities === undefined ? {} : { capabilities: options.capabilities }),
      });
      this.bundles.set(refKey(bundle.ref), bundle);
      return published(bundle);
    };
    const oneTime = Array.from({ length: options.count }, () => make(false));
    let lastResort: PublishedKeyPackage | undefined;
    if (options.lastResort !== false) {
      for (const [k, b] of this.bundles) {
        if (isLastResort(b.keyPackage)) this.delete(k, b);
      }
      lastResort = make(true);
    }
    return { oneTime, lastResort };
  }

  /** The KeyPackages whose private keys we still hold. */
  list(): PublishedKeyPackage[] {
    return [...this.bundles.values()].map(published);
  }

  /** The bundle a Welcome entry names, if we still hold it. */
  find(ref: Uint8Array): KeyPackageBundle | undefined {
    return this.bundles.get(refKey(ref));
  }

  /**
   * Called after a successful join with `bundle`: a one-time KeyPackage is deleted (its keys
   * wiped) and remembered as consumed; a last-resort one stays.
   */
  used(bundle: KeyPackageBundle): void {
    if (isLastResort(bundle.keyPackage)) return;
    this.delete(refKey(bundle.ref), bundle);
    this.consumed.push(bundle.ref.slice());
  }

  /** Refs of one-time KeyPackages used since the last call, for the contacts holding them. */
  takeConsumed(): Uint8Array[] {
    return this.consumed.splice(0, this.consumed.length);
  }

  /** Deletes (and wipes) every KeyPackage whose lifetime ended before `now`; returns how many. */
  pruneExpired(now: bigint): number {
    let n = 0;
    for (const [k, b] of this.bundles) {
      if (notAfter(b.keyPackage) < now) {
        this.delete(k, b);
        n++;
      }
    }
    return n;
  }

  /**
   * The bundles we hold (private keys included), for the caller to store encrypted so that
   * packages handed to contacts still open after a restart. The arrays are the live ones: encode
   * them, do not keep them.
   */
  bundlesToStore(): KeyPackageBundle[] {
    return [...this.bundles.values()];
  }

  /** Puts back bundles stored by `bundlesToStore` (a restart); a ref already held is skipped. */
  restore(bundles: readonly KeyPackageBundle[]): void {
    for (const b of bundles) {
      const k = refKey(b.ref);
      if (!this.bundles.has(k)) this.bundles.set(k, b);
    }
  }

  /** Deletes every KeyPackage (the client is going away). */
  clear(): void {
    for (const [k, b] of this.bundles) this.delete(k, b);
  }

  private delete(key: string, bundle: KeyPackageBundle): void {
    wipe(bundle);
    this.bundles.delete(key);
  }
}

function published(bundle: KeyPackageBundle): PublishedKeyPackage {
  return {
    ref: bundle.ref,
    keyPackage: bundle.keyPackage,
    message: encodeMlsMessage({
      version: PROTOCOL_VERSION_MLS10,
      wireFormat: WireFormat.keyPackage,
      keyPackage: bundle.keyPackage,
    }),
    lastResort: isLastResort(bundle.keyPackage),
    notAfter: notAfter(bundle.keyPackage),
  };
}
