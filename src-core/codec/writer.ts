/**
 * An append-only byte buffer that grows geometrically, so encoding a structure costs one
 * allocation per doubling rather than one per field.
 */
export class Writer {
  private buf: Uint8Array;
  private view: DataView;
  private len = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(initialCapacity);
    this.view = new DataView(this.buf.buffer);
  }

  get length(): number {
    return this.len;
  }

  private reserve(n: number): number {
    const at = this.len;
    const need = at + n;
    if (need > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < need) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(0, at));
      // Encoders also serialize secrets (group state for storage): leave no stray copy behind.
      this.buf.fill(0, 0, at);
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    this.len = need;
    return at;
  }

  uint8(v: number): void {
    const at = this.reserve(1);
    this.buf[at] = v;
  }

  uint16(v: number): void {
    // reserve() may replace this.view, so it must run before the view is read.
    const at = this.reserve(2);
    this.view.setUint16(at, v);
  }

  uint32(v: number): void {
    const at = this.reserve(4);
    this.view.setUint32(at, v);
  }

  uint64(v: bigint): void {
    const at = this.reserve(8);
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
    this.view.setUint16(at, v);
  }

  patchUint32(at: number, v: number): void {
    this.view.setUint32(at, v);
  }

  /** Moves bytes [from, len) to [to, ...): used to shrink a reserved length prefix. */
  shift(from: number, to: number): void {
    this.buf.copyWithin(to, from, this.len);
    this.len -= from - to;
  }

  /** A copy of the bytes written so far; the working buffer is wiped. */
  finish(): Uint8Array {
    const out = this.buf.slice(0, this.len);
    this.buf.fill(0, 0, this.len);
    return out;
  }
}
