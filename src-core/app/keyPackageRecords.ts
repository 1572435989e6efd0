/**
 * Our KeyPackages in the store. Contacts hold them for weeks, so their private keys must outlive
 * the process: the leaf key that signs them (certified by the device key, bound to no group) and
 * every bundle we still hold live in the `key-packages` namespace, rewritten whenever the set
 * changes (a batch made, a package consumed by a join, expired ones pruned).
 *
 * ```
 * struct {
 *   uint16 version = 1;
 *   opaque signature_private_key<V>;
 *   opaque signature_public_key<V>;
 *   opaque parley_identity<V>;         // the ParleyIdentity the leaf credential carries
 * } StoredKeyPackageLeaf;              // entry `leaf`
 *
 * struct { KeyPackage key_package; opaque init_private_key<V>; opaque encryption_private_key<V>; }
 *   StoredBundle;
 * struct { uint16 version = 1; StoredBundle bundles<V>; } StoredBundles;   // entry `bundles`
 * ```
 * A leaf is reused while its certificate outlives a new KeyPackage's lifetime by a day; then a new
 * leaf is made and the old bundles are wiped (their packages could not be validated any more).
 */
import { decode, encode, opaque, struct, uint16, vector } from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import type { CipherSuite, KeyPair } from '../crypto/types.js';
import type { DeviceCertificate, DeviceKeyPair, ParleyIdentity } from '../identity/index.js';
import {
  decodeParleyIdentity,
  encodeParleyIdentity,
  newLeafCredential,
  parleyCredential,
} from '../identity/index.js';
import { MlsClient } from '../mls/client/index.js';
import { DEFAULT_KEY_PACKAGE_VALIDITY } from '../mls/group/config.js';
import type { KeyPackageBundle } from '../mls/group/keyPackages.js';
import type { KeyPackage } from '../mls/keyPackage.js';
import { keyPackageCodec, keyPackageRef } from '../mls/keyPackage.js';
import type { Store, Transaction } from '../store/index.js';
import { AppError } from './errors.js';

export const KEY_PACKAGES_NS = 'key-packages';
const VERSION = 1;
/** A KeyPackage leaf certificate's life: a year, renewed when under KeyPackage life + a day. */
export const KP_LEAF_LIFETIME_SECONDS = 365n * 24n * 3600n;
const RENEW_MARGIN_SECONDS = DEFAULT_KEY_PACKAGE_VALIDITY + 24n * 3600n;

interface StoredLeaf {
  readonly version: number;
  readonly signaturePrivateKey: Uint8Array;
  readonly signaturePublicKey: Uint8Array;
  readonly parleyIdentity: Uint8Array;
}

const storedLeafCodec: Codec<StoredLeaf> = struct<StoredLeaf>({
  version: uint16,
  signaturePrivateKey: opaque,
  signaturePublicKey: opaque,
  parleyIdentity: opaque,
});

interface StoredBundle {
  readonly keyPackage: KeyPackage;
  readonly initPrivateKey: Uint8Array;
  readonly encryptionPrivateKey: Uint8Array;
}

interface StoredBundles {
  readonly version: number;
  readonly bundles: StoredBundle[];
}

const storedBundlesCodec: Codec<StoredBundles> = struct<StoredBundles>({
  version: uint16,
  bundles: vector(
    struct<StoredBundle>({
      keyPackage: keyPackageCodec,
      initPrivateKey: opaque,
      encryptionPrivateKey: opaque,
    }),
  ),
});

function decodeOrDamage<T extends { version: number }>(
  codec: Codec<T>,
  b: Uint8Array,
  what: string,
): T {
  let v: T;
  try {
    v = decode(codec, b);
  } catch (cause) {
    throw new AppError('internal', `the stored ${what} is malformed`, { cause });
  }
  if (v.version !== VERSION)
    throw new AppError('internal', `the stored ${what} has version ${v.version}`);
  return v;
}

export interface LoadedKeyPackageClient {
  readonly client: MlsClient;
  readonly signatureKeyPair: KeyPair;
  /** True when the leaf (and so every package) is new: contacts need a fresh batch. */
  readonly fresh: boolean;
}

/**
 * The KeyPackage client of this session: the stored leaf and bundles when still good, else a new
 * leaf (stored at once, with a last-resort package).
 */
export async function loadKeyPackageClient(
  store: Store,
  suite: CipherSuite,
  device: { userKey: Uint8Array; certificate: DeviceCertificate; key: DeviceKeyPair },
  now: bigint,
): Promise<LoadedKeyPackageClient> {
  const ns = store.namespace(KEY_PACKAGES_NS);
  const leafBytes = await ns.get('leaf');
  if (leafBytes !== undefined) {
    const leaf = decodeOrDamage(storedLeafCodec, leafBytes, 'KeyPackage leaf');
    let identity: ParleyIdentity;
    try {
      identity = decodeParleyIdentity(leaf.parleyIdentity);
    } catch (cause) {
      throw new AppError('internal', 'the stored KeyPackage leaf identity is malformed', { cause });
    }
    const sameDevice =
      Buffer.compare(identity.deviceCertificate.deviceKey, device.key.publicKey) === 0;
    if (sameDevice && identity.leafCertificate.notAfter - now > RENEW_MARGIN_SECONDS) {
      const signatureKeyPair = {
        privateKey: leaf.signaturePrivateKey,
        publicKey: leaf.signaturePublicKey,
      };
      const client = new MlsClient({
        suite,
        credential: parleyCredential(identity),
        signatureKeyPair,
      });
      const bundlesBytes = await ns.get('bundles');
      if (bundlesBytes !== undefined) {
        const stored = decodeOrDamage(storedBundlesCodec, bundlesBytes, 'KeyPackages');
        client.restoreKeyPackages(
          stored.bundles.map((b): KeyPackageBundle => ({
            keyPackage: b.keyPackage,
            ref: keyPackageRef(suite, b.keyPackage),
            initPrivateKey: b.initPrivateKey,
            encryptionPrivateKey: b.encryptionPrivateKey,
            signaturePrivateKey: signatureKeyPair.privateKey,
          })),
        );
      }
      client.pruneExpiredKeyPackages(now);
      if (!client.keyPackageList().some((p) => p.lastResort)) {
        client.createKeyPackages({ count: 0, lastResort: true, now });
      }
      await store.write((tx) => putKeyPackages(store, tx, client));
      return { client, signatureKeyPair, fresh: false };
    }
    leaf.signaturePrivateKey.fill(0);
  }
  const leaf = newLeafCredential({
    suite,
    userKey: device.userKey,
    deviceCertificate: device.certificate,
    deviceKey: device.key,
    notBefore: now - 300n,
    notAfter: now + KP_LEAF_LIFETIME_SECONDS,
  });
  const client = new MlsClient({
    suite,
    credential: leaf.credential,
    signatureKeyPair: leaf.signatureKeyPair,
  });
  client.createKeyPackages({ count: 0, lastResort: true, now });
  await store.write((tx) => {
    ns.put(
      tx,
      'leaf',
      encode(storedLeafCodec, {
        version: VERSION,
        signaturePrivateKey: leaf.signatureKeyPair.privateKey,
        signaturePublicKey: leaf.signatureKeyPair.publicKey,
        parleyIdentity: encodeParleyIdentity(leaf.identity),
      }),
    );
    putKeyPackages(store, tx, client);
  });
  return { client, signatureKeyPair: leaf.signatureKeyPair, fresh: true };
}

/** Puts the bundles the client holds now into `tx` (after a batch, a join, a prune). */
export function putKeyPackages(store: Store, tx: Transaction, client: MlsClient): void {
  const value = encode(storedBundlesCodec, {
    version: VERSION,
    bundles: client.keyPackageBundles().map((b) => ({
      keyPackage: b.keyPackage,
      initPrivateKey: b.initPrivateKey,
      encryptionPrivateKey: b.encryptionPrivateKey,
    })),
  });
  store.namespace(KEY_PACKAGES_NS).put(tx, 'bundles', value);
  // The transaction holds the value encrypted already.
  value.fill(0);
}
