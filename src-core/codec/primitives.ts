import type { Codec } from './codec.js';
import { CodecError } from './errors.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

export const uint8: Codec<number> = {
  encode: (w, v) => w.uint8(v),
  decode: (r) => r.uint8(),
};

export const uint16: Codec<number> = {
  encode: (w, v) => w.uint16(v),
  decode: (r) => r.uint16(),
};

export const uint32: Codec<number> = {
  encode: (w, v) => w.uint32(v),
  decode: (r) => r.uint32(),
};

export const uint64: Codec<bigint> = {
  encode: (w, v) => w.uint64(v),
  decode: (r) => r.uint64(),
};

/** `uint8 present; select (present) { case 0: struct{}; case 1: T value; }` in the MLS style. */
export const bool: Codec<boolean> = {
  encode: (w, v) => w.uint8(v ? 1 : 0),
  decode: (r) => {
    const b = r.uint8();
    if (b > 1) throw new CodecError('invalid_value', `boolean byte ${b}`);
    return b === 1;
  },
};

/** The largest value a variable-length header can hold (RFC 9420 §2.1.2: 30 bits). */
export const MAX_VARINT = 0x3fffffff;

export function varintSize(v: number): 1 | 2 | 4 {
  if (v < 0x40) return 1;
  if (v < 0x4000) return 2;
  return 4;
}

export function writeVarint(w: Writer, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > MAX_VARINT) {
    throw new CodecError('value_out_of_range', `varint ${v} out of range`);
  }
  if (v < 0x40) w.uint8(v);
  else if (v < 0x4000) w.uint16(0x4000 | v);
  else w.uint32((0x80000000 | v) >>> 0);
}

/** Reads a varint, rejecting the reserved 0b11 prefix and any non-minimal encoding. */
export function readVarint(r: Reader): number {
  const first = r.peekUint8();
  const prefix = first >> 6;
  let v: number;
  if (prefix === 0) {
    v = r.uint8();
  } else if (prefix === 1) {
    v = r.uint16() & 0x3fff;
    if (v < 0x40) throw new CodecError('non_minimal_varint', '2-byte varint for a small value');
  } else if (prefix === 2) {
    v = r.uint32() & 0x3fffffff;
    if (v < 0x4000) throw new CodecError('non_minimal_varint', '4-byte varint for a small value');
  } else {
    throw new CodecError('invalid_varint', 'varint prefix 0b11 is reserved');
  }
  return v;
}

export const varint: Codec<number> = { encode: writeVarint, decode: readVarint };

/** `opaque data<V>`: a varint length, then the bytes. */
export const opaque: Codec<Uint8Array> = {
  encode(w, v) {
    writeVarint(w, v.length);
    w.bytes(v);
  },
  decode(r) {
    return r.bytesCopy(readVarint(r));
  },
};

/** `opaque data[N]`: exactly N bytes, no prefix. */
export function fixedBytes(n: number): Codec<Uint8Array> {
  return {
    encode(w, v) {
      if (v.length !== n)
        throw new CodecError('invalid_value', `expected ${n} bytes, got ${v.length}`);
      w.bytes(v);
    },
    decode: (r) => r.bytesCopy(n),
  };
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** A UTF-8 string carried as `opaque<V>`; invalid UTF-8 is rejected. */
export const utf8String: Codec<string> = {
  encode: (w, v) => opaque.encode(w, utf8Encoder.encode(v)),
  decode(r) {
    const b = opaque.decode(r);
    try {
      return utf8Decoder.decode(b);
    } catch (e) {
      throw new CodecError('invalid_value', 'string is not valid UTF-8', { cause: e });
    }
  },
};

/** `T items<V>`: a varint byte length, then items until exactly that many bytes are used. */
export function vector<T>(item: Codec<T>): Codec<T[]> {
  return {
    encode(w, items) {
      // Reserve the largest header, encode, then shrink the header to its minimal form.
      const at = w.placeholder(4);
      const start = w.length;
      for (const it of items) item.encode(w, it);
      const len = w.length - start;
      if (len > MAX_VARINT) throw new CodecError('too_large', `vector of ${len} bytes`);
      const size = varintSize(len);
      if (size === 4) w.patchUint32(at, (0x80000000 | len) >>> 0);
      else {
        if (size === 2) w.patchUint16(at, 0x4000 | len);
        else w.patchUint8(at, len);
        w.shift(start, at + size);
      }
    },
    decode(r) {
      const len = readVarint(r);
      const sub = r.sub(len);
      const out: T[] = [];
      while (sub.remaining > 0) {
        const before = sub.remaining;
        out.push(item.decode(sub));
        // An item that consumes nothing would loop forever on hostile input.
        if (sub.remaining === before) throw new CodecError('empty_item', 'vector item of size 0');
      }
      return out;
    },
  };
}

/** `optional<T>`: a presence byte (0 or 1), then the value if present. */
export function optional<T>(inner: Codec<T>): Codec<T | undefined> {
  return {
    encode(w, v) {
      if (v === undefined) w.uint8(0);
      else {
        w.uint8(1);
        inner.encode(w, v);
      }
    },
    decode(r) {
      const present = r.uint8();
      if (present === 0) return undefined;
      if (present !== 1) throw new CodecError('invalid_value', `optional presence byte ${present}`);
      return inner.decode(r);
    },
  };
}

/** A uint8/uint16 enumeration restricted to known values. */
export function enumOf<E extends number>(
  base: Codec<number>,
  known: readonly E[],
  what: string,
): Codec<E> {
  const allowed = new Set<number>(known);
  return {
    encode: (w, v) => base.encode(w, v),
    decode(r) {
      const v = base.decode(r);
      if (!allowed.has(v)) throw new CodecError('invalid_value', `unknown ${what} ${v}`);
      return v as E;
    },
  };
}
