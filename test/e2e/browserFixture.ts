/**
 * Browser mode for tests and the UI bench: the renderer built once into a temp folder, Debian's
 * Chromium driven by playwright-core, and a real ParleyApp served the way `parley serve` serves
 * it (the CLI's static server with its CSP, the RPC WebSocket with a one-time token).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { build } from 'vite';
import type { ParleyApi } from '../../src-core/app/api.js';
import { startWebSocketServer } from '../../src-core/app/rpc/wsServer.js';
import type { RpcWebSocketServer } from '../../src-core/app/rpc/wsServer.js';
import { startStaticServer } from '../../src-core/cli/staticServer.js';
import type { StaticServer } from '../../src-core/cli/staticServer.js';

export const CHROMIUM = '/usr/bin/chromium';
// STACK-NOTES.md: the flags that let Debian's Chromium run headless here.
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `chromium is missing: ${CHROMIUM} does not exist (Debian: apt-get install chromium)`,
    );
  }
}

/** `vite build` of src-renderer into a fresh temp folder; returns the folder. */
export async function buildRenderer(): Promise<string> {
  const outDir = await mkdtemp(join(tmpdir(), 'parley-renderer-'));
  await build({
    configFile: 'src-renderer/vite.config.ts',
    build: { outDir, emptyOutDir: true },
    logLevel: 'silent',
  });
  return outDir;
}

export async function removeDir(dir: string): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

/** `extraArgs`: more command-line switches (the e2e suite's fake camera). */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  requireChromium();
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [...FLAGS, ...extraArgs],
    headless: true,
  });
}

/**
 * Chromium's fake camera (`--use-file-for-fake-video-capture`): every capture that starts plays
 * the YUV4MPEG2 file at `file`, read when the capture starts, so a test writes the picture it
 * wants the camera to see just before the page asks for the camera. Permission prompts are
 * answered yes.
 */
export function fakeCameraArgs(file: string): string[] {
  return [
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    `--use-file-for-fake-video-capture=${file}`,
  ];
}

export interface Served {
  /** The one-time address `parley serve` would print. */
  url: string;
  close(): Promise<void>;
}

/** The app's UI on 127.0.0.1, as `parley serve` does it: static files + the RPC WebSocket. */
export async function serveApp(api: ParleyApi, rendererDir: string): Promise<Served> {
  let web: StaticServer | null = null;
  let rpc: RpcWebSocketServer | null = null;
  try {
    web = await startStaticServer(rendererDir, 0);
    const origin = `http://127.0.0.1:${web.port}`;
    rpc = await startWebSocketServer({ api, allowedOrigins: [origin] });
    web.setRpcPort(rpc.port);
    const url = `${origin}/#token=${rpc.issueToken()}&ws=${rpc.port}`;
    const [w, r] = [web, rpc];
    return { url, close: async () => void (await Promise.all([r.close(), w.close()])) };
  } catch (error) {
    await rpc?.close();
    await web?.close();
    throw error;
  }
}

/**
 * Collects what would show a broken page: script errors, CSP refusals, failed requests. RPC
 * errors the UI shows in its banner are not console errors and are not collected here.
 */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) {
      problems.push(`console: ${m.text()}`);
    }
  });
  return problems;
}

/** A fresh browser context (its own sessionStorage) with one page. */
export async function openPage(
  browser: Browser,
  width = 1100,
  height = 800,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width, height } });
  return { context, page: await context.newPage() };
}
