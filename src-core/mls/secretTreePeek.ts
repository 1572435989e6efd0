/**
 * Reading keys of a secret tree without consuming them (SecretTree.peeker): a batch of received
 * messages is decrypted first, and its generations consumed afterwards only for the messages that
 * verified. The batch arrives in segments (so that signature checks start early), so each ratchet
 * keeps a cursor: it is walked forward once however its generations are spread over segments.
 *
 * A peeked key is exactly the key `withKey` would give, since keys do not depend on the order of
 * consumption. When a key cannot be peeked cheaply (a generation behind the cursor whose key was
 * not kept, beyond forward reach of what was asked so far, or a leaf whose secrets are gone), the
 * answer is undefined and the caller falls back to `withKey`, which decides with full knowledge.
 */
import type { CipherSuite } from '../crypto/types.js';
import type { KeyNonce, RatchetKind } from './secretTree.js';
import type { LeafIndex } from './treeMath.js';

/** One generation asked of a peeker. */
export interface KeyRequest {
  readonly leaf: LeafIndex;
  readonly kind: RatchetKind;
  readonly generation: number;
}

/** Where a ratchet stands now: `secret` is the peeker's own copy, `skipped` the tree's live map. */
export interface RatchetStart {
  readonly next: number;
  readonly secret: Uint8Array;
  readonly skipped: ReadonlyMap<number, KeyNonce>;
}

/** What a peeker needs of its tree. */
export interface PeekSource {
  readonly suite: CipherSuite;
  readonly leafCount: number;
  readonly maxForwardDistance: number;
  readonly outOfOrderWindow: number;
  /** Undefined when the leaf's ratchets cannot be derived (the tree's secrets above it are gone). */
  ratchetStart(leaf: LeafIndex, kind: RatchetKind): RatchetStart | undefined;
}

interface Cursor {
  readonly start: RatchetStart;
  /** The next generation the walk derives, and its ratchet secret (owned). */
  gen: number;
  secret: Uint8Array;
  /** Keys of generations the walk passed or handed out, the most recent ones only. */
  readonly kept: Map<number, KeyNonce>;
}

const MAX_GENERATION = 0xffffffff;

export class KeyPeeker {
  private readonly cursors = new Map<number, Cursor | null>();
  /** Passed keys kept per ratchet: the out-of-order window and a little more for a batch. */
  private readonly keep: number;

  constructor(private readonly source: PeekSource) {
    this.keep = source.outOfOrderWindow + 256;
  }

  /** One key per request (owned by the caller), or undefined where `withKey` must decide. */
  peek(requests: readonly KeyRequest[]): (KeyNonce | undefined)[] {
    const { leafCount } = this.source;
    // Ascending generations per ratchet, so that a walk never has to go back.
    const order = requests
      .map((q, i) => i)
      .filter((i) => {
        const q = requests[i]!;
        return (
          Number.isInteger(q.leaf) &&
          q.leaf >= 0 &&
          q.leaf < leafCount &&
          Number.isInteger(q.generation) &&
          q.generation >= 0 &&
          q.generation <= MAX_GENERATION
        );
      })
      .sort((a, b) => requests[a]!.generation - requests[b]!.generation);
    const out = new Array<KeyNonce | undefined>(requests.length).fill(undefined);
    for (const i of order) out[i] = this.one(requests[i]!);
    return out;
  }

  /** Zeroizes every secret and key the peeker holds. */
  dispose(): void {
    for (const c of this.cursors.values()) {
      if (c === null) continue;
      c.secret.fill(0);
      c.start.secret.fill(0);
      for (const kn of c.kept.values()) wipe(kn);
    }
    this.cursors.clear();
  }

  private one(q: KeyRequest): KeyNonce | undefined {
    const c = this.cursor(q.leaf, q.kind);
    if (c === undefined) return undefined;
    const g = q.generation;
    if (g < c.start.next) return copy(c.start.skipped.get(g));
    if (g < c.gen) return copy(c.kept.get(g));
    if (g - c.gen > this.source.maxForwardDistance) return undefined;
    const { suite } = this.source;
    for (; c.gen <= g; c.gen++) {
      if (c.gen >= g - this.keep) c.kept.set(c.gen, deriveKeyNonce(suite, c.secret, c.gen));
      const following = suite.deriveTreeSecret(c.secret, 'secret', c.gen, suite.kdf.size);
      c.secret.fill(0);
      c.secret = following;
    }
    for (const [kept, kn] of c.kept) {
      if (kept >= c.gen - this.keep) break; // inserted in ascending order
      wipe(kn);
      c.kept.delete(kept);
    }
    return copy(c.kept.get(g));
  }

  private cursor(leaf: LeafIndex, kind: RatchetKind): Cursor | undefined {
    const id = leaf * 2 + (kind === 'application' ? 1 : 0);
    let c = this.cursors.get(id);
    if (c === undefined) {
      const start = this.source.ratchetStart(leaf, kind);
      c =
        start === undefined
          ? null
          : { start, gen: start.next, secret: start.secret.slice(), kept: new Map() };
      this.cursors.set(id, c);
    }
    return c ?? undefined;
  }
}

function deriveKeyNonce(suite: CipherSuite, secret: Uint8Array, generation: number): KeyNonce {
  return {
    key: suite.deriveTreeSecret(secret, 'key', generation, suite.aead.keySize),
    nonce: suite.deriveTreeSecret(secret, 'nonce', generation, suite.aead.nonceSize),
  };
}

function copy(kn: KeyNonce | undefined): KeyNonce | undefined {
  return kn === undefined ? undefined : { key: kn.key.slice(), nonce: kn.nonce.slice() };
}

function wipe(kn: KeyNonce): void {
  kn.key.fill(0);
  kn.nonce.fill(0);
}
