/**
 * The page checks the e2e suite runs on every screen find what they are meant to find: a page
 * with low-contrast text, an element wider than its pane and a control without a focus mark is
 * reported on all three counts, and the same page fixed is not.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './browserFixture.js';
import { contrastProblems, overflowProblems, tabStops } from './pageChecks.js';

let browser: Browser | null = null;

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

const page = (bad: boolean): string => `<!doctype html>
<style>
  body { margin: 0; background: #ffffff; color: #111111; }
  .main { width: 300px; overflow: auto; }
  .faint { color: ${bad ? '#bbbbbb' : '#555555'}; }
  .dark { background: #111418; color: ${bad ? '#3a3f46' : '#e6e8eb'}; }
  .wide { width: ${bad ? '500px' : '280px'}; }
  button:focus-visible { outline: 3px solid #f59e0b; }
  #plain:focus-visible { outline: ${bad ? 'none' : '3px solid #f59e0b'}; }
  button:disabled { opacity: 0.5; }
</style>
<div class="main">
  <p class="faint">faint text</p>
  <p class="dark">dark theme text</p>
  <div class="wide">wide</div>
  <div style="height: ${bad ? '700px' : '10px'}"></div>
  <button>first</button>
  <button id="plain">plain</button>
  <button disabled style="color: #eeeeee">disabled, exempt</button>
</div>`;

describe('page checks', () => {
  it('report low contrast, overflow and a missing focus mark', async () => {
    const p = await browser!.newPage({ viewport: { width: 800, height: 600 } });
    await p.setContent(page(true));
    const contrast = await contrastProblems(p);
    expect(contrast.map((c) => c.text).sort()).toEqual(['dark theme text', 'faint text']);
    expect(contrast.find((c) => c.text === 'faint text')!.ratio).toBeCloseTo(1.92, 1);
    expect(await overflowProblems(p)).toEqual(['page height: 823 > 600', 'main: 500 > 300']);
    const stops = await tabStops(p, 10);
    expect(stops.map((s) => [s.label, s.outline])).toEqual([
      ['button first', 'solid 3px'],
      ['button plain', 'none'],
    ]);

    await p.setContent(page(false));
    expect(await contrastProblems(p)).toEqual([]);
    expect(await overflowProblems(p)).toEqual([]);
    expect((await tabStops(p, 10)).filter((s) => s.outline === 'none')).toEqual([]);
    await p.close();
  });
});
