import { describe, expect, it } from 'vitest';
import { Writer } from '../../src-core/codec/index.js';

// Regression: a multi-byte write that made the buffer grow used to land in the old buffer's view
// (the view was read before reserve() replaced it), throwing a RangeError or losing the bytes.
describe('Writer growth on multi-byte writes', () => {
  it.each([
    ['uint16', 2, (w: Writer) => w.uint16(0xabcd), [0xab, 0xcd]],
    ['uint32', 4, (w: Writer) => w.uint32(0x01020304), [1, 2, 3, 4]],
    ['uint64', 8, (w: Writer) => w.uint64(0x0102030405060708n), [1, 2, 3, 4, 5, 6, 7, 8]],
  ] as const)('%s across the capacity boundary', (_name, size, write, want) => {
    // Capacity 8, and a prefix that leaves size-1 bytes free: the write must grow the buffer.
    const prefix = 8 - size + 1;
    const w = new Writer(8);
    w.bytes(new Uint8Array(prefix).fill(0xee));
    write(w);
    const out = w.finish();
    expect(out.length).toBe(prefix + size);
    expect([...out.subarray(0, prefix)].every((b) => b === 0xee)).toBe(true);
    expect([...out.subarray(prefix)]).toEqual(want);
  });
});
