/**
 * RFC 9420 §9 secret tree: per-sender hash ratchets from encryption_secret, deleted as §9.2 says.
 *
 * Groups reach tens of thousands of members, so the tree is derived lazily: only the root secret
 * exists at first, and a leaf's ratchets are derived on its first use by walking down from the
 * nearest stored ancestor (O(log n)). Each parent secret is deleted as soon as both children are
 * derived, which happens in the same step, so the stored node secrets are always a frontier of
 * not-yet-used subtrees.
 *
 * Every lookup is computed first and committed only when it succeeds: a failed message (replay,
 * generation outside the window, AEAD failure in `withKey`) leaves the ratchets as they were.
 */
import type { CipherSuite } from '../crypto/types.js';
import { MlsError } from './errors.js';
import type { LeafIndex, NodeIndex } from './treeMath.js';
import type {
  LeafRatchetState,
  RatchetState,
  SecretTreeChanges,
  SecretTreeContents,
} from './secretTreeState.js';
import { checkSecretTreeContents } from './secretTreeRestore.js';
import type { KeyRequest } from './secretTreePeek.js';
import { KeyPeeker } from './secretTreePeek.js';
import { isValidLeafCount, leafToNode, left, parent, right, root } from './treeMath.js';

export type RatchetKind = 'handshake' | 'application';
export type { KeyRequest } from './secretTreePeek.js';
export { KeyPeeker } from './secretTreePeek.js';
export type {
  LeafRatchetState,
  RatchetState,
  SecretTreeChanges,
  SecretTreeContents,
} from './secretTreeState.js';

export interface SecretTreeOptions {
  /** How many generations ahead of the next expected one a received generation may be. */
  readonly maxForwardDistance?: number;
  /**
   * How many generations below the highest one consumed may still be decrypted; the keys of
   * skipped generations in that range are kept until used or until they fall out of the window.
   */
  readonly outOfOrderWindow?: number;
}

export const DEFAULT_MAX_FORWARD_DISTANCE = 1000;
export const DEFAULT_OUT_OF_ORDER_WINDOW = 128;
const MAX_GENERATION = 0xffffffff;

export interface KeyNonce {
  readonly key: Uint8Array;
  readonly nonce: Uint8Array;
}

/** Counts of what the tree currently holds; for tests and memory accounting. */
export interface SecretTreeStats {
  /** Node secrets stored (the frontier of untouched subtrees). */
  readonly nodeSecrets: number;
  /** Leaves whose ratchets have been initialized. */
  readonly leavesInUse: number;
  /** Keys and nonces kept for skipped generations, over all ratchets. */
  readonly skippedKeys: number;
}

/** One hash ratchet: `secret` is ratchet_secret_[N]_[next]. */
interface Ratchet {
  next: number;
  secret: Uint8Array;
  /** Keys of generations below `next` not yet used, within the window. */
  readonly skipped: Map<number, KeyNonce>;
}

interface LeafRatchets {
  readonly handshake: Ratchet;
  readonly application: Ratchet;
}

/** A lookup computed without touching state; `commit` applies it. */
interface Lookup {
  readonly keyNonce: KeyNonce;
  /** Whether keyNonce is still referenced by the tree's state (a stored skipped key). */
  readonly stored: boolean;
  commit(): void;
  /** Zeroizes the lookup's temporaries when it is abandoned. */
  discard(): void;
}

const EMPTY = new Uint8Array(0);
/** The key of a lookup made only to consume its generation (`consume`). */
const NO_KEY: KeyNonce = { key: EMPTY, nonce: EMPTY };
const LEFT = new TextEncoder().encode('left');
const RIGHT = new TextEncoder().encode('right');

function zeroKeyNonce(kn: KeyNonce): void {
  kn.key.fill(0);
  kn.nonce.fill(0);
}

function checkLimit(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_GENERATION) {
    throw new MlsError('invalid_argument', `${name} ${value} out of range`);
  }
  return value;
}

export class SecretTree {
  readonly suite: CipherSuite;
  readonly leafCount: number;
  readonly maxForwardDistance: number;
  readonly outOfOrderWindow: number;
  private readonly nodes = new Map<NodeIndex, Uint8Array>();
  private readonly leaves = new Map<LeafIndex, LeafRatchets>();
  private destroyed = false;
  // Journal for incremental storage: which slots changed since the store last took them.
  private changedNodes = new Set<NodeIndex>();
  private changedLeaves = new Set<LeafIndex>();

  /**
   * O(1): stores only the root secret. The tree takes ownership of `encryptionSecret` and
   * zeroizes it once the root's children are derived (take it from the key schedule with
   * `EpochSecrets.take('encryption')`).
   */
  constructor(
    suite: CipherSuite,
    encryptionSecret: Uint8Array,
    leafCount: number,
    options: SecretTreeOptions = {},
  ) {
    if (!isValidLeafCount(leafCount)) {
      throw new MlsError(
        'invalid_argument',
        `leaf count ${leafCount} is not a power of two in range`,
      );
    }
    if (encryptionSecret.length !== suite.kdf.size) {
      throw new MlsError(
        'invalid_argument',
        `encryption_secret of ${encryptionSecret.length} bytes`,
      );
    }
    this.suite = suite;
    this.leafCount = leafCount;
    this.maxForwardDistance = checkLimit(
      options.maxForwardDistance ?? DEFAULT_MAX_FORWARD_DISTANCE,
      'maxForwardDistance',
    );
    this.outOfOrderWindow = checkLimit(
      options.outOfOrderWindow ?? DEFAULT_OUT_OF_ORDER_WINDOW,
      'outOfOrderWindow',
    );
    this.nodes.set(root(leafCount), encryptionSecret);
  }

  /**
   * The key and nonce for this member's next message of the given kind, advancing its ratchet.
   * The caller owns the returned buffers and should zeroize them after encrypting.
   */
  nextSendKey(leaf: LeafIndex, kind: RatchetKind): { generation: number } & KeyNonce {
    this.checkLive();
    this.checkLeaf(leaf);
    const init = this.planLeafInit(leaf);
    const ratchet = init ? init.ratchets[kind] : this.leaves.get(leaf)![kind];
    const generation = ratchet.next;
    if (generation > MAX_GENERATION) {
      init?.discard();
      throw new MlsError('generation_too_far', `the ${kind} ratchet of leaf ${leaf} is exhausted`);
    }
    init?.commit();
    this.changedLeaves.add(leaf);
    const { key, nonce } = this.deriveKeyNonce(ratchet.secret, generation);
    this.replaceSecret(
      ratchet,
      this.suite.deriveTreeSecret(ratchet.secret, 'secret', generation, this.suite.kdf.size),
    );
    ratchet.next = generation + 1;
    this.evict(ratchet);
    return { generation, key, nonce };
  }

  /**
   * The key and nonce of `generation` of a sender's ratchet, consumed: asking again gives
   * 'key_already_used'. The caller owns the returned buffers. Prefer `withKey` when decrypting,
   * so that a message that fails to decrypt consumes nothing.
   */
  keyFor(leaf: LeafIndex, kind: RatchetKind, generation: number): KeyNonce {
    const lookup = this.lookup(leaf, kind, generation);
    // A stored key leaves the tree's state on commit, so its buffers can go to the caller as is.
    lookup.commit();
    return lookup.keyNonce;
  }

  /**
   * Runs `use` (typically an AEAD open) with the key and nonce of `generation`, and consumes them
   * only if `use` returns. If it throws, the tree is unchanged and the error propagates. The key
   * and nonce are zeroized afterwards either way unless they remain stored for a later attempt.
   */
  withKey<T>(
    leaf: LeafIndex,
    kind: RatchetKind,
    generation: number,
    use: (key: Uint8Array, nonce: Uint8Array) => T,
  ): T {
    const lookup = this.lookup(leaf, kind, generation);
    let result: T;
    try {
      result = use(lookup.keyNonce.key, lookup.keyNonce.nonce);
    } catch (e) {
      lookup.discard();
      throw e;
    }
    lookup.commit();
    zeroKeyNonce(lookup.keyNonce);
    return result;
  }

  /**
   * Consumes `generation` as `withKey` does, without deriving its key again: for a caller that
   * already checked the message with the key from `peekKeys`. `decide` runs after the window
   * checks; the generation is consumed only if it returns, and the tree is unchanged if it throws.
   */
  consume<T>(leaf: LeafIndex, kind: RatchetKind, generation: number, decide: () => T): T {
    const lookup = this.lookup(leaf, kind, generation, false);
    let result: T;
    try {
      result = decide();
    } catch (e) {
      lookup.discard();
      throw e;
    }
    lookup.commit();
    zeroKeyNonce(lookup.keyNonce);
    return result;
  }

  /**
   * The keys of several received generations, consuming nothing: a batch of messages is decrypted
   * first and its generations consumed afterwards (`consume`) only for the messages that verified.
   * Undefined where `withKey` must decide (see secretTreePeek.ts). The caller owns the buffers.
   */
  peekKeys(requests: readonly KeyRequest[]): (KeyNonce | undefined)[] {
    const peeker = this.peeker();
    try {
      return peeker.peek(requests);
    } finally {
      peeker.dispose();
    }
  }

  /** A peeker for a batch that arrives in parts; `dispose()` it when done. */
  peeker(): KeyPeeker {
    this.checkLive();
    return new KeyPeeker({
      suite: this.suite,
      leafCount: this.leafCount,
      maxForwardDistance: this.maxForwardDistance,
      outOfOrderWindow: this.outOfOrderWindow,
      ratchetStart: (leaf, kind) => {
        if (this.destroyed) return undefined;
        const existing = this.leaves.get(leaf);
        if (existing !== undefined) {
          const r = existing[kind];
          return { next: r.next, secret: r.secret.slice(), skipped: r.skipped };
        }
        let init: LeafInitPlan | undefined;
        try {
          init = this.planLeafInit(leaf);
        } catch (e) {
          if (e instanceof MlsError) return undefined; // the node secrets above it are gone
          throw e;
        }
        if (init === undefined) return undefined;
        const secret = init.ratchets[kind].secret.slice();
        init.discard();
        return { next: 0, secret, skipped: new Map() };
      },
    });
  }

  /** Zeroizes every secret; any later call throws 'secret_deleted'. */
  destroy(): void {
    for (const s of this.nodes.values()) s.fill(0);
    this.nodes.clear();
    for (const lr of this.leaves.values()) {
      for (const r of [lr.handshake, lr.application]) {
        r.secret.fill(0);
        for (const kn of r.skipped.values()) zeroKeyNonce(kn);
        r.skipped.clear();
      }
    }
    this.leaves.clear();
    this.changedNodes.clear();
    this.changedLeaves.clear();
    this.destroyed = true;
  }

  // ---- Storage: contents, changes, restore --------------------------------------------------

  /**
   * What the tree holds, as views of its own buffers (the node secrets, each leaf's ratchets and
   * skipped keys), for the state codec to encode at once. Not for any other use: these are the
   * live secrets.
   */
  contents(): SecretTreeContents {
    this.checkLive();
    return {
      nodes: [...this.nodes].sort((a, b) => a[0] - b[0]),
      leaves: [...this.leaves]
        .sort((a, b) => a[0] - b[0])
        .map(([leaf, lr]) => [leaf, leafView(lr)]),
    };
  }

  /** The node secret stored at `x`, if any (a view; see `contents`). */
  nodeSecret(x: NodeIndex): Uint8Array | undefined {
    this.checkLive();
    return this.nodes.get(x);
  }

  /** The ratchets of `leaf` if it is in use (views; see `contents`). */
  leafState(leaf: LeafIndex): LeafRatchetState | undefined {
    this.checkLive();
    const lr = this.leaves.get(leaf);
    return lr === undefined ? undefined : leafView(lr);
  }

  /**
   * The slots that changed since the last call (or since the tree was made or restored), and
   * forgets them. The store calls it after each send and receive to rewrite only those records;
   * one consumer per tree.
   */
  takeChanges(): SecretTreeChanges {
    const out = {
      nodes: [...this.changedNodes].sort((a, b) => a - b),
      leaves: [...this.changedLeaves].sort((a, b) => a - b),
    };
    this.changedNodes = new Set();
    this.changedLeaves = new Set();
    return out;
  }

  /**
   * A tree from stored contents; it takes ownership of the buffers. Checks them first
   * (secretTreeRestore.ts): MlsError('state_corrupt'), the buffers then left to the caller to wipe.
   */
  static restore(
    suite: CipherSuite,
    leafCount: number,
    contents: SecretTreeContents,
    options: SecretTreeOptions = {},
  ): SecretTree {
    checkSecretTreeContents(suite, leafCount, contents);
    const nh = suite.kdf.size;
    const tree = new SecretTree(suite, new Uint8Array(nh), leafCount, options);
    tree.nodes.clear();
    for (const [x, secret] of contents.nodes) tree.nodes.set(x, secret);
    for (const [leaf, lr] of contents.leaves) {
      const ratchet = (r: RatchetState): Ratchet => ({
        next: r.next,
        secret: r.secret,
        skipped: new Map(r.skipped),
      });
      const restored = { handshake: ratchet(lr.handshake), application: ratchet(lr.application) };
      // The window may be smaller now than when the keys were kept.
      tree.evict(restored.handshake);
      tree.evict(restored.application);
      tree.leaves.set(leaf, restored);
    }
    return tree;
  }

  stats(): SecretTreeStats {
    let skippedKeys = 0;
    for (const lr of this.leaves.values())
      skippedKeys += lr.handshake.skipped.size + lr.application.skipped.size;
    return { nodeSecrets: this.nodes.size, leavesInUse: this.leaves.size, skippedKeys };
  }

  private checkLive(): void {
    if (this.destroyed)
      throw new MlsError('secret_deleted', 'the secret tree of this epoch was destroyed');
  }

  private checkLeaf(leaf: LeafIndex): void {
    if (!Number.isInteger(leaf) || leaf < 0 || leaf >= this.leafCount) {
      throw new MlsError(
        'leaf_out_of_range',
        `leaf ${leaf} outside a tree of ${this.leafCount} leaves`,
      );
    }
  }

  private lookup(leaf: LeafIndex, kind: RatchetKind, generation: number, derive = true): Lookup {
    this.checkLive();
    this.checkLeaf(leaf);
    if (!Number.isInteger(generation) || generation < 0 || generation > MAX_GENERATION) {
      throw new MlsError('invalid_argument', `generation ${generation} is not a uint32`);
    }
    const existing = this.leaves.get(leaf);
    const next = existing ? existing[kind].next : 0;
    // Check the window before deriving anything, so a hopeless request costs no derivations.
    if (generation >= next && generation - next > this.maxForwardDistance) {
      throw new MlsError(
        'generation_too_far',
        `generation ${generation} of leaf ${leaf} is more than ${this.maxForwardDistance} ahead of ${next}`,
      );
    }
    if (existing) {
      return this.lookupInRatchet(existing[kind], leaf, kind, generation, undefined, derive);
    }
    const init = this.planLeafInit(leaf)!;
    try {
      return this.lookupInRatchet(init.ratchets[kind], leaf, kind, generation, init, derive);
    } catch (e) {
      init.discard();
      throw e;
    }
  }

  private lookupInRatchet(
    ratchet: Ratchet,
    leaf: LeafIndex,
    kind: RatchetKind,
    generation: number,
    init: LeafInitPlan | undefined,
    derive: boolean,
  ): Lookup {
    if (generation < ratchet.next) {
      const kn = ratchet.skipped.get(generation);
      if (kn === undefined) {
        const oldest = ratchet.next - 1 - this.outOfOrderWindow;
        if (generation < oldest) {
          throw new MlsError(
            'generation_too_old',
            `generation ${generation} of leaf ${leaf} (${kind}) was deleted`,
          );
        }
        throw new MlsError(
          'key_already_used',
          `generation ${generation} of leaf ${leaf} (${kind}) was used`,
        );
      }
      return {
        keyNonce: kn,
        stored: true,
        commit: () => {
          ratchet.skipped.delete(generation);
          this.changedLeaves.add(leaf);
        },
        discard: () => undefined,
      };
    }
    // Walk the ratchet forward on temporaries; keep the keys that the window will retain.
    const lowestKept = Math.max(ratchet.next, generation - this.outOfOrderWindow);
    const kept = new Map<number, KeyNonce>();
    let secret = ratchet.secret;
    let result: KeyNonce | undefined;
    try {
      for (let g = ratchet.next; g <= generation; g++) {
        if (g === generation) result = derive ? this.deriveKeyNonce(secret, g) : NO_KEY;
        else if (g >= lowestKept) kept.set(g, this.deriveKeyNonce(secret, g));
        const following = this.suite.deriveTreeSecret(secret, 'secret', g, this.suite.kdf.size);
        if (secret !== ratchet.secret) secret.fill(0);
        secret = following;
      }
    } catch (e) {
      if (secret !== ratchet.secret) secret.fill(0);
      for (const kn of kept.values()) zeroKeyNonce(kn);
      throw e;
    }
    const keyNonce = result!;
    const newSecret = secret;
    return {
      keyNonce,
      stored: false,
      commit: () => {
        init?.commit();
        this.changedLeaves.add(leaf);
        this.replaceSecret(ratchet, newSecret);
        ratchet.next = generation + 1;
        for (const [g, kn] of kept) ratchet.skipped.set(g, kn);
        this.evict(ratchet);
      },
      discard: () => {
        init?.discard();
        newSecret.fill(0);
        zeroKeyNonce(keyNonce);
        for (const kn of kept.values()) zeroKeyNonce(kn);
      },
    };
  }

  /**
   * Plans the derivation of a leaf's two ratchets from the nearest stored ancestor, without
   * touching state; undefined if the leaf's ratchets already exist.
   */
  private planLeafInit(leaf: LeafIndex): LeafInitPlan | undefined {
    if (this.leaves.has(leaf)) return undefined;
    const target = leafToNode(leaf);
    // Find the nearest stored ancestor (or the leaf itself), then derive down towards the leaf.
    let top = target;
    while (!this.nodes.has(top)) {
      if (top === root(this.leafCount)) {
        throw new MlsError('secret_deleted', `no stored secret above leaf ${leaf}`);
      }
      top = parent(top, this.leafCount);
    }
    const consumed: NodeIndex[] = [top];
    const added = new Map<NodeIndex, Uint8Array>();
    let node = top;
    let secret = this.nodes.get(top)!;
    const nh = this.suite.kdf.size;
    while (node !== target) {
      const l = left(node);
      const r = right(node);
      const ls = this.suite.expandWithLabel(secret, 'tree', LEFT, nh);
      const rs = this.suite.expandWithLabel(secret, 'tree', RIGHT, nh);
      const towardsLeft = target < node;
      added.set(towardsLeft ? r : l, towardsLeft ? rs : ls);
      if (node !== top) secret.fill(0);
      node = towardsLeft ? l : r;
      secret = towardsLeft ? ls : rs;
    }
    const ratchets: LeafRatchets = {
      handshake: {
        next: 0,
        secret: this.suite.expandWithLabel(secret, 'handshake', EMPTY, nh),
        skipped: new Map(),
      },
      application: {
        next: 0,
        secret: this.suite.expandWithLabel(secret, 'application', EMPTY, nh),
        skipped: new Map(),
      },
    };
    if (node !== top) secret.fill(0);
    return {
      ratchets,
      commit: () => {
        for (const n of consumed) {
          this.nodes.get(n)?.fill(0);
          this.nodes.delete(n);
          this.changedNodes.add(n);
        }
        for (const [n, s] of added) {
          this.nodes.set(n, s);
          this.changedNodes.add(n);
        }
        this.leaves.set(leaf, ratchets);
        this.changedLeaves.add(leaf);
      },
      discard: () => {
        for (const s of added.values()) s.fill(0);
        ratchets.handshake.secret.fill(0);
        ratchets.application.secret.fill(0);
      },
    };
  }

  private deriveKeyNonce(secret: Uint8Array, generation: number): KeyNonce {
    return {
      key: this.suite.deriveTreeSecret(secret, 'key', generation, this.suite.aead.keySize),
      nonce: this.suite.deriveTreeSecret(secret, 'nonce', generation, this.suite.aead.nonceSize),
    };
  }

  private replaceSecret(ratchet: Ratchet, secret: Uint8Array): void {
    ratchet.secret.fill(0);
    ratchet.secret = secret;
  }

  /**
   * Drops skipped keys that fell out of the window below the highest generation consumed. Keys
   * are inserted in ascending generation order (each jump starts above the previous one), and a
   * Map iterates in insertion order, so the scan stops at the first key still inside the window.
   */
  private evict(ratchet: Ratchet): void {
    const oldest = ratchet.next - 1 - this.outOfOrderWindow;
    for (const [g, kn] of ratchet.skipped) {
      if (g >= oldest) break;
      zeroKeyNonce(kn);
      ratchet.skipped.delete(g);
    }
  }
}

function leafView(lr: LeafRatchets): LeafRatchetState {
  const view = (r: Ratchet): RatchetState => ({
    next: r.next,
    secret: r.secret,
    skipped: [...r.skipped],
  });
  return { handshake: view(lr.handshake), application: view(lr.application) };
}

interface LeafInitPlan {
  readonly ratchets: LeafRatchets;
  commit(): void;
  discard(): void;
}
