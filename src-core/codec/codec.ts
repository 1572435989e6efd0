import { CodecError } from './errors.js';
import { Reader } from './reader.js';
import { Writer } from './writer.js';

/** A wire structure's encoder and decoder, side by side. */
export interface Codec<T> {
  encode(w: Writer, value: T): void;
  decode(r: Reader): T;
}

/** Encodes one value to a fresh byte string. */
export function encode<T>(codec: Codec<T>, value: T): Uint8Array {
  const w = Writer.borrow();
  try {
    codec.encode(w, value);
  } catch (e) {
    w.discard();
    throw e;
  }
  return w.finish();
}

/** Decodes exactly one value; trailing bytes are an error. Only CodecError escapes. */
export function decode<T>(codec: Codec<T>, bytes: Uint8Array): T {
  const r = new Reader(bytes);
  const value = decodeFrom(codec, r);
  r.expectEnd();
  return value;
}

/**
 * Runs a decoder and turns any stray exception (a RangeError from a DataView, a TypeError from
 * a validation callback) into a CodecError, so that untrusted input has exactly one failure type.
 */
export function decodeFrom<T>(codec: Codec<T>, r: Reader): T {
  try {
    return codec.decode(r);
  } catch (e) {
    if (e instanceof CodecError) throw e;
    throw new CodecError('invalid_value', 'decoder failed', { cause: e });
  }
}

/** A codec for a different representation of the same bytes. */
export function mapCodec<A, B>(inner: Codec<A>, to: (a: A) => B, from: (b: B) => A): Codec<B> {
  return {
    encode: (w, v) => inner.encode(w, from(v)),
    decode: (r) => to(inner.decode(r)),
  };
}

/** Decoded values that must satisfy a rule; `check` returns an error description or undefined. */
export function refine<T>(inner: Codec<T>, check: (v: T) => string | undefined): Codec<T> {
  return {
    encode: inner.encode,
    decode: (r) => {
      const v = inner.decode(r);
      const problem = check(v);
      if (problem !== undefined) throw new CodecError('invalid_value', problem);
      return v;
    },
  };
}

/** For recursive structures: the codec is looked up on first use. */
export function lazy<T>(get: () => Codec<T>): Codec<T> {
  return {
    encode: (w, v) => get().encode(w, v),
    decode: (r) => get().decode(r),
  };
}

type Fields<T> = { readonly [K in keyof T]-?: Codec<T[K]> };

/**
 * A struct: fields are encoded in the order they are listed, as in the RFC's struct definitions.
 */
export function struct<T extends object>(fields: Fields<T>): Codec<T> {
  const entries = Object.entries(fields) as [keyof T & string, Codec<unknown>][];
  return {
    encode(w, v) {
      for (const [k, c] of entries) c.encode(w, v[k]);
    },
    decode(r) {
      const out = {} as Record<string, unknown>;
      for (const [k, c] of entries) out[k] = c.decode(r);
      return out as T;
    },
  };
}

/** A constant that must be present on the wire (a version or a fixed tag). */
export function constant<T>(inner: Codec<T>, value: T, what: string): Codec<T> {
  return {
    encode: (w) => inner.encode(w, value),
    decode: (r) => {
      const v = inner.decode(r);
      if (v !== value) throw new CodecError('invalid_value', `unexpected ${what}`);
      return v;
    },
  };
}

/**
 * A tagged union (`select (tag) { case a: ... }`). Tags missing from `cases` are rejected on
 * decode, so an unknown variant never reaches validated code.
 */
export function variant<Tag extends number, U extends { readonly [P in K]: Tag }, K extends string>(
  key: K,
  tagCodec: Codec<Tag>,
  cases: { readonly [T in Tag]?: Codec<Omit<Extract<U, { readonly [P in K]: T }>, K>> },
): Codec<U> {
  const table = cases as Record<number, Codec<object> | undefined>;
  return {
    encode(w, v) {
      const tag = v[key];
      const c = table[tag];
      if (c === undefined) throw new CodecError('invalid_value', `no encoder for ${key} ${tag}`);
      tagCodec.encode(w, tag);
      c.encode(w, v as object);
    },
    decode(r) {
      const tag = tagCodec.decode(r);
      const c = table[tag];
      if (c === undefined) throw new CodecError('invalid_value', `unknown ${key} ${tag}`);
      return { [key]: tag, ...c.decode(r) } as unknown as U;
    },
  };
}
