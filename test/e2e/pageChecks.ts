/**
 * Checks of what a person sees, run inside the page: text contrast (WCAG 2 ratios, so both
 * themes stay readable), nothing wider than the window (small windows), and a visible focus mark
 * on every element the Tab key reaches. The scripts are strings: the test project has no DOM
 * types, and the page runs them as they are.
 */
import type { Page } from 'playwright-core';

export interface ContrastProblem {
  text: string;
  color: string;
  background: string;
  ratio: number;
}

/**
 * Every visible element with its own text, its colour against the backgrounds under it
 * (composited up to the first opaque one), and the WCAG 2 contrast ratio: at least 4.5, or 3 for
 * large text (24 px, or 18.66 px bold). Disabled and half-transparent controls are exempt, as
 * WCAG exempts inactive components.
 */
const CONTRAST_SCRIPT = `(() => {
  const parse = (c) => {
    const m = /rgba?\\(([^)]+)\\)/.exec(c);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const over = (top, under) => ({
    r: top.r * top.a + under.r * (1 - top.a),
    g: top.g * top.a + under.g * (1 - top.a),
    b: top.b * top.a + under.b * (1 - top.a),
    a: 1,
  });
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let base = { r: 255, g: 255, b: 255, a: 1 };
    for (let i = layers.length - 1; i >= 0; i--) base = over(layers[i], base);
    return base;
  };
  const faded = (el) => {
    for (let e = el; e; e = e.parentElement) {
      if (e.matches(':disabled') || Number(getComputedStyle(e).opacity) < 1) return true;
    }
    return false;
  };
  const problems = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('svg') || el.tagName === 'SCRIPT' || el.tagName === 'STYLE') continue;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim() !== '');
    const field = el.matches('input:not([type=radio]):not([type=checkbox]), textarea, select');
    if (!own && !(field && el.value)) continue;
    const rect = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (rect.width === 0 || rect.height === 0 || style.visibility === 'hidden') continue;
    if (el.closest('.visually-hidden') || faded(el)) continue;
    const fg = parse(style.color);
    if (!fg) continue;
    const bg = background(el);
    const color = over(fg, bg);
    const [hi, lo] = [lum(color), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) {
      problems.push({
        text: (el.textContent || el.value || '').trim().slice(0, 40),
        color: style.color,
        background: 'rgb(' + [bg.r, bg.g, bg.b].map(Math.round).join(', ') + ')',
        ratio: Math.round(ratio * 100) / 100,
      });
    }
  }
  return problems;
})()`;

export function contrastProblems(page: Page): Promise<ContrastProblem[]> {
  return page.evaluate(CONTRAST_SCRIPT) as Promise<ContrastProblem[]>;
}

/**
 * What does not fit the window: the page itself (wider or taller: the app scrolls inside its
 * panes), or one of the scrolling panes that is wider than itself (a pane that scrolls sideways
 * hides part of a screen).
 */
const OVERFLOW_SCRIPT = `(() => {
  const out = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) out.push('page: ' + root.scrollWidth + ' > ' + root.clientWidth);
  // The panes scroll, the page does not: a page taller than the window scrolls the top bar away.
  if (root.scrollHeight > root.clientHeight) {
    out.push('page height: ' + root.scrollHeight + ' > ' + root.clientHeight);
  }
  for (const el of document.querySelectorAll('.main, .side, .panel')) {
    if (el.getBoundingClientRect().width === 0) continue;
    if (el.scrollWidth > el.clientWidth + 1) {
      const name = el.getAttribute('aria-labelledby') || el.className;
      out.push(name + ': ' + el.scrollWidth + ' > ' + el.clientWidth);
    }
  }
  return out;
})()`;

export function overflowProblems(page: Page): Promise<string[]> {
  return page.evaluate(OVERFLOW_SCRIPT) as Promise<string[]>;
}

export interface FocusStop {
  label: string;
  outline: string;
}

const FOCUSED_SCRIPT = `(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  const label = (el.getAttribute('aria-label') || el.textContent || el.getAttribute('placeholder') || el.tagName).trim().slice(0, 40);
  const visible = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
  return { label: el.tagName.toLowerCase() + ' ' + label, outline: visible ? s.outlineStyle + ' ' + s.outlineWidth : 'none' };
})()`;

/**
 * Presses Tab up to `stops` times from the top of the page and returns each element reached
 * with its focus outline ('none' when no visible mark), stopping when focus comes around again.
 */
export async function tabStops(page: Page, stops: number): Promise<FocusStop[]> {
  await page.evaluate('document.activeElement && document.activeElement.blur()');
  const seen: FocusStop[] = [];
  for (let i = 0; i < stops; i++) {
    await page.keyboard.press('Tab');
    const stop = (await page.evaluate(FOCUSED_SCRIPT)) as FocusStop | null;
    if (stop === null) break;
    if (seen.length > 0 && stop.label === seen[0]!.label) break;
    seen.push(stop);
  }
  return seen;
}
