// What a secret tree holds, as the storage layer reads and restores it (src-core/mls/storage).
import type { KeyNonce } from './secretTree.js';
import type { LeafIndex, NodeIndex } from './treeMath.js';

/** One ratchet as storage sees it: views of the tree's own buffers, to encode at once. */
export interface RatchetState {
  readonly next: number;
  readonly secret: Uint8Array;
  /** Keys kept for skipped generations, ascending by generation. */
  readonly skipped: readonly (readonly [number, KeyNonce])[];
}

export interface LeafRatchetState {
  readonly handshake: RatchetState;
  readonly application: RatchetState;
}

/** What a secret tree holds: the stored node secrets and the ratchets of the leaves in use. */
export interface SecretTreeContents {
  readonly nodes: readonly (readonly [NodeIndex, Uint8Array])[];
  readonly leaves: readonly (readonly [LeafIndex, LeafRatchetState])[];
}

/** Slots changed since the last `takeChanges()`: node secrets stored or deleted, leaves moved. */
export interface SecretTreeChanges {
  readonly nodes: readonly NodeIndex[];
  readonly leaves: readonly LeafIndex[];
}
