import { CodecError, Writer, opaque, uint32, uint8 } from '../codec/index.js';
import type { Codec, Reader } from '../codec/index.js';
import type { CipherSuite } from '../crypto/types.js';
import type { Capabilities, Lifetime } from './capabilities.js';
import {
  capabilitiesCodec,
  lifetimeCodec,
  supportsCredential,
  supportsExtension,
} from './capabilities.js';
import type { Credential } from './credential.js';
import { credentialCodec } from './credential.js';
import { MlsError } from './errors.js';
import type { Extension } from './extension.js';
import { extensionsCodec } from './extension.js';

/** `enum { reserved(0), key_package(1), update(2), commit(3), (255) } LeafNodeSource;` */
export const LeafNodeSource = { keyPackage: 1, update: 2, commit: 3 } as const;
export type LeafNodeSource = (typeof LeafNodeSource)[keyof typeof LeafNodeSource];

/** The fields of a LeafNode before the `leaf_node_source` select. */
interface LeafNodeHead {
  readonly encryptionKey: Uint8Array;
  readonly signatureKey: Uint8Array;
  readonly credential: Credential;
  readonly capabilities: Capabilities;
}

/**
 * ```
 * select (LeafNode.leaf_node_source) {
 *     case key_package: Lifetime lifetime;
 *     case update:      struct{};
 *     case commit:      opaque parent_hash<V>;
 * };
 * ```
 */
export type LeafNodeSourceFields =
  | { readonly leafNodeSource: typeof LeafNodeSource.keyPackage; readonly lifetime: Lifetime }
  | { readonly leafNodeSource: typeof LeafNodeSource.update }
  | { readonly leafNodeSource: typeof LeafNodeSource.commit; readonly parentHash: Uint8Array };

/** Everything a LeafNode's signature covers, apart from the group context of LeafNodeTBS. */
export type LeafNodeContent = LeafNodeHead &
  LeafNodeSourceFields & { readonly extensions: readonly Extension[] };

/**
 * ```
 * struct {
 *     HPKEPublicKey encryption_key;
 *     SignaturePublicKey signature_key;
 *     Credential credential;
 *     Capabilities capabilities;
 *
 *     LeafNodeSource leaf_node_source;
 *     select (LeafNode.leaf_node_source) {
 *         case key_package:
 *             Lifetime lifetime;
 *
 *         case update:
 *             struct{};
 *
 *         case commit:
 *             opaque parent_hash<V>;
 *     };
 *
 *     Extension extensions<V>;
 *     // SignWithLabel(., "LeafNodeTBS", LeafNodeTBS)
 *     opaque signature<V>;
 * } LeafNode;
 * ```
 */
export type LeafNode = LeafNodeContent & { readonly signature: Uint8Array };

const leafNodeExtensionsCodec = extensionsCodec as Codec<readonly Extension[]>;

function encodeContent(w: Writer, v: LeafNodeContent): void {
  opaque.encode(w, v.encryptionKey);
  opaque.encode(w, v.signatureKey);
  credentialCodec.encode(w, v.credential);
  capabilitiesCodec.encode(w, v.capabilities);
  uint8.encode(w, v.leafNodeSource);
  switch (v.leafNodeSource) {
    case LeafNodeSource.keyPackage:
      lifetimeCodec.encode(w, v.lifetime);
      break;
    case LeafNodeSource.update:
      break;
    case LeafNodeSource.commit:
      opaque.encode(w, v.parentHash);
      break;
    default:
      throw new CodecError(
        'invalid_value',
        `no encoder for leaf_node_source ${(v as { leafNodeSource: number }).leafNodeSource}`,
      );
  }
  leafNodeExtensionsCodec.encode(w, v.extensions);
}

function decodeContent(r: Reader): LeafNodeContent {
  const head: LeafNodeHead = {
    encryptionKey: opaque.decode(r),
    signatureKey: opaque.decode(r),
    credential: credentialCodec.decode(r),
    capabilities: capabilitiesCodec.decode(r),
  };
  const source = uint8.decode(r);
  let select: LeafNodeSourceFields;
  switch (source) {
    case LeafNodeSource.keyPackage:
      select = { leafNodeSource: source, lifetime: lifetimeCodec.decode(r) };
      break;
    case LeafNodeSource.update:
      select = { leafNodeSource: source };
      break;
    case LeafNodeSource.commit:
      select = { leafNodeSource: source, parentHash: opaque.decode(r) };
      break;
    default:
      throw new CodecError('invalid_value', `unknown leaf_node_source ${source}`);
  }
  return { ...head, ...select, extensions: leafNodeExtensionsCodec.decode(r) };
}

export const leafNodeCodec: Codec<LeafNode> = {
  encode(w, v) {
    encodeContent(w, v);
    opaque.encode(w, v.signature);
  },
  decode(r) {
    const content = decodeContent(r);
    return { ...content, signature: opaque.decode(r) };
  },
};

/** The group a LeafNode of source `update` or `commit` is bound to by its signature. */
export interface LeafNodeGroupBinding {
  readonly groupId: Uint8Array;
  readonly leafIndex: number;
}

/**
 * ```
 * struct {
 *     ... the fields of LeafNode up to and including extensions ...
 *
 *     select (LeafNodeTBS.leaf_node_source) {
 *         case key_package:
 *             struct{};
 *
 *         case update:
 *             opaque group_id<V>;
 *             uint32 leaf_index;
 *
 *         case commit:
 *             opaque group_id<V>;
 *             uint32 leaf_index;
 *     };
 * } LeafNodeTBS;
 * ```
 * A key-package leaf is signed before its group is known, so it takes no binding; the other two
 * sources must have one. Throws MlsError('invalid_argument') when the binding does not fit.
 */
export function encodeLeafNodeTbs(
  content: LeafNodeContent,
  binding?: LeafNodeGroupBinding,
): Uint8Array {
  if (content.leafNodeSource === LeafNodeSource.keyPackage) {
    if (binding !== undefined)
      throw new MlsError('invalid_argument', 'a key_package leaf node is not bound to a group');
  } else if (binding === undefined) {
    throw new MlsError(
      'invalid_argument',
      `leaf_node_source ${content.leafNodeSource} needs group_id and leaf_index`,
    );
  }
  const w = new Writer();
  encodeContent(w, content);
  if (binding !== undefined) {
    opaque.encode(w, binding.groupId);
    uint32.encode(w, binding.leafIndex);
  }
  return w.finish();
}

const LEAF_NODE_LABEL = 'LeafNodeTBS';

/** Signs a LeafNode: SignWithLabel(signature_key, "LeafNodeTBS", LeafNodeTBS). */
export function signLeafNode(
  suite: CipherSuite,
  content: LeafNodeContent,
  signaturePrivateKey: Uint8Array,
  binding?: LeafNodeGroupBinding,
): LeafNode {
  const tbs = encodeLeafNodeTbs(content, binding);
  return { ...content, signature: suite.signWithLabel(signaturePrivateKey, LEAF_NODE_LABEL, tbs) };
}

/**
 * Verifies a LeafNode's signature under its own `signature_key` (§7.3). `binding` is required for
 * the `update` and `commit` sources (the group id and the leaf's index in that group) and must
 * be absent for `key_package`. Throws MlsError('invalid_signature') if it does not verify.
 */
export function verifyLeafNodeSignature(
  suite: CipherSuite,
  leafNode: LeafNode,
  binding?: LeafNodeGroupBinding,
): void {
  const tbs = encodeLeafNodeTbs(leafNode, binding);
  if (!suite.verifyWithLabel(leafNode.signatureKey, LEAF_NODE_LABEL, tbs, leafNode.signature)) {
    throw new MlsError('invalid_signature', 'LeafNode signature does not verify');
  }
}

/**
 * The checks of §7.3 that need nothing but the LeafNode itself: its credential type is listed in
 * its own capabilities, every extension it carries is supported by its own capabilities (default
 * types need not be listed, §7.2), and no extension type appears twice (§13.4).
 * Throws MlsError('unsupported_capability' | 'duplicate_extension').
 */
export function checkLeafNodeCapabilities(leafNode: LeafNodeContent): void {
  const caps = leafNode.capabilities;
  if (!supportsCredential(caps, leafNode.credential.credentialType)) {
    throw new MlsError(
      'unsupported_capability',
      `credential type ${leafNode.credential.credentialType} is not in the leaf's capabilities`,
    );
  }
  checkDistinctExtensions(leafNode.extensions, 'LeafNode');
  for (const ext of leafNode.extensions) {
    if (!supportsExtension(caps, ext.extensionType)) {
      throw new MlsError(
        'unsupported_capability',
        `extension ${ext.extensionType} is not in the leaf's capabilities`,
      );
    }
  }
}

/** §13.4: a list of extensions MUST NOT have more than one extension of any given type. */
export function checkDistinctExtensions(extensions: readonly Extension[], where: string): void {
  const seen = new Set<number>();
  for (const { extensionType } of extensions) {
    if (seen.has(extensionType)) {
      throw new MlsError('duplicate_extension', `${where} lists extension ${extensionType} twice`);
    }
    seen.add(extensionType);
  }
}

/** Lifetime policy: `now` and `maxLifetime` in seconds since the Unix epoch / in seconds. */
export interface LifetimePolicy {
  readonly now: bigint;
  /** The application's maximum total lifetime (§7.2 requires one); omitted means no cap. */
  readonly maxLifetime?: bigint;
}

/**
 * §7.3: the current time lies within [not_before, not_after], and the window is no longer than
 * the application allows. Throws MlsError('invalid_lifetime').
 */
export function checkLifetime(lifetime: Lifetime, policy: LifetimePolicy): void {
  const { notBefore, notAfter } = lifetime;
  if (notAfter < notBefore)
    throw new MlsError('invalid_lifetime', 'not_after is before not_before');
  if (policy.now < notBefore)
    throw new MlsError('invalid_lifetime', 'lifetime has not started yet');
  if (policy.now > notAfter) throw new MlsError('invalid_lifetime', 'lifetime has expired');
  if (policy.maxLifetime !== undefined && notAfter - notBefore > policy.maxLifetime) {
    throw new MlsError(
      'invalid_lifetime',
      `lifetime of ${notAfter - notBefore} s exceeds ${policy.maxLifetime} s`,
    );
  }
}

/** What the context of a LeafNode demands of it, for `verifyLeafNode`. */
export interface LeafNodeExpectation {
  /**
   * The source where the leaf was found requires (§7.3): key_package in a KeyPackage, update in
   * an Update proposal, commit in an UpdatePath. Omitted for a leaf read from a ratchet tree.
   */
  readonly source?: LeafNodeSource;
  /** The group and the leaf's index in it; required unless the leaf's source is key_package. */
  readonly binding?: LeafNodeGroupBinding;
  /**
   * Checks a key_package leaf's lifetime when given: §7.3 requires it for leaves one sends and
   * recommends it for leaves one receives.
   */
  readonly lifetime?: LifetimePolicy;
}

/**
 * The checks of §7.3 local to one LeafNode: its source, its own capabilities, its lifetime, its
 * signature. Checks against the group (required capabilities, credential types in use, unique
 * keys) and the credential's validation with the Authentication Service are the caller's.
 * Throws MlsError naming the failed rule.
 */
export function verifyLeafNode(
  suite: CipherSuite,
  leaf: LeafNode,
  expect: LeafNodeExpectation,
): void {
  if (expect.source !== undefined && leaf.leafNodeSource !== expect.source) {
    throw new MlsError(
      'invalid_leaf_node_source',
      `leaf_node_source ${leaf.leafNodeSource}, expected ${expect.source}`,
    );
  }
  checkLeafNodeCapabilities(leaf);
  if (leaf.leafNodeSource === LeafNodeSource.keyPackage) {
    if (expect.lifetime !== undefined) checkLifetime(leaf.lifetime, expect.lifetime);
    verifyLeafNodeSignature(suite, leaf);
  } else {
    verifyLeafNodeSignature(suite, leaf, expect.binding);
  }
}
