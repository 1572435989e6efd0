import { opaque, struct, vector } from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import type { HPKECiphertext } from './hpkeCiphertext.js';
import { hpkeCiphertextCodec } from './hpkeCiphertext.js';
import type { LeafNode } from './leafNode.js';
import { leafNodeCodec } from './leafNode.js';

/**
 * ```
 * struct {
 *     HPKEPublicKey encryption_key;
 *     HPKECiphertext encrypted_path_secret<V>;
 * } UpdatePathNode;
 * ```
 * One entry per node of the resolution of the matching copath node (excluding leaves added in
 * the same Commit); checking that count needs the tree and is TreeKEM's job.
 */
export interface UpdatePathNode {
  readonly encryptionKey: Uint8Array;
  readonly encryptedPathSecret: readonly HPKECiphertext[];
}

export const updatePathNodeCodec: Codec<UpdatePathNode> = struct<UpdatePathNode>({
  encryptionKey: opaque,
  encryptedPathSecret: vector(hpkeCiphertextCodec) as Codec<readonly HPKECiphertext[]>,
});

/**
 * ```
 * struct {
 *     LeafNode leaf_node;
 *     UpdatePathNode nodes<V>;
 * } UpdatePath;
 * ```
 * `nodes` follows the committer's filtered direct path, leaf to root.
 */
export interface UpdatePath {
  readonly leafNode: LeafNode;
  readonly nodes: readonly UpdatePathNode[];
}

export const updatePathCodec: Codec<UpdatePath> = struct<UpdatePath>({
  leafNode: leafNodeCodec,
  nodes: vector(updatePathNodeCodec) as Codec<readonly UpdatePathNode[]>,
});
