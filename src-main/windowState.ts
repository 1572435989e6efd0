/**
 * The window's size and position across runs, in a small JSON file in userData. The file is
 * ours but anything could have written it (a crash mid-write, a hand edit, a copied profile), so
 * it is read as untrusted input: a malformed or out-of-range file gives the default window, and a
 * window that would open off every display (a monitor unplugged since) is moved back onto one.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface WindowState {
  bounds: Rect;
  maximized: boolean;
}

/** Small enough for a narrow side-by-side window; the UI is laid out down to this. */
export const MIN_WIDTH = 360;
export const MIN_HEIGHT = 420;
/** Larger than any display we expect; bounds a corrupted value, not a real monitor. */
const MAX_EXTENT = 16384;
/** How much of the title bar must be on a display for the user to grab it. */
const VISIBLE_MARGIN = 64;

export const DEFAULT_SIZE = { width: 1100, height: 760 } as const;

const coordinate = z.number().int().min(-MAX_EXTENT).max(MAX_EXTENT);
const stateSchema = z.strictObject({
  version: z.literal(1),
  bounds: z.strictObject({
    x: coordinate,
    y: coordinate,
    width: z.number().int().min(MIN_WIDTH).max(MAX_EXTENT),
    height: z.number().int().min(MIN_HEIGHT).max(MAX_EXTENT),
  }),
  maximized: z.boolean(),
});

/** The saved state, or null when the text is not a valid one. */
export function parseWindowState(text: string): WindowState | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = stateSchema.safeParse(json);
  if (!parsed.success) return null;
  return { bounds: parsed.data.bounds, maximized: parsed.data.maximized };
}

export function serializeWindowState(state: WindowState): string {
  const b = state.bounds;
  const bounds = {
    x: Math.round(b.x),
    y: Math.round(b.y),
    width: Math.round(b.width),
    height: Math.round(b.height),
  };
  return `${JSON.stringify({ version: 1, bounds, maximized: state.maximized })}\n`;
}

function overlap(a: Rect, b: Rect): { width: number; height: number } {
  return {
    width: Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x),
    height: Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y),
  };
}

/**
 * The bounds to open with, given the displays' work areas now. The saved bounds when the top of
 * the window is reachable on some display (shrunk to fit that display); otherwise the saved
 * size, fitted and centred on the primary display (the first work area). No saved state: the
 * default size centred on the primary display.
 */
export function placeWindow(saved: WindowState | null, workAreas: readonly Rect[]): Rect {
  const primary = workAreas[0];
  const size = saved?.bounds ?? DEFAULT_SIZE;
  if (primary === undefined) {
    return { x: 0, y: 0, width: size.width, height: size.height };
  }
  if (saved !== null) {
    const titleBar: Rect = {
      ...saved.bounds,
      height: Math.min(VISIBLE_MARGIN, saved.bounds.height),
    };
    for (const area of workAreas) {
      const o = overlap(titleBar, area);
      if (o.width >= Math.min(VISIBLE_MARGIN, titleBar.width) && o.height > 0) {
        const width = Math.max(MIN_WIDTH, Math.min(saved.bounds.width, area.width));
        const height = Math.max(MIN_HEIGHT, Math.min(saved.bounds.height, area.height));
        return { x: saved.bounds.x, y: saved.bounds.y, width, height };
      }
    }
  }
  const width = Math.max(MIN_WIDTH, Math.min(size.width, primary.width));
  const height = Math.max(MIN_HEIGHT, Math.min(size.height, primary.height));
  return {
    x: primary.x + Math.round((primary.width - width) / 2),
    y: primary.y + Math.round((primary.height - height) / 2),
    width,
    height,
  };
}

/** The saved state, or null when the file is missing or invalid (never throws). */
export async function loadWindowState(path: string): Promise<WindowState | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  // A valid file is ~100 bytes; do not parse something huge.
  return text.length > 4096 ? null : parseWindowState(text);
}

/** Writes through a temporary file and a rename, so a crash leaves the old file or the new one. */
export async function saveWindowState(path: string, state: WindowState): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, serializeWindowState(state), { mode: 0o600 });
  await rename(tmp, path);
}
