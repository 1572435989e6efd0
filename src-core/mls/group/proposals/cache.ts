/**
 * The proposals received (or sent) during one epoch, by ProposalRef (§12.1: "the Proposal should
 * be cached in such a way that it can be retrieved by hash ... in a later Commit message").
 * A proposal enters only after its message and its content were verified.
 */
import type { KeyPair } from '../../../crypto/types.js';
import { MlsError } from '../../errors.js';
import type { Sender } from '../../framing/sender.js';
import type { Proposal } from '../../proposal.js';
import { keyString } from '../../ratchetTree/keyIndex.js';

export interface CachedProposal {
  /** MakeProposalRef of the AuthenticatedContent that carried it (§5.2). */
  readonly ref: Uint8Array;
  readonly proposal: Proposal;
  readonly sender: Sender;
  /** Whether we sent it. */
  readonly own: boolean;
  /**
   * For an Update we sent: the key pair of the new leaf's encryption key, needed if someone
   * commits it. Wiped with the cache.
   */
  readonly updateKeyPair?: KeyPair;
}

export class ProposalCache {
  private readonly byRef = new Map<string, CachedProposal>();
  // Journal for incremental storage: proposals added since the store last took them.
  private added: CachedProposal[] = [];

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.byRef.size;
  }

  get(ref: Uint8Array): CachedProposal | undefined {
    return this.byRef.get(keyString(ref));
  }

  /** Adds a proposal; the same ref again is a no-op. Throws 'too_many_proposals' when full. */
  add(entry: CachedProposal): void {
    const k = keyString(entry.ref);
    if (this.byRef.has(k)) return;
    if (this.byRef.size >= this.limit) {
      throw new MlsError('too_many_proposals', `already ${this.limit} proposals in this epoch`);
    }
    this.byRef.set(k, entry);
    this.added.push(entry);
  }

  /** The proposals added since the last call, and forgets them (one consumer: the store). */
  takeAdded(): CachedProposal[] {
    const out = this.added;
    this.added = [];
    return out;
  }

  /** In the order received. */
  list(): CachedProposal[] {
    return [...this.byRef.values()];
  }

  /** Empties the cache and wipes the private keys of our own pending Updates. */
  clear(): void {
    for (const e of this.byRef.values()) e.updateKeyPair?.privateKey.fill(0);
    this.byRef.clear();
    this.added = [];
  }
}
