/**
 * Where each public key sits in the tree, so that the uniqueness rules (§7.3, §12.4.2, §16.8:
 * no encryption key twice in the tree, no signature key twice among the leaves) cost a lookup per
 * key instead of a walk of all n leaves.
 *
 * The index is shared by a tree version and every version staged from it, and only grows: a
 * staged change records the keys it places, and a lookup confirms each candidate position
 * against the version asking. A stale entry (a key since replaced, or placed by a diff that was
 * dropped) is therefore harmless, and an index never misses a key of any version that uses it.
 * Versions that outgrow their index by much start a fresh one (see `RatchetTree`), so the stale
 * part stays bounded by the live part.
 */

/**
 * A map key for a byte string: one UTF-16 code unit per byte, which V8 stores as a one-byte
 * string. Lookups use the engine's seeded string hashing, so chosen keys cannot force collisions.
 */
export function keyString(bytes: Uint8Array): string {
  // fromCharCode takes its bytes as arguments; hostile keys can be long, so go in slices.
  const SLICE = 4096;
  let s = '';
  for (let at = 0; at < bytes.length; at += SLICE) {
    const part = bytes.subarray(at, at + SLICE);
    s += String.fromCharCode.apply(null, part as unknown as number[]);
  }
  return s;
}

type Positions = number | number[];

function add(map: Map<string, Positions>, key: string, position: number): boolean {
  const have = map.get(key);
  if (have === undefined) {
    map.set(key, position);
    return true;
  }
  if (typeof have === 'number') {
    if (have === position) return false;
    map.set(key, [have, position]);
    return true;
  }
  if (have.includes(position)) return false;
  have.push(position);
  return true;
}

function positions(map: Map<string, Positions>, key: string): readonly number[] {
  const have = map.get(key);
  if (have === undefined) return [];
  return typeof have === 'number' ? [have] : have;
}

export class KeyIndex {
  private readonly encryption = new Map<string, Positions>();
  private readonly signature = new Map<string, Positions>();
  private count = 0;

  /** The number of (key, position) records, live or stale. */
  get size(): number {
    return this.count;
  }

  /** Records that node `node` holds encryption key `key` in some version. */
  addEncryptionKey(key: Uint8Array, node: number): void {
    if (add(this.encryption, keyString(key), node)) this.count++;
  }

  /** Records that leaf `leaf` holds signature key `key` in some version. */
  addSignatureKey(key: Uint8Array, leaf: number): void {
    if (add(this.signature, keyString(key), leaf)) this.count++;
  }

  /**
   * Whether some key is recorded at more than one position (in one version or across versions).
   * When not, no version using this index holds a key twice: every key a version holds is here.
   */
  hasRepeats(): boolean {
    for (const map of [this.encryption, this.signature]) {
      for (const positions of map.values()) if (typeof positions !== 'number') return true;
    }
    return false;
  }

  /** Node indices that held `key` in some version; each must be checked against the version. */
  encryptionKeyCandidates(key: Uint8Array): readonly number[] {
    return positions(this.encryption, keyString(key));
  }

  /** Leaf indices that held `key` in some version; each must be checked against the version. */
  signatureKeyCandidates(key: Uint8Array): readonly number[] {
    return positions(this.signature, keyString(key));
  }
}
