/**
 * ECDSA signatures as TLS carries them (RFC 8446 §4.2.3, RFC 9420 §5.1.1): the DER encoding of
 *
 *   Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }
 *
 * Decoding is strict DER (minimal lengths, minimal positive integers, nothing after the
 * sequence), and it is ours, not a backend's: both backends then accept exactly the same bytes,
 * which keeps members of one group from disagreeing about a signature.
 */
import { bigIntToBytes, bytesToBigInt } from '../bytes.js';

export interface EcdsaSignature {
  readonly r: bigint;
  readonly s: bigint;
}

/** Encodes r and s (each 1 <= x < 2^(8*size)). */
export function encodeDerSignature(r: bigint, s: bigint): Uint8Array {
  const ri = derInteger(r);
  const si = derInteger(s);
  const body = ri.length + si.length;
  const header = derLength(body);
  const out = new Uint8Array(1 + header.length + body);
  out[0] = 0x30;
  out.set(header, 1);
  out.set(ri, 1 + header.length);
  out.set(si, 1 + header.length + ri.length);
  return out;
}

/** Decodes strict DER, or returns undefined for anything else. */
export function decodeDerSignature(sig: Uint8Array): EcdsaSignature | undefined {
  if (sig.length < 2 || sig[0] !== 0x30) return undefined;
  const seq = readLength(sig, 1);
  if (seq === undefined || seq.end !== sig.length) return undefined;
  const r = readInteger(sig, seq.start);
  if (r === undefined) return undefined;
  const s = readInteger(sig, r.end);
  if (s === undefined || s.end !== sig.length) return undefined;
  return { r: r.value, s: s.value };
}

/** Fixed-width r || s (IEEE P1363), the form OpenSSL and noble's `compact` use. */
export function toP1363(sig: EcdsaSignature, scalarSize: number): Uint8Array {
  const out = new Uint8Array(2 * scalarSize);
  out.set(bigIntToBytes(sig.r, scalarSize), 0);
  out.set(bigIntToBytes(sig.s, scalarSize), scalarSize);
  return out;
}

export function fromP1363(sig: Uint8Array): EcdsaSignature {
  const n = sig.length / 2;
  return { r: bytesToBigInt(sig.subarray(0, n)), s: bytesToBigInt(sig.subarray(n)) };
}

function derLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  if (n < 0x100) return Uint8Array.of(0x81, n);
  return Uint8Array.of(0x82, n >> 8, n & 0xff);
}

function derInteger(v: bigint): Uint8Array {
  let hex = v.toString(16);
  if (hex.length % 2 === 1) hex = '0' + hex;
  // A leading 0x00 keeps the integer positive when its top bit is set.
  if (parseInt(hex.slice(0, 2), 16) >= 0x80) hex = '00' + hex;
  const content = new Uint8Array(hex.length / 2);
  for (let i = 0; i < content.length; i++) content[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  const len = derLength(content.length);
  const out = new Uint8Array(1 + len.length + content.length);
  out[0] = 0x02;
  out.set(len, 1);
  out.set(content, 1 + len.length);
  return out;
}

/** A definite length at `at`, in its minimal form; returns where the content starts and ends. */
function readLength(b: Uint8Array, at: number): { start: number; end: number } | undefined {
  const first = b[at];
  if (first === undefined) return undefined;
  let len: number;
  let start: number;
  if (first < 0x80) {
    len = first;
    start = at + 1;
  } else if (first === 0x81) {
    const v = b[at + 1];
    if (v === undefined || v < 0x80) return undefined;
    len = v;
    start = at + 2;
  } else if (first === 0x82) {
    const hi = b[at + 1];
    const lo = b[at + 2];
    if (hi === undefined || lo === undefined || hi === 0) return undefined;
    len = (hi << 8) | lo;
    start = at + 3;
  } else {
    return undefined;
  }
  const end = start + len;
  return end <= b.length ? { start, end } : undefined;
}

function readInteger(b: Uint8Array, at: number): { value: bigint; end: number } | undefined {
  if (b[at] !== 0x02) return undefined;
  const l = readLength(b, at + 1);
  if (l === undefined || l.end === l.start) return undefined;
  const content = b.subarray(l.start, l.end);
  if (content[0]! >= 0x80) return undefined; // negative
  if (content.length > 1 && content[0] === 0 && content[1]! < 0x80) return undefined; // not minimal
  return { value: bytesToBigInt(content), end: l.end };
}
