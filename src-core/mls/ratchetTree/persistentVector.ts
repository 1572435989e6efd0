/**
 * A persistent array: a 32-way trie of chunks in which a changed version copies only the chunks
 * on the paths to the changed slots and shares every other chunk with the version it came from.
 *
 * The ratchet tree of a 50,000-member group has 131,071 nodes, and the delivery layer keeps the
 * trees of several recent epochs. A commit changes O(log n) nodes; with this structure keeping
 * the previous epoch's tree costs those few chunks (a few kilobytes), never a copy of the array.
 *
 * Changes go through a `Transient`: it copies a chunk the first time it writes to it and then
 * writes in place, so a batch of changes to one chunk copies it once. `freeze()` ends the batch
 * and returns the new version; the version the transient started from is never modified.
 */
import { MlsError } from '../errors.js';

const BITS = 5;
const WIDTH = 1 << BITS;
const MASK = WIDTH - 1;
/**
 * Slots are addressed with 32-bit arithmetic. No in-memory tree comes near this: 2^30 nodes of
 * even a few bytes each would not fit in a JavaScript heap.
 */
export const MAX_LENGTH = 2 ** 30;

/** A trie node: an array of child nodes, or at the bottom level an array of values. */
type Chunk = unknown[];

function checkIndex(i: number, length: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= length) {
    throw new MlsError('invalid_argument', `index ${i} outside a vector of length ${length}`);
  }
}

/** The smallest shift (BITS per trie level below the root) whose trie holds `length` slots. */
function shiftFor(length: number): number {
  let shift = 0;
  while (length > WIDTH ** (shift / BITS + 1)) shift += BITS;
  return shift;
}

/** An immutable version of the array. */
export class PersistentVector<T> {
  /** Internal: use `empty`, `from` or a transient's `freeze`. */
  constructor(
    readonly length: number,
    private readonly shift: number,
    private readonly root: Chunk,
  ) {}

  static empty<T>(): PersistentVector<T> {
    return new PersistentVector<T>(0, 0, []);
  }

  static from<T>(values: Iterable<T>): PersistentVector<T> {
    const t = PersistentVector.empty<T>().transient();
    let i = 0;
    for (const v of values) {
      t.resize(i + 1);
      t.set(i++, v);
    }
    return t.freeze();
  }

  get(i: number): T {
    checkIndex(i, this.length);
    return lookup<T>(this.root, this.shift, i);
  }

  /** Calls `f` for each slot in [from, to) in order, walking each chunk once. */
  forEachIn(from: number, to: number, f: (value: T, index: number) => void): void {
    if (from < 0 || to > this.length || from > to) {
      throw new MlsError(
        'invalid_argument',
        `range [${from}, ${to}) outside length ${this.length}`,
      );
    }
    walk(this.root, this.shift, 0, from, to, f);
  }

  /** Starts a batch of changes; this version stays as it is. */
  transient(): Transient<T> {
    return new Transient<T>(this.length, this.shift, this.root);
  }

  /**
   * The number of chunks (trie nodes) of this version that `other` does not share: what keeping
   * both versions costs beyond keeping one. For tests and measurements; walks both tries.
   */
  unsharedChunks(other: PersistentVector<T>): number {
    const theirs = new Set<Chunk>();
    collect(other.root, other.shift, theirs);
    const mine = new Set<Chunk>();
    collect(this.root, this.shift, mine);
    let n = 0;
    for (const c of mine) if (!theirs.has(c)) n++;
    return n;
  }

  /** The total number of chunks (trie nodes) in this version. */
  chunkCount(): number {
    const all = new Set<Chunk>();
    collect(this.root, this.shift, all);
    return all.size;
  }

  /**
   * Calls `f` with each index whose slot holds a different value (by identity) here and in
   * `other`, in ascending order; indices present in only one of the two count as different.
   * Chunks the two versions share are skipped without being read, so two versions a few changes
   * apart cost O(changes · depth · 32), never a walk of every slot. Storage uses it to write only
   * what a commit changed.
   */
  forEachDifference(other: PersistentVector<T>, f: (index: number) => void): void {
    const common = Math.min(this.length, other.length);
    if (common > 0) {
      const shift = shiftFor(common);
      diffWalk(
        descend(this.root, this.shift, shift),
        descend(other.root, other.shift, shift),
        shift,
        0,
        common,
        f,
      );
    }
    for (let i = common; i < Math.max(this.length, other.length); i++) f(i);
  }
}

/** The chunk covering slots [0, 32^(shift/5+1)) under a root of a taller trie. */
function descend(root: Chunk, from: number, to: number): Chunk | undefined {
  let node: Chunk | undefined = root;
  for (let s = from; s > to && node !== undefined; s -= BITS) node = node[0] as Chunk | undefined;
  return node;
}

function diffWalk(
  a: Chunk | undefined,
  b: Chunk | undefined,
  shift: number,
  base: number,
  to: number,
  f: (index: number) => void,
): void {
  if (a === b) return;
  const span = 1 << shift;
  for (let k = 0; k < WIDTH && base + k * span < to; k++) {
    if (shift === 0) {
      if (a?.[k] !== b?.[k]) f(base + k);
    } else {
      diffWalk(
        a?.[k] as Chunk | undefined,
        b?.[k] as Chunk | undefined,
        shift - BITS,
        base + k * span,
        to,
        f,
      );
    }
  }
}

/** Slot `i`; a slot grown into but never written reads as undefined. */
function lookup<T>(root: Chunk, shift: number, i: number): T {
  let node = root;
  for (let s = shift; s > 0; s -= BITS) {
    const child = node[(i >>> s) & MASK] as Chunk | undefined;
    if (child === undefined) return undefined as T;
    node = child;
  }
  return node[i & MASK] as T;
}

function collect(node: Chunk, shift: number, into: Set<Chunk>): void {
  into.add(node);
  if (shift === 0) return;
  for (const child of node) if (child !== undefined) collect(child as Chunk, shift - BITS, into);
}

function walk<T>(
  node: Chunk,
  shift: number,
  base: number,
  from: number,
  to: number,
  f: (value: T, index: number) => void,
): void {
  const span = 1 << shift;
  const first = Math.max(0, Math.floor((from - base) / span));
  const last = Math.min(WIDTH - 1, Math.floor((to - 1 - base) / span));
  for (let k = first; k <= last; k++) {
    const start = base + k * span;
    if (shift === 0) {
      f(node[k] as T, start);
    } else {
      const child = node[k] as Chunk | undefined;
      // A missing child is a run of slots never written (only reachable past a resize).
      if (child === undefined) {
        const hi = Math.min(to, start + span);
        for (let i = Math.max(from, start); i < hi; i++) f(undefined as T, i);
      } else {
        walk(child, shift - BITS, start, from, to, f);
      }
    }
  }
}

/** A batch of changes on top of a version; `freeze()` makes the result a version. */
export class Transient<T> {
  /** Chunks this batch created: safe to write in place, shared with no frozen version. */
  private owned = new Set<Chunk>();
  private frozen = false;

  constructor(
    private len: number,
    private shift: number,
    private root: Chunk,
  ) {}

  get length(): number {
    return this.len;
  }

  private live(): void {
    if (this.frozen) throw new MlsError('invalid_argument', 'transient used after freeze');
  }

  private own(chunk: Chunk | undefined): Chunk {
    if (chunk !== undefined && this.owned.has(chunk)) return chunk;
    const copy = chunk === undefined ? [] : chunk.slice();
    this.owned.add(copy);
    return copy;
  }

  get(i: number): T {
    checkIndex(i, this.len);
    return lookup<T>(this.root, this.shift, i);
  }

  /** Calls `f` for each slot in [from, to) in order, walking each chunk once. */
  forEachIn(from: number, to: number, f: (value: T, index: number) => void): void {
    if (from < 0 || to > this.len || from > to) {
      throw new MlsError('invalid_argument', `range [${from}, ${to}) outside length ${this.len}`);
    }
    walk(this.root, this.shift, 0, from, to, f);
  }

  set(i: number, value: T): void {
    this.live();
    checkIndex(i, this.len);
    this.root = this.own(this.root);
    let node = this.root;
    for (let s = this.shift; s > 0; s -= BITS) {
      const k = (i >>> s) & MASK;
      const child = this.own(node[k] as Chunk | undefined);
      node[k] = child;
      node = child;
    }
    node[i & MASK] = value;
  }

  /**
   * Changes the length. Growing adds slots that read as `undefined` until set; shrinking drops
   * every chunk wholly past the new end and cuts the boundary chunks, so nothing beyond the end
   * stays reachable (no stale values resurface on a later growth, nothing dropped stays alive).
   */
  resize(length: number): void {
    this.live();
    if (!Number.isInteger(length) || length < 0 || length > MAX_LENGTH) {
      throw new MlsError('invalid_argument', `vector length ${length} out of range`);
    }
    if (length > this.len) {
      const shift = shiftFor(length);
      while (this.shift < shift) {
        const wrapper: Chunk = [this.root];
        this.owned.add(wrapper);
        this.root = wrapper;
        this.shift += BITS;
      }
      this.len = length;
      return;
    }
    if (length === this.len) return;
    this.len = length;
    if (length === 0) {
      this.root = this.own(undefined);
      this.shift = 0;
      return;
    }
    const shift = shiftFor(length);
    while (this.shift > shift) {
      this.root = this.root[0] as Chunk;
      this.shift -= BITS;
    }
    // Cut the chunks along the path to the last kept slot.
    const last = length - 1;
    this.root = this.own(this.root);
    let node = this.root;
    for (let s = this.shift; s >= 0; s -= BITS) {
      const k = (last >>> s) & MASK;
      if (node.length > k + 1) node.length = k + 1;
      if (s === 0) break;
      const child = node[k] as Chunk | undefined;
      if (child === undefined) break;
      const copy = this.own(child);
      node[k] = copy;
      node = copy;
    }
  }

  /** Ends the batch. The transient cannot be used afterwards. */
  freeze(): PersistentVector<T> {
    this.live();
    this.frozen = true;
    this.owned = new Set();
    return new PersistentVector<T>(this.len, this.shift, this.root);
  }
}
