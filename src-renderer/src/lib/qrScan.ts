/**
 * What the QR scanner needs beside the camera: decoding one video frame with jsQR, and the
 * camera's failures in words a person can act on. No DOM here beyond the types.
 */
import jsQR from 'jsqr';

/** What a scan found: the symbol's bytes, and the same as text (codes are ASCII). */
export type Scanned =
  { source: 'camera'; text: string; bytes: Uint8Array } | { source: 'paste'; text: string };

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

/** Longest side a frame is scaled down to before decoding: jsQR's cost grows with the pixels. */
export const MAX_SCAN_SIDE = 800;

/** The size to draw a `width` × `height` video frame at for decoding. */
export function scanSize(width: number, height: number): { width: number; height: number } {
  const scale = Math.min(1, MAX_SCAN_SIDE / Math.max(width, height));
  return { width: Math.round(width * scale), height: Math.round(height * scale) };
}

/** getUserMedia's failures (DOMException names) as plain sentences. */
export function cameraProblem(error: unknown): string {
  const name = error instanceof DOMException ? error.name : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Parley may not use the camera (permission refused).';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera was found.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The camera could not be started (another program may be using it).';
    default:
      return 'The camera could not be started.';
  }
}
