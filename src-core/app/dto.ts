/** Conversions to the boundary's plain data (api.ts): base64url bytes, QR module matrices. */
import { create as createQr } from 'qrcode';
import type { Base64Url, QrMatrix } from './api.js';
import { AppError } from './errors.js';

export function toBase64Url(bytes: Uint8Array): Base64Url {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** Strict: only the base64url alphabet, no padding (Buffer alone would skip junk silently). */
export function fromBase64Url(text: Base64Url, what: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    throw new AppError('bad_request', `${what} is not base64url`);
  }
  return new Uint8Array(Buffer.from(text, 'base64url'));
}

/**
 * A code's QR. Codes are upper-case base32 with `:` and `-`, so they fit the alphanumeric mode
 * (smaller symbols than byte mode); error correction M, as the net and identity layers use.
 */
export function qrOfText(text: string): QrMatrix {
  const qr = createQr([{ data: text, mode: 'alphanumeric' }], { errorCorrectionLevel: 'M' });
  return { size: qr.modules.size, modules: toBase64Url(Uint8Array.from(qr.modules.data)) };
}

export function qrOfModules(m: { size: number; modules: Uint8Array }): QrMatrix {
  return { size: m.size, modules: toBase64Url(m.modules) };
}

/** Seconds since the Unix epoch (records, certificates) to the boundary's milliseconds. */
export function secondsToMillis(s: bigint): number {
  return Number(s) * 1000;
}
