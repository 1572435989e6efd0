/**
 * Our own KeyPackages (RFC 9420 §10) with the private keys that go with them: the init key (used
 * once, to open a Welcome, then deleted), the leaf's encryption key and its signature key.
 */
import type { CipherSuite, KeyPair } from '../../crypto/types.js';
import type { Capabilities, Lifetime } from '../capabilities.js';
import type { Credential } from '../credential.js';
import type { Extension } from '../extension.js';
import { PROTOCOL_VERSION_MLS10 } from '../groupContext.js';
import type { KeyPackage } from '../keyPackage.js';
import { keyPackageRef, signKeyPackage } from '../keyPackage.js';
import { LeafNodeSource, checkLeafNodeCapabilities, signLeafNode } from '../leafNode.js';
import { DEFAULT_KEY_PACKAGE_VALIDITY, systemNow } from './config.js';

/**
 * The `last_resort` KeyPackage extension of draft-ietf-mls-extensions (the value OpenMLS and
 * mls-rs use): a KeyPackage marked with it may be used by several joins, so its init key is kept.
 */
export const LAST_RESORT_EXTENSION_TYPE = 0x000a;

export interface KeyPackageBundle {
  readonly keyPackage: KeyPackage;
  readonly ref: Uint8Array;
  /** Wiped by a successful join unless the KeyPackage is last-resort. */
  readonly initPrivateKey: Uint8Array;
  /** Becomes our leaf's private key in the group we join. */
  readonly encryptionPrivateKey: Uint8Array;
  readonly signaturePrivateKey: Uint8Array;
}

export interface KeyPackageOptions {
  readonly suite: CipherSuite;
  readonly credential: Credential;
  readonly signatureKeyPair: KeyPair;
  /** Default: `defaultCapabilities`. */
  readonly capabilities?: Capabilities;
  /** Default: from now for `validFor` seconds. */
  readonly lifetime?: Lifetime;
  readonly now?: bigint;
  readonly validFor?: bigint;
  /** KeyPackage extensions. */
  readonly extensions?: readonly Extension[];
  /** LeafNode extensions (their types must be in the capabilities). */
  readonly leafExtensions?: readonly Extension[];
  /** Mark as last resort (reusable). */
  readonly lastResort?: boolean;
}

/** mls10, the suite, no non-default extension or proposal types, the credential's type. */
export function defaultCapabilities(suite: CipherSuite, credentialType: number): Capabilities {
  return {
    versions: [PROTOCOL_VERSION_MLS10],
    cipherSuites: [suite.id],
    extensions: [],
    proposals: [],
    credentials: [credentialType],
  };
}

/**
 * How far a new KeyPackage's not_before lies in the past. Peers' clocks differ: a KeyPackage made
 * on a clock a second ahead of its verifier's would otherwise be "not yet valid" there (§7.3
 * checks not_before exactly). OpenMLS backdates by the same hour.
 */
export const KEY_PACKAGE_CLOCK_SKEW = 3600n;

/** A lifetime from `now` − KEY_PACKAGE_CLOCK_SKEW to `now` + `validFor` seconds. */
export function lifetimeFrom(now: bigint, validFor: bigint): Lifetime {
  return {
    notBefore: now > KEY_PACKAGE_CLOCK_SKEW ? now - KEY_PACKAGE_CLOCK_SKEW : 0n,
    notAfter: now + validFor,
  };
}

/** Whether a KeyPackage is marked last resort. */
export function isLastResort(kp: KeyPackage): boolean {
  return kp.extensions.some((e) => e.extensionType === LAST_RESORT_EXTENSION_TYPE);
}

/** Creates and signs a KeyPackage with fresh init and encryption keys. */
export function createKeyPackage(options: KeyPackageOptions): KeyPackageBundle {
  const { suite } = options;
  const init = suite.generateHpkeKeyPair();
  const encryption = suite.generateHpkeKeyPair();
  const lifetime =
    options.lifetime ??
    lifetimeFrom(options.now ?? systemNow(), options.validFor ?? DEFAULT_KEY_PACKAGE_VALIDITY);
  const leafNode = signLeafNode(
    suite,
    {
      encryptionKey: encryption.publicKey,
      signatureKey: options.signatureKeyPair.publicKey,
      credential: options.credential,
      capabilities:
        options.capabilities ?? defaultCapabilities(suite, options.credential.credentialType),
      leafNodeSource: LeafNodeSource.keyPackage,
      lifetime,
      extensions: options.leafExtensions ?? [],
    },
    options.signatureKeyPair.privateKey,
  );
  checkLeafNodeCapabilities(leafNode);
  const extensions = [...(options.extensions ?? [])];
  if (
    options.lastResort === true &&
    !extensions.some((e) => e.extensionType === LAST_RESORT_EXTENSION_TYPE)
  ) {
    extensions.push({
      extensionType: LAST_RESORT_EXTENSION_TYPE,
      extensionData: new Uint8Array(0),
    });
  }
  const keyPackage = signKeyPackage(
    suite,
    {
      version: PROTOCOL_VERSION_MLS10,
      cipherSuite: suite.id,
      initKey: init.publicKey,
      leafNode,
      extensions,
    },
    options.signatureKeyPair.privateKey,
  );
  return {
    keyPackage,
    ref: keyPackageRef(suite, keyPackage),
    initPrivateKey: init.privateKey,
    encryptionPrivateKey: encryption.privateKey,
    signaturePrivateKey: options.signatureKeyPair.privateKey,
  };
}
