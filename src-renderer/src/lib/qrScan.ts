/**
 * What the QR scanner needs beside the camera: the scanned result's shape, the frame size to
 * decode at, and the camera's failures in words a person can act on. The decoder itself
 * (qrDecode.ts, jsQR) is loaded only when a scanner opens.
 */

/** What a scan found: the symbol's bytes, and the same as text (codes are ASCII). */
export type Scanned =
  { source: 'camera'; text: string; bytes: Uint8Array } | { source: 'paste'; text: string };

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
