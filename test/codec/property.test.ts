import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CodecError,
  Reader,
  bool,
  fixedBytes,
  opaque,
  optional,
  struct,
  uint16,
  uint32,
  uint64,
  uint8,
  utf8String,
  varint,
  vector,
} from '../../src-core/codec/index.js';
import { extensionsCodec } from '../../src-core/mls/extension.js';
import { groupContextCodec } from '../../src-core/mls/groupContext.js';
import { fuzzDecoder } from '../support/fuzz.js';

const bytes = fc.uint8Array({ maxLength: 80 });
const extension = fc.record({
  extensionType: fc.integer({ min: 0, max: 0xffff }),
  extensionData: bytes,
});

describe('codec primitives: round trip and totality on hostile input', () => {
  it('uint8', () => fuzzDecoder({ codec: uint8, values: fc.integer({ min: 0, max: 255 }) }));
  it('uint16', () => fuzzDecoder({ codec: uint16, values: fc.integer({ min: 0, max: 0xffff }) }));
  it('uint32', () =>
    fuzzDecoder({ codec: uint32, values: fc.integer({ min: 0, max: 0xffffffff }) }));
  it('uint64', () =>
    fuzzDecoder({ codec: uint64, values: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }));
  it('bool', () => fuzzDecoder({ codec: bool, values: fc.boolean() }));
  it('varint', () =>
    fuzzDecoder({ codec: varint, values: fc.integer({ min: 0, max: 0x3fffffff }) }));
  it('opaque', () => fuzzDecoder({ codec: opaque, values: fc.uint8Array({ maxLength: 20_000 }) }));
  it('fixedBytes(32)', () =>
    fuzzDecoder({
      codec: fixedBytes(32),
      values: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    }));
  it('utf8String', () =>
    fuzzDecoder({ codec: utf8String, values: fc.string({ unit: 'grapheme' }) }));
  it('optional<uint16>', () =>
    fuzzDecoder({
      codec: optional(uint16),
      values: fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined }),
    }));
  it('vector<opaque>', () =>
    fuzzDecoder({ codec: vector(opaque), values: fc.array(bytes, { maxLength: 20 }) }));
  it('vector<vector<uint32>>', () =>
    fuzzDecoder({
      codec: vector(vector(uint32)),
      values: fc.array(fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 5 }), {
        maxLength: 5,
      }),
    }));
  it('struct', () =>
    fuzzDecoder({
      codec: struct<{ a: number; b: Uint8Array; c: bigint | undefined }>({
        a: uint8,
        b: opaque,
        c: optional(uint64),
      }),
      values: fc.record({
        a: fc.integer({ min: 0, max: 255 }),
        b: bytes,
        c: fc.option(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { nil: undefined }),
      }),
    }));
});

describe('mls structures built from the codec', () => {
  it('Extension list', () =>
    fuzzDecoder({ codec: extensionsCodec, values: fc.array(extension, { maxLength: 6 }) }));
  it('GroupContext', () =>
    fuzzDecoder({
      codec: groupContextCodec,
      values: fc.record({
        version: fc.integer({ min: 0, max: 0xffff }),
        cipherSuite: fc.integer({ min: 0, max: 0xffff }),
        groupId: bytes,
        epoch: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        treeHash: bytes,
        confirmedTranscriptHash: bytes,
        extensions: fc.array(extension, { maxLength: 4 }),
      }),
    }));
});

describe('the fuzz harness itself', () => {
  it('catches a decoder that throws something other than CodecError', () => {
    const broken = {
      encode: uint8.encode,
      decode: (r: Reader): number => {
        const v = r.uint8();
        if (v === 7) throw new TypeError('boom');
        return v;
      },
    };
    // decode() wraps stray exceptions, so go through the raw decoder to prove the check bites.
    expect(() =>
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 1, maxLength: 1 }), (b) => {
          try {
            broken.decode(new Reader(b));
          } catch (e) {
            if (!(e instanceof CodecError)) throw e;
          }
        }),
        { numRuns: 2000 },
      ),
    ).toThrow();
  });

  it('catches a decoder that accepts a non-canonical encoding', () => {
    const lax = {
      encode: varint.encode,
      decode: (r: Reader): number => {
        const first = r.uint8();
        return first >> 6 === 1 ? ((first & 0x3f) << 8) | r.uint8() : first & 0x3f;
      },
    };
    expect(() =>
      fuzzDecoder({ codec: lax, values: fc.integer({ min: 0, max: 63 }), inputs: 3000 }),
    ).toThrow();
  });
});
