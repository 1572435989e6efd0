import { describe, expect, it } from 'vitest';
import {
  CodecError,
  Reader,
  Writer,
  decode,
  encode,
  fixedBytes,
  opaque,
  optional,
  readVarint,
  struct,
  uint16,
  uint32,
  uint64,
  uint8,
  utf8String,
  variant,
  vector,
  writeVarint,
} from '../../src-core/codec/index.js';
import type { Codec } from '../../src-core/codec/index.js';

function codecError(f: () => unknown): CodecError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CodecError);
    return e as CodecError;
  }
  throw new Error('expected a CodecError');
}

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));

describe('varint (RFC 9420 §2.1.2)', () => {
  it.each([
    [0, '00'],
    [63, '3f'],
    [64, '4040'],
    [16383, '7fff'],
    [16384, '80004000'],
    [0x3fffffff, 'bfffffff'],
  ])('encodes %i minimally as %s', (n, h) => {
    const w = new Writer();
    writeVarint(w, n);
    expect(Buffer.from(w.finish()).toString('hex')).toBe(h);
    expect(readVarint(new Reader(hex(h)))).toBe(n);
  });

  it('rejects non-minimal encodings', () => {
    expect(codecError(() => readVarint(new Reader(hex('4025')))).code).toBe('non_minimal_varint');
    expect(codecError(() => readVarint(new Reader(hex('80000025')))).code).toBe(
      'non_minimal_varint',
    );
    expect(codecError(() => readVarint(new Reader(hex('80003fff')))).code).toBe(
      'non_minimal_varint',
    );
  });

  it('rejects the reserved 0b11 prefix', () => {
    expect(codecError(() => readVarint(new Reader(hex('c000000000000000')))).code).toBe(
      'invalid_varint',
    );
  });

  it('rejects values that do not fit in 30 bits', () => {
    expect(codecError(() => writeVarint(new Writer(), 0x40000000)).code).toBe('value_out_of_range');
    expect(codecError(() => writeVarint(new Writer(), -1)).code).toBe('value_out_of_range');
    expect(codecError(() => writeVarint(new Writer(), 1.5)).code).toBe('value_out_of_range');
  });

  it('reports truncation', () => {
    expect(codecError(() => readVarint(new Reader(hex('40')))).code).toBe('truncated');
    expect(codecError(() => readVarint(new Reader(new Uint8Array(0)))).code).toBe('truncated');
  });
});

describe('integers', () => {
  it('are big-endian and exact width', () => {
    expect(encode(uint16, 0x0102)).toEqual(hex('0102'));
    expect(encode(uint32, 0x01020304)).toEqual(hex('01020304'));
    expect(encode(uint64, 0x0102030405060708n)).toEqual(hex('0102030405060708'));
    expect(decode(uint64, hex('ffffffffffffffff'))).toBe(0xffffffffffffffffn);
  });

  it('reject trailing bytes and truncation', () => {
    expect(codecError(() => decode(uint8, hex('0102'))).code).toBe('trailing_bytes');
    expect(codecError(() => decode(uint32, hex('010203'))).code).toBe('truncated');
  });
});

describe('opaque and vectors', () => {
  it('prefix opaque data with its varint length', () => {
    const data = new Uint8Array(300).fill(7);
    const enc = encode(opaque, data);
    expect(enc.subarray(0, 2)).toEqual(hex('412c'));
    expect(decode(opaque, enc)).toEqual(data);
  });

  it('reject a length larger than what remains', () => {
    expect(codecError(() => decode(opaque, hex('0501020304'))).code).toBe('truncated');
    expect(codecError(() => decode(vector(uint8), hex('bfffffff00'))).code).toBe('truncated');
  });

  it('shrinks the reserved vector header to its minimal size', () => {
    for (const n of [0, 1, 63, 64, 100, 16383, 16384, 20000]) {
      const items = Array.from({ length: n }, (_, i) => i & 0xff);
      const enc = encode(vector(uint8), items);
      const header = n < 64 ? 1 : n < 16384 ? 2 : 4;
      expect(enc.length).toBe(header + n);
      expect(decode(vector(uint8), enc)).toEqual(items);
    }
  });

  it('rejects an item that overruns the vector length', () => {
    // Vector of 3 bytes holding uint16 items: the second item is cut by the vector bound.
    expect(codecError(() => decode(vector(uint16), hex('03000100'))).code).toBe('truncated');
  });

  it('rejects items that consume no bytes (would loop forever)', () => {
    const empty: Codec<object> = struct<object>({});
    expect(codecError(() => decode(vector(empty), hex('0100'))).code).toBe('empty_item');
  });

  it('nests', () => {
    const c = vector(vector(opaque));
    const v = [[hex('01'), hex('')], [], [hex('0203')]];
    expect(decode(c, encode(c, v))).toEqual(v);
  });
});

describe('optional, fixed bytes, strings', () => {
  it('optional uses a 0/1 presence byte', () => {
    const c = optional(uint16);
    expect(encode(c, undefined)).toEqual(hex('00'));
    expect(encode(c, 5)).toEqual(hex('010005'));
    expect(decode(c, hex('010005'))).toBe(5);
    expect(codecError(() => decode(c, hex('020005'))).code).toBe('invalid_value');
  });

  it('fixed bytes must have the declared length', () => {
    expect(codecError(() => encode(fixedBytes(4), hex('0102'))).code).toBe('invalid_value');
    expect(decode(fixedBytes(2), hex('0102'))).toEqual(hex('0102'));
  });

  it('strings must be UTF-8', () => {
    expect(decode(utf8String, encode(utf8String, 'grüße'))).toBe('grüße');
    expect(codecError(() => decode(utf8String, hex('02c328'))).code).toBe('invalid_value');
  });
});

describe('struct and variant', () => {
  interface Point {
    x: number;
    y: Uint8Array;
  }
  const point = struct<Point>({ x: uint16, y: opaque });

  type Shape = { kind: 1; r: number } | { kind: 2; w: number; h: number };
  const shape = variant<1 | 2, Shape, 'kind'>('kind', uint8 as Codec<1 | 2>, {
    1: struct({ r: uint8 }),
    2: struct({ w: uint8, h: uint8 }),
  });

  it('encodes fields in declaration order', () => {
    expect(encode(point, { x: 1, y: hex('ff') })).toEqual(hex('000101ff'));
    expect(decode(point, hex('000101ff'))).toEqual({ x: 1, y: hex('ff') });
  });

  it('selects a variant by its tag and rejects unknown tags', () => {
    expect(encode(shape, { kind: 2, w: 3, h: 4 })).toEqual(hex('020304'));
    expect(decode(shape, hex('0105'))).toEqual({ kind: 1, r: 5 });
    expect(codecError(() => decode(shape, hex('0905'))).code).toBe('invalid_value');
  });
});

describe('decoded values do not alias their input', () => {
  it('copies opaque bytes out of the input buffer', () => {
    const input = hex('03010203');
    const out = decode(opaque, input);
    input[1] = 0xff;
    expect(out).toEqual(hex('010203'));
  });
});
