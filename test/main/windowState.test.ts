import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_PREFERENCES,
  loadPreferences,
  parsePreferences,
  savePreferences,
} from '../../src-main/preferences.js';
import type { Rect, WindowState } from '../../src-main/windowState.js';
import {
  DEFAULT_SIZE,
  MIN_HEIGHT,
  MIN_WIDTH,
  loadWindowState,
  parseWindowState,
  placeWindow,
  saveWindowState,
  serializeWindowState,
} from '../../src-main/windowState.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'parley-winstate-'));
  dirs.push(d);
  return d;
}

const FHD: Rect = { x: 0, y: 0, width: 1920, height: 1040 };
const RIGHT: Rect = { x: 1920, y: 0, width: 1280, height: 984 };
const state = (bounds: Rect, maximized = false): WindowState => ({ bounds, maximized });

describe('window state file', () => {
  it('round-trips', () => {
    const s = state({ x: 10, y: 20, width: 900, height: 700 }, true);
    expect(parseWindowState(serializeWindowState(s))).toEqual(s);
  });

  it.each([
    ['not JSON', '{'],
    ['null', 'null'],
    ['an array', '[]'],
    ['another version', JSON.stringify({ version: 2, bounds: FHD, maximized: false })],
    ['an extra field', JSON.stringify({ version: 1, bounds: FHD, maximized: false, x: 1 })],
    ['too small', JSON.stringify({ version: 1, bounds: { ...FHD, width: 10 }, maximized: false })],
    ['huge', JSON.stringify({ version: 1, bounds: { ...FHD, height: 1e9 }, maximized: false })],
    ['fractions', JSON.stringify({ version: 1, bounds: { ...FHD, x: 0.5 }, maximized: false })],
    ['a string', JSON.stringify({ version: 1, bounds: { ...FHD, y: '0' }, maximized: false })],
    ['no maximized', JSON.stringify({ version: 1, bounds: FHD })],
  ])('rejects %s', (_what, text) => {
    expect(parseWindowState(text)).toBeNull();
  });

  it('loads null for a missing, oversized or corrupt file; saves atomically', async () => {
    const dir = await tempDir();
    const path = join(dir, 'window-state.json');
    expect(await loadWindowState(path)).toBeNull();
    await writeFile(path, ' '.repeat(5000));
    expect(await loadWindowState(path)).toBeNull();
    const s = state({ x: -5, y: 30, width: 800, height: 600 });
    await saveWindowState(path, s);
    expect(await loadWindowState(path)).toEqual(s);
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ version: 1 });
  });
});

describe('placeWindow', () => {
  it('centres the default size on the primary display without a saved state', () => {
    expect(placeWindow(null, [FHD, RIGHT])).toEqual({
      x: (1920 - DEFAULT_SIZE.width) / 2,
      y: (1040 - DEFAULT_SIZE.height) / 2,
      ...DEFAULT_SIZE,
    });
  });

  it('keeps a saved window that is on a display, including a second one', () => {
    const onRight = { x: 2000, y: 100, width: 1000, height: 800 };
    expect(placeWindow(state(onRight), [FHD, RIGHT])).toEqual(onRight);
  });

  it('shrinks a saved window larger than its display', () => {
    expect(placeWindow(state({ x: 2000, y: 0, width: 3000, height: 2000 }), [FHD, RIGHT])).toEqual({
      x: 2000,
      y: 0,
      width: 1280,
      height: 984,
    });
  });

  it('moves a window left on an unplugged display back onto the primary one', () => {
    const placed = placeWindow(state({ x: 2000, y: 100, width: 1000, height: 800 }), [FHD]);
    expect(placed).toEqual({ x: 460, y: 120, width: 1000, height: 800 });
  });

  it('moves a window whose title bar is out of reach (only its bottom edge visible)', () => {
    const placed = placeWindow(state({ x: 100, y: -790, width: 1000, height: 800 }), [FHD]);
    expect(placed.y).toBeGreaterThanOrEqual(0);
  });

  it('never goes below the minimum size on a tiny display', () => {
    const tiny: Rect = { x: 0, y: 0, width: 300, height: 300 };
    const placed = placeWindow(null, [tiny]);
    expect(placed.width).toBe(MIN_WIDTH);
    expect(placed.height).toBe(MIN_HEIGHT);
  });
});

describe('preferences file', () => {
  it('defaults hide notification content; invalid files give the defaults', async () => {
    expect(DEFAULT_PREFERENCES.notificationContent).toBe(false);
    expect(parsePreferences('{')).toEqual(DEFAULT_PREFERENCES);
    expect(
      parsePreferences(
        JSON.stringify({ version: 1, notificationContent: 'yes', keyProtection: null }),
      ),
    ).toEqual(DEFAULT_PREFERENCES);
    expect(
      parsePreferences(
        JSON.stringify({ version: 1, notificationContent: true, keyProtection: 'plaintext' }),
      ),
    ).toEqual(DEFAULT_PREFERENCES);
    const dir = await tempDir();
    const path = join(dir, 'preferences.json');
    expect(await loadPreferences(path)).toEqual(DEFAULT_PREFERENCES);
    await savePreferences(path, { notificationContent: true, keyProtection: 'keychain' });
    expect(await loadPreferences(path)).toEqual({
      notificationContent: true,
      keyProtection: 'keychain',
    });
  });
});
