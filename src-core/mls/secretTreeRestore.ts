// Validation of a secret tree read back from storage (SecretTree.restore): what would otherwise
// surface later as wrong keys or a key used twice.
import type { CipherSuite } from '../crypto/types.js';
import { MlsError } from './errors.js';
import type { RatchetState, SecretTreeContents } from './secretTreeState.js';
import type { LeafIndex, NodeIndex } from './treeMath.js';
import { isValidLeafCount, leafToNode, parent, root } from './treeMath.js';

const MAX_GENERATION = 0xffffffff;

/**
 * Checks indices in range, lengths, skipped generations ascending and below the ratchet, and the
 * frontier invariant (stored nodes and used leaves are disjoint subtrees that together cover every
 * leaf). Throws MlsError('state_corrupt').
 */
export function checkSecretTreeContents(
  suite: CipherSuite,
  leafCount: number,
  contents: SecretTreeContents,
): void {
  const corrupt = (what: string): MlsError => new MlsError('state_corrupt', `secret tree: ${what}`);
  if (!isValidLeafCount(leafCount)) throw corrupt(`leaf count ${leafCount}`);
  const nh = suite.kdf.size;
  const width = 2 * leafCount - 1;
  const occupied = new Set<NodeIndex>();
  let covered = 0;
  const occupy = (x: NodeIndex, leaves: number): void => {
    if (occupied.has(x)) throw corrupt(`node ${x} listed twice`);
    occupied.add(x);
    covered += leaves;
  };
  for (const [x, secret] of contents.nodes) {
    if (!Number.isInteger(x) || x < 0 || x >= width) throw corrupt(`node ${x} out of range`);
    if (secret.length !== nh) throw corrupt(`node ${x} secret length`);
    occupy(x, 2 ** levelOf(x));
  }
  for (const [leaf, lr] of contents.leaves) {
    if (!Number.isInteger(leaf) || leaf < 0 || leaf >= leafCount) {
      throw corrupt(`leaf ${leaf} out of range`);
    }
    for (const r of [lr.handshake, lr.application]) checkRatchet(suite, r, leaf, corrupt);
    occupy(leafToNode(leaf), 1);
  }
  const top = root(leafCount);
  for (const x of occupied) {
    for (let y = x; y !== top;) {
      y = parent(y, leafCount);
      if (occupied.has(y)) throw corrupt(`node ${x} lies under stored node ${y}`);
    }
  }
  if (covered !== leafCount) throw corrupt('stored nodes and leaves do not cover the tree');
}

function levelOf(x: NodeIndex): number {
  let k = 0;
  while ((x >>> k) & 1) k++;
  return k;
}

function checkRatchet(
  suite: CipherSuite,
  r: RatchetState,
  leaf: LeafIndex,
  corrupt: (what: string) => MlsError,
): void {
  if (!Number.isInteger(r.next) || r.next < 0 || r.next > MAX_GENERATION + 1) {
    throw corrupt(`leaf ${leaf} ratchet position ${r.next}`);
  }
  if (r.secret.length !== suite.kdf.size) throw corrupt(`leaf ${leaf} ratchet secret length`);
  let previous = -1;
  for (const [g, kn] of r.skipped) {
    if (!Number.isInteger(g) || g <= previous || g >= r.next) {
      throw corrupt(`leaf ${leaf} skipped generation ${g}`);
    }
    if (kn.key.length !== suite.aead.keySize || kn.nonce.length !== suite.aead.nonceSize) {
      throw corrupt(`leaf ${leaf} skipped key length`);
    }
    previous = g;
  }
}
