import { describe, expect, it } from 'vitest';
import { CodecError, Writer, encode, opaque, struct, uint8 } from '../../src-core/codec/index.js';
import type { Codec } from '../../src-core/codec/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('encode on the shared working buffer', () => {
  it('gives correct bytes for an encoding nested inside another', () => {
    // The inner encode runs while the outer one holds the shared buffer.
    const nested: Codec<Uint8Array> = {
      encode(w, v) {
        opaque.encode(w, encode(opaque, v));
      },
      decode: () => {
        throw new Error('unused');
      },
    };
    const out = encode(struct({ a: uint8, b: nested }), { a: 7, b: Uint8Array.of(1, 2, 3) });
    expect(hex(out)).toBe('070403010203');
  });

  it('is usable again after an encoding throws, and keeps nothing of it', () => {
    const failing: Codec<Uint8Array> = {
      encode(w, v) {
        w.bytes(v);
        throw new CodecError('invalid_value', 'fails after writing');
      },
      decode: () => {
        throw new Error('unused');
      },
    };
    expect(() => encode(failing, new Uint8Array(40).fill(0xaa))).toThrow(CodecError);
    const w = Writer.borrow();
    // The buffer lent next is the shared one again, wiped: a placeholder reads zeros.
    const at = w.placeholder(40);
    expect(at).toBe(0);
    expect(hex(w.finish())).toBe('00'.repeat(40));
    expect(hex(encode(opaque, Uint8Array.of(5)))).toBe('0105');
  });

  it('grows past the shared buffer and still encodes exactly', () => {
    const big = new Uint8Array(5000).map((_, i) => i & 0xff);
    const out = encode(opaque, big);
    expect(out.length).toBe(2 + 5000);
    expect(hex(out.subarray(2))).toBe(hex(big));
    expect(hex(encode(opaque, Uint8Array.of(9, 9)))).toBe('020909');
  });
});
