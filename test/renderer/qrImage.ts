/**
 * QR symbols as pictures, for tests that decode them the way a camera would see them: a module
 * matrix (as `qrcode` makes it and the app ships it) drawn as grey pixels with the quiet zone,
 * RGBA for jsQR, and YUV4MPEG2 video for Chromium's fake camera
 * (`--use-file-for-fake-video-capture`).
 */

/** A module matrix: `size` × `size` entries, row-major, non-zero = dark. */
export interface QrModules {
  size: number;
  modules: ArrayLike<number>;
}

export interface GreyImage {
  width: number;
  height: number;
  /** One byte per pixel, 0 = black, 255 = white. */
  pixels: Uint8Array;
}

/** ISO/IEC 18004 asks for a quiet zone of 4 modules around the symbol. */
export const QUIET_ZONE = 4;

/** The symbol at `scale` pixels per module, black on white, with the quiet zone. */
export function qrToGrey(qr: QrModules, scale: number): GreyImage {
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`scale ${scale} is not a whole >= 1`);
  const side = (qr.size + 2 * QUIET_ZONE) * scale;
  const pixels = new Uint8Array(side * side).fill(255);
  for (let y = 0; y < qr.size; y++) {
    for (let x = 0; x < qr.size; x++) {
      if (!qr.modules[y * qr.size + x]) continue;
      for (let dy = 0; dy < scale; dy++) {
        const row = ((y + QUIET_ZONE) * scale + dy) * side + (x + QUIET_ZONE) * scale;
        pixels.fill(0, row, row + scale);
      }
    }
  }
  return { width: side, height: side, pixels };
}

/** RGBA (what a canvas's getImageData gives jsQR). */
export function greyToRgba(image: GreyImage): Uint8ClampedArray {
  const rgba = new Uint8ClampedArray(image.pixels.length * 4);
  for (let i = 0; i < image.pixels.length; i++) {
    const v = image.pixels[i]!;
    rgba.set([v, v, v, 255], i * 4);
  }
  return rgba;
}

/**
 * A YUV4MPEG2 file (4:2:0, `C420`) of `frames` identical frames of `width` × `height` with the
 * image centred on white. Chromium loops the file, so a few frames are a still picture.
 */
export function greyToY4m(image: GreyImage, width: number, height: number, frames = 2): Uint8Array {
  if (width % 2 !== 0 || height % 2 !== 0) throw new Error('4:2:0 needs even dimensions');
  if (image.width > width || image.height > height) {
    throw new Error(`a ${image.width}×${image.height} image does not fit ${width}×${height}`);
  }
  const luma = new Uint8Array(width * height).fill(255);
  const left = Math.floor((width - image.width) / 2);
  const top = Math.floor((height - image.height) / 2);
  for (let y = 0; y < image.height; y++) {
    const from = y * image.width;
    luma.set(image.pixels.subarray(from, from + image.width), (top + y) * width + left);
  }
  // Grey has no colour: both chroma planes sit at the neutral 128.
  const chroma = new Uint8Array((width / 2) * (height / 2) * 2).fill(128);
  const header = new TextEncoder().encode(`YUV4MPEG2 W${width} H${height} F10:1 Ip A1:1 C420\n`);
  const frameHeader = new TextEncoder().encode('FRAME\n');
  const frameBytes = frameHeader.length + luma.length + chroma.length;
  const out = new Uint8Array(header.length + frames * frameBytes);
  out.set(header, 0);
  for (let f = 0; f < frames; f++) {
    let o = header.length + f * frameBytes;
    out.set(frameHeader, o);
    o += frameHeader.length;
    out.set(luma, o);
    out.set(chroma, o + luma.length);
  }
  return out;
}
