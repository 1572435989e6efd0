/**
 * An append-only byte buffer that grows geometrically, so encoding a structure costs one
 * allocation per doubling rather than one per field. A caller that knows the encoded size passes
 * it as the initial capacity: the buffer is then handed over by `finish` without a copy.
 */
/**
 * One working buffer lent to a writer at a time (`Writer.borrow`): most encodings are small, and
 * a fresh zeroed buffer per encoding was a measurable part of protecting a message. It is always
 * wiped before it is lent again. Undefined while lent; a nested encoding then gets its own buffer.
 */
const SCRATCH_SIZE = 2048;
let scratch: Uint8Array | undefined = new Uint8Array(SCRATCH_SIZE);

export class Writer {
  private buf: Uint8Array;
  private lent = false;
  // Only uint64 needs a DataView; most encodings never make one.
  private view: DataView | undefined;
  private len = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(initialCapacity);
  }

  /**
   * A writer on the shared working buffer if it is free. The caller must end with `finish()` or,
   * if encoding fails, `discard()`, which give the buffer back.
   */
  static borrow(): Writer {
    if (scratch === undefined) return new Writer();
    const w = new Writer(0);
    w.buf = scratch;
    w.lent = true;
    scratch = undefined;
    return w;
  }

  get length(): number {
    return this.len;
  }

  private reserve(n: number): number {
    const at = this.len;
    const need = at + n;
    if (need > this.buf.length) {
      let cap = Math.max(this.buf.length * 2, 16);
      while (cap < need) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(0, at));
      // Encoders also serialize secrets (group state for storage): leave no stray copy behind.
      this.buf.fill(0, 0, at);
      this.giveBack();
      this.buf = next;
      this.view = undefined;
    }
    this.len = need;
    return at;
  }

  uint8(v: number): void {
    const at = this.reserve(1);
    this.buf[at] = v;
  }

  uint16(v: number): void {
    const at = this.reserve(2);
    this.patchUint16(at, v);
  }

  uint32(v: number): void {
    const at = this.reserve(4);
    this.patchUint32(at, v);
  }

  uint64(v: bigint): void {
    const at = this.reserve(8);
    this.view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
    this.view.setBigUint64(at, v);
  }

  bytes(b: Uint8Array): void {
    const at = this.reserve(b.length);
    this.buf.set(b, at);
  }

  /** Leaves room for a value written later (a length prefix whose size is known in advance). */
  placeholder(n: number): number {
    return this.reserve(n);
  }

  patchUint8(at: number, v: number): void {
    this.buf[at] = v;
  }

  patchUint16(at: number, v: number): void {
    const b = this.buf;
    b[at] = v >>> 8;
    b[at + 1] = v;
  }

  patchUint32(at: number, v: number): void {
    const b = this.buf;
    b[at] = v >>> 24;
    b[at + 1] = v >>> 16;
    b[at + 2] = v >>> 8;
    b[at + 3] = v;
  }

  /** Moves bytes [from, len) to [to, ...): used to shrink a reserved length prefix. */
  shift(from: number, to: number): void {
    this.buf.copyWithin(to, from, this.len);
    this.len -= from - to;
  }

  /**
   * The bytes written so far, which the writer no longer holds. A buffer filled exactly is handed
   * over as is; otherwise the bytes are copied out and the working buffer is wiped.
   */
  finish(): Uint8Array {
    if (this.len === this.buf.length && !this.lent) {
      const out = this.buf;
      this.buf = new Uint8Array(0);
      this.view = undefined;
      this.len = 0;
      return out;
    }
    const out = this.buf.slice(0, this.len);
    this.buf.fill(0, 0, this.len);
    if (this.lent) {
      this.giveBack();
      this.buf = new Uint8Array(0);
      this.view = undefined;
      this.len = 0;
    }
    return out;
  }

  /** Wipes what was written and gives back a borrowed buffer; the writer is then empty. */
  discard(): void {
    this.buf.fill(0, 0, this.len);
    this.giveBack();
    this.buf = new Uint8Array(0);
    this.view = undefined;
    this.len = 0;
  }

  private giveBack(): void {
    if (this.lent) {
      scratch = this.buf;
      this.lent = false;
    }
  }
}
