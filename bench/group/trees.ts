// Ratchet trees of n members for the group benchmarks, built directly (not by n real commits,
// which would take hours at 50,000 members) and cached for the whole `npm run bench` process:
// every suite that asks for the same tree gets the same object. Trees are persistent, so sharing
// one between group states is safe; private keys are copied per state (see members.ts).
//
// Two shapes:
// - populated: every parent node with members on both sides holds a key, as after the members have
//   committed (test/support/populatedTree.ts);
// - blank: every parent node blank, leaves straight from KeyPackages, as after one commit that
//   added everybody without a path (Add-only commits need none, RFC 9420 §12.4). The first commit
//   with a path then encrypts to every other leaf.
// Every leaf is really signed: joiners (Parley and ts-mls) validate the whole tree.
import { performance } from 'node:perf_hooks';
import type { CipherSuite, KeyPair } from '../../src-core/crypto/types.js';
import type { LeafNode, LeafNodeContent } from '../../src-core/mls/leafNode.js';
import { LeafNodeSource, signLeafNode } from '../../src-core/mls/leafNode.js';
import { RatchetTree } from '../../src-core/mls/ratchetTree/index.js';
import type { Node } from '../../src-core/mls/ratchetTreeExtension.js';
import { NodeType } from '../../src-core/mls/ratchetTreeExtension.js';
import { PrivatePath } from '../../src-core/mls/treekem/index.js';
import { buildPopulatedTree, memberLeafContent } from '../../test/support/populatedTree.js';

export type TreeShape = 'populated' | 'blank';

export interface BaseTree {
  readonly shape: TreeShape;
  readonly members: number;
  readonly tree: RatchetTree;
  /** Private keys (leaf and, where set, direct path) of the members listed in `withKeys`. */
  readonly privatePaths: ReadonlyMap<number, PrivatePath>;
  readonly signatureKeys: ReadonlyMap<number, Uint8Array>;
  /** How long building it took, in ms. */
  readonly buildMs: number;
}

export const BENCH_GROUP_ID = new TextEncoder().encode('parley-bench-group');

const cache = new Map<string, BaseTree>();

/** Lifetime of the blank tree's KeyPackage leaves: valid from an hour ago for 90 days. */
function lifetime(): { notBefore: bigint; notAfter: bigint } {
  const now = BigInt(Math.floor(Date.now() / 1000));
  return { notBefore: now - 3600n, notAfter: now + 90n * 24n * 3600n };
}

function buildBlankTree(
  suite: CipherSuite,
  members: number,
  withKeys: readonly number[],
): Omit<BaseTree, 'buildMs' | 'shape' | 'members'> {
  const keyed = new Set(withKeys);
  const nodes: (Node | undefined)[] = new Array<Node | undefined>(2 * members - 1);
  const privatePaths = new Map<number, PrivatePath>();
  const signatureKeys = new Map<number, Uint8Array>();
  const rawKeys = suite.hpke.kem.id === 0x20 || suite.hpke.kem.id === 0x21;
  const lt = lifetime();
  for (let i = 0; i < members; i++) {
    // Nobody needs the private key of another member's leaf: a random string is a valid X25519 key.
    let enc: KeyPair | undefined;
    if (keyed.has(i) || !rawKeys) enc = suite.generateHpkeKeyPair();
    const encryptionKey = enc?.publicKey ?? suite.randomBytes(suite.hpke.kem.publicKeySize);
    const sig = suite.generateSignatureKeyPair();
    const c = memberLeafContent(suite, i, encryptionKey, sig.publicKey, new Uint8Array(0));
    const content: LeafNodeContent = {
      encryptionKey: c.encryptionKey,
      signatureKey: c.signatureKey,
      credential: c.credential,
      capabilities: c.capabilities,
      leafNodeSource: LeafNodeSource.keyPackage,
      lifetime: lt,
      extensions: c.extensions,
    };
    const leaf: LeafNode = signLeafNode(suite, content, sig.privateKey);
    nodes[2 * i] = { nodeType: NodeType.leaf, leafNode: leaf };
    if (keyed.has(i)) {
      privatePaths.set(i, PrivatePath.forLeaf(i, enc!));
      signatureKeys.set(i, sig.privateKey);
    }
  }
  return { tree: RatchetTree.fromNodes(suite, nodes), privatePaths, signatureKeys };
}

/**
 * The tree of `members` members of the given shape, with keys for the members in `withKeys`
 * (which must be the same for every caller asking for the same tree: it is part of the cache key).
 */
export function baseTree(
  suite: CipherSuite,
  shape: TreeShape,
  members: number,
  withKeys: readonly number[],
): { base: BaseTree; fromCache: boolean } {
  const key = `${suite.id}/${shape}/${members}/${[...withKeys].sort((a, b) => a - b).join(',')}`;
  const hit = cache.get(key);
  if (hit !== undefined) return { base: hit, fromCache: true };
  const t0 = performance.now();
  const built =
    shape === 'populated'
      ? buildPopulatedTree(suite, members, { groupId: BENCH_GROUP_ID, withKeys })
      : buildBlankTree(suite, members, withKeys);
  const base: BaseTree = { shape, members, ...built, buildMs: performance.now() - t0 };
  cache.set(key, base);
  return { base, fromCache: false };
}
