/**
 * The tray icon, drawn in code (BGRA pixels for nativeImage.createFromBitmap) so no image file
 * has to be found inside the asar: a round mark, with a red dot when there are unread messages.
 * The count itself goes in the tooltip, the menu and the OS badge (trayIcon is too small for it).
 */

function mix(dst: Buffer, i: number, rgb: readonly [number, number, number], a: number): void {
  if (a <= 0) return;
  const da = dst[i + 3]! / 255;
  const oa = a + da * (1 - a);
  // BGRA, straight alpha.
  dst[i] = Math.round((rgb[2] * a + dst[i]! * da * (1 - a)) / oa);
  dst[i + 1] = Math.round((rgb[1] * a + dst[i + 1]! * da * (1 - a)) / oa);
  dst[i + 2] = Math.round((rgb[0] * a + dst[i + 2]! * da * (1 - a)) / oa);
  dst[i + 3] = Math.round(oa * 255);
}

/** Coverage of a pixel by a disc (a one-pixel soft edge instead of jaggies). */
function disc(x: number, y: number, cx: number, cy: number, r: number): number {
  const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
  return Math.max(0, Math.min(1, r - d + 0.5));
}

const MARK: readonly [number, number, number] = [59, 111, 216];
const BADGE: readonly [number, number, number] = [220, 38, 38];

/** size × size BGRA pixels. */
export function trayBitmap(size: number, unread: boolean): Buffer {
  if (!Number.isInteger(size) || size < 8 || size > 256) throw new RangeError('icon size');
  const px = Buffer.alloc(size * size * 4);
  const c = size / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 4;
      mix(px, i, MARK, disc(x, y, c, c, size * 0.42));
      // A lighter inner ring makes the mark readable on dark and light panels.
      mix(px, i, [255, 255, 255], 0.9 * disc(x, y, c, c, size * 0.2));
      if (unread) mix(px, i, BADGE, disc(x, y, size * 0.78, size * 0.22, size * 0.22));
    }
  }
  return px;
}
