/**
 * One video frame to the QR symbol in it, with jsQR. Its own module so the decoder is a separate
 * chunk, fetched when a scanner opens rather than at start.
 */
import jsQR from 'jsqr';
import type { Scanned } from './qrScan.js';

/** RGBA pixels, as `CanvasRenderingContext2D.getImageData` gives them. */
export interface Frame {
  data: Uint8ClampedArray;
  width: number;
  height: number;
}

/**
 * The QR symbol in a frame, or null. Codes on a screen in a dark theme are sometimes drawn light
 * on dark, so both polarities are tried (jsQR's `attemptBoth`; about twice the work).
 */
export function decodeFrame(frame: Frame): Scanned | null {
  const found = jsQR(frame.data, frame.width, frame.height, { inversionAttempts: 'attemptBoth' });
  if (found === null || found.binaryData.length === 0) return null;
  return { source: 'camera', text: found.data, bytes: Uint8Array.from(found.binaryData) };
}
