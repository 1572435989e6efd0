import { encode, opaque, uint16 } from '../codec/index.js';
import type { Codec, Writer } from '../codec/index.js';
import type { CipherSuite } from '../crypto/types.js';
import { MlsError } from './errors.js';
import type { Extension } from './extension.js';
import { extensionsCodec } from './extension.js';
import { PROTOCOL_VERSION_MLS10 } from './groupContext.js';
import type { LeafNode, LifetimePolicy } from './leafNode.js';
import {
  LeafNodeSource,
  checkDistinctExtensions,
  leafNodeCodec,
  verifyLeafNode,
} from './leafNode.js';

/**
 * ```
 * struct {
 *     ProtocolVersion version;
 *     CipherSuite cipher_suite;
 *     HPKEPublicKey init_key;
 *     LeafNode leaf_node;
 *     Extension extensions<V>;
 * } KeyPackageTBS;
 * ```
 */
export interface KeyPackageTBS {
  readonly version: number;
  readonly cipherSuite: number;
  readonly initKey: Uint8Array;
  readonly leafNode: LeafNode;
  readonly extensions: readonly Extension[];
}

/**
 * ```
 * struct {
 *     ProtocolVersion version;
 *     CipherSuite cipher_suite;
 *     HPKEPublicKey init_key;
 *     LeafNode leaf_node;
 *     Extension extensions<V>;
 *     // SignWithLabel(., "KeyPackageTBS", KeyPackageTBS)
 *     opaque signature<V>;
 * } KeyPackage;
 * ```
 * `version` and `cipher_suite` are kept as read: checking them against what this client
 * supports is `verifyKeyPackage`'s job, not the decoder's.
 */
export interface KeyPackage extends KeyPackageTBS {
  readonly signature: Uint8Array;
}

const kpExtensionsCodec = extensionsCodec as Codec<readonly Extension[]>;

function encodeTbs(w: Writer, v: KeyPackageTBS): void {
  uint16.encode(w, v.version);
  uint16.encode(w, v.cipherSuite);
  opaque.encode(w, v.initKey);
  leafNodeCodec.encode(w, v.leafNode);
  kpExtensionsCodec.encode(w, v.extensions);
}

export const keyPackageTbsCodec: Codec<KeyPackageTBS> = {
  encode: encodeTbs,
  decode: (r) => ({
    version: uint16.decode(r),
    cipherSuite: uint16.decode(r),
    initKey: opaque.decode(r),
    leafNode: leafNodeCodec.decode(r),
    extensions: kpExtensionsCodec.decode(r),
  }),
};

export const keyPackageCodec: Codec<KeyPackage> = {
  encode(w, v) {
    encodeTbs(w, v);
    opaque.encode(w, v.signature);
  },
  decode(r) {
    const tbs = keyPackageTbsCodec.decode(r);
    return { ...tbs, signature: opaque.decode(r) };
  },
};

const KEY_PACKAGE_LABEL = 'KeyPackageTBS';

/** Signs a KeyPackage with the private key of `tbs.leafNode.signature_key` (§10). */
export function signKeyPackage(
  suite: CipherSuite,
  tbs: KeyPackageTBS,
  signaturePrivateKey: Uint8Array,
): KeyPackage {
  const content = encode(keyPackageTbsCodec, tbs);
  return {
    version: tbs.version,
    cipherSuite: tbs.cipherSuite,
    initKey: tbs.initKey,
    leafNode: tbs.leafNode,
    extensions: tbs.extensions,
    signature: suite.signWithLabel(signaturePrivateKey, KEY_PACKAGE_LABEL, content),
  };
}

/**
 * KeyPackage validation (§10.1) as far as it depends on the KeyPackage alone:
 *  - version is mls10 and cipher_suite is `suite`'s (a group must also check they match its own),
 *  - the leaf node has source key_package, a lifetime covering `policy.now`, a valid signature,
 *    and lists its credential type and non-default extensions in its own capabilities,
 *  - the KeyPackage signature verifies under leaf_node.signature_key,
 *  - init_key differs from leaf_node.encryption_key,
 *  - no extension type appears twice in either extension list.
 * Unknown extensions in KeyPackage.extensions are ignored, as §13.4 requires (GREASE values may
 * appear there without being listed in the capabilities).
 * Validating the credential with the Authentication Service is left to the caller.
 * Throws MlsError naming the failed rule.
 */
export function verifyKeyPackage(suite: CipherSuite, kp: KeyPackage, policy: LifetimePolicy): void {
  if (kp.version !== PROTOCOL_VERSION_MLS10) {
    throw new MlsError('unsupported_version', `KeyPackage version ${kp.version}`);
  }
  if (kp.cipherSuite !== suite.id) {
    throw new MlsError(
      'unsupported_cipher_suite',
      `KeyPackage cipher suite ${kp.cipherSuite}, expected ${suite.id}`,
    );
  }
  if (bytesEqual(kp.initKey, kp.leafNode.encryptionKey)) {
    throw new MlsError(
      'init_key_equals_encryption_key',
      'KeyPackage init_key equals leaf encryption_key',
    );
  }
  checkDistinctExtensions(kp.extensions, 'KeyPackage');
  verifyLeafNode(suite, kp.leafNode, { source: LeafNodeSource.keyPackage, lifetime: policy });
  const content = encode(keyPackageTbsCodec, kp);
  if (!suite.verifyWithLabel(kp.leafNode.signatureKey, KEY_PACKAGE_LABEL, content, kp.signature)) {
    throw new MlsError('invalid_signature', 'KeyPackage signature does not verify');
  }
}

/** KeyPackageRef = MakeKeyPackageRef(encoded KeyPackage) under the KeyPackage's suite (§5.2). */
export function keyPackageRef(suite: CipherSuite, kp: KeyPackage): Uint8Array {
  if (kp.cipherSuite !== suite.id) {
    throw new MlsError(
      'unsupported_cipher_suite',
      `KeyPackage cipher suite ${kp.cipherSuite}, suite ${suite.id}`,
    );
  }
  return suite.makeKeyPackageRef(encode(keyPackageCodec, kp));
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
