/**
 * A member's private view of the ratchet tree (RFC 9420 §4.2): the HPKE private keys it holds,
 * for its own leaf and for nodes on its direct path.
 *
 * One `PrivatePath` belongs to one tree version. It is immutable: processing a commit returns a new
 * one (sharing the key pairs it keeps), so a staged commit that is dropped leaves the current keys
 * usable. Once the new version is adopted, `retire` wipes the private keys the new state no longer
 * holds, as §7.5 requires ("delete outdated key material").
 */
import type { CipherSuite, KeyPair } from '../../crypto/types.js';
import { MlsError } from '../errors.js';
import type { TreeReader } from '../ratchetTree/treeReader.js';
import { equalBytes } from '../ratchetTree/treeReader.js';
import type { LeafIndex, NodeIndex } from '../treeMath.js';
import { directPath } from '../treeMath.js';
import { nextPathSecret, nodeKeyPair } from './pathSecrets.js';

export class PrivatePath {
  private constructor(
    readonly leafIndex: LeafIndex,
    private readonly keys: ReadonlyMap<NodeIndex, KeyPair>,
  ) {}

  /** A member that holds only its leaf's key pair (a new member, before any path secret). */
  static forLeaf(leafIndex: LeafIndex, leafKeyPair: KeyPair): PrivatePath {
    return new PrivatePath(leafIndex, new Map([[2 * leafIndex, leafKeyPair]]));
  }

  /**
   * A private path restored from storage (any subset of the leaf and its direct path, as a
   * removed member's may be). Throws MlsError('invalid_argument') for a node off the path.
   */
  static fromKeys(
    leafIndex: LeafIndex,
    keys: Iterable<readonly [NodeIndex, KeyPair]>,
  ): PrivatePath {
    return new PrivatePath(leafIndex, new Map()).with(keys);
  }

  /** The nodes this member holds a key for, leaf first, then up the tree. */
  nodes(): NodeIndex[] {
    return [...this.keys.keys()].sort((a, b) => levelOf(a) - levelOf(b));
  }

  keyPair(x: NodeIndex): KeyPair | undefined {
    return this.keys.get(x);
  }

  /** A state with `set` added (replacing) and the nodes in `drop` removed. */
  with(set: Iterable<readonly [NodeIndex, KeyPair]>, drop: Iterable<NodeIndex> = []): PrivatePath {
    const next = new Map(this.keys);
    for (const x of drop) next.delete(x);
    for (const [x, kp] of set) {
      if (x !== 2 * this.leafIndex && !isAncestor(x, this.leafIndex)) {
        throw new MlsError('invalid_argument', `node ${x} is not on leaf ${this.leafIndex}'s path`);
      }
      next.set(x, kp);
    }
    return new PrivatePath(this.leafIndex, next);
  }

  /**
   * Sets the keys of the nodes given by path secrets, each derived on its own (the test vectors'
   * way of describing a member's state). The secrets are left to the caller.
   */
  withPathSecrets(
    suite: CipherSuite,
    secrets: Iterable<readonly [NodeIndex, Uint8Array]>,
  ): PrivatePath {
    const set: [NodeIndex, KeyPair][] = [];
    for (const [x, s] of secrets) set.push([x, nodeKeyPair(suite, s)]);
    return this.with(set);
  }

  /**
   * The keys a new member learns from the `path_secret` of its Welcome (§12.4.3.1): the secret
   * belongs to `commonAncestor` (of the joiner's and the committer's leaves), and each non-blank
   * node above it takes the next secret of the chain (the blank ones were not on the committer's
   * filtered direct path). Every derived public key must match the tree.
   * Throws MlsError('private_key_mismatch'). The path secret is left to the caller to wipe.
   */
  withWelcomePathSecret(
    tree: TreeReader,
    commonAncestor: NodeIndex,
    pathSecret: Uint8Array,
  ): PrivatePath {
    if (!isAncestor(commonAncestor, this.leafIndex)) {
      throw new MlsError('invalid_argument', `node ${commonAncestor} is not above our leaf`);
    }
    const set: [NodeIndex, KeyPair][] = [];
    let secret = pathSecret;
    const chain = [commonAncestor, ...directPath(commonAncestor, tree.leafCount)];
    for (const x of chain) {
      const pub = tree.encryptionKey(x);
      if (pub === undefined) {
        if (x === commonAncestor) {
          throw new MlsError('private_key_mismatch', `common ancestor ${x} is blank`);
        }
        continue;
      }
      if (x !== commonAncestor) {
        const next = nextPathSecret(tree.suite, secret);
        if (secret !== pathSecret) secret.fill(0);
        secret = next;
      }
      const kp = nodeKeyPair(tree.suite, secret);
      if (!equalBytes(kp.publicKey, pub)) {
        kp.privateKey.fill(0);
        if (secret !== pathSecret) secret.fill(0);
        throw new MlsError('private_key_mismatch', `path secret does not give node ${x}'s key`);
      }
      set.push([x, kp]);
    }
    if (secret !== pathSecret) secret.fill(0);
    return this.with(set);
  }

  /** This state without the keys whose node is blank in `tree` or holds another public key. */
  consistentWith(tree: TreeReader): PrivatePath {
    const drop: NodeIndex[] = [];
    for (const [x, kp] of this.keys) if (!matches(tree, x, kp)) drop.push(x);
    return drop.length === 0 ? this : this.with([], drop);
  }

  /**
   * Checks that every key held matches `tree` (the node is non-blank and holds the public key).
   * Throws MlsError('private_key_mismatch').
   */
  checkConsistent(tree: TreeReader): void {
    for (const [x, kp] of this.keys) {
      if (!matches(tree, x, kp)) {
        throw new MlsError('private_key_mismatch', `private key for node ${x} does not match`);
      }
    }
  }

  /**
   * Wipes every private key of this state that `next` does not keep (all of them without `next`,
   * e.g. on leaving the group). Call once the state holding `next` has replaced this one; this
   * state must not be used afterwards.
   */
  retire(next?: PrivatePath): void {
    const kept = new Set<Uint8Array>();
    if (next !== undefined) for (const kp of next.keys.values()) kept.add(kp.privateKey);
    for (const kp of this.keys.values()) if (!kept.has(kp.privateKey)) kp.privateKey.fill(0);
  }
}

function matches(tree: TreeReader, x: NodeIndex, kp: KeyPair): boolean {
  if (x >= tree.nodeCount) return false;
  const pub = tree.encryptionKey(x);
  return pub !== undefined && equalBytes(pub, kp.publicKey);
}

function levelOf(x: NodeIndex): number {
  let k = 0;
  while (Math.floor(x / 2 ** k) % 2 === 1) k++;
  return k;
}

/** Whether node `x` is a proper ancestor of leaf `leaf` (in a tree of any size). */
function isAncestor(x: NodeIndex, leaf: LeafIndex): boolean {
  if (x % 2 === 0) return false;
  const k = levelOf(x);
  const first = (x - (2 ** k - 1)) / 2;
  return leaf >= first && leaf < first + 2 ** k;
}
