import { CodecError } from './errors.js';

/**
 * A bounded cursor over untrusted bytes. Every read checks the bound first and throws a
 * CodecError: a decoder can never read past its input or allocate more than it was given.
 */
export class Reader {
  private readonly view: DataView;
  private pos: number;

  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    private readonly end = bytes.length,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private take(n: number): number {
    if (n > this.end - this.pos) {
      throw new CodecError('truncated', `need ${n} bytes, ${this.end - this.pos} remain`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  uint8(): number {
    return this.view.getUint8(this.take(1));
  }

  uint16(): number {
    return this.view.getUint16(this.take(2));
  }

  uint32(): number {
    return this.view.getUint32(this.take(4));
  }

  uint64(): bigint {
    return this.view.getBigUint64(this.take(8));
  }

  peekUint8(): number {
    if (this.pos >= this.end) throw new CodecError('truncated', 'need 1 byte, 0 remain');
    return this.view.getUint8(this.pos);
  }

  /** A copy, so that decoded values never alias (and pin) the input buffer. */
  bytesCopy(n: number): Uint8Array {
    const at = this.take(n);
    return this.bytes.slice(at, at + n);
  }

  /** A reader over the next n bytes, advancing this one past them. */
  sub(n: number): Reader {
    const at = this.take(n);
    return new Reader(this.bytes, at, at + n);
  }

  expectEnd(): void {
    if (this.pos !== this.end) {
      throw new CodecError('trailing_bytes', `${this.end - this.pos} unexpected trailing bytes`);
    }
  }
}
