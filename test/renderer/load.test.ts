/**
 * The built renderer in Debian's Chromium (playwright-core, no downloaded browser): the page
 * loads under its CSP, says what to do without a token, and with a one-time token reaches a
 * real loopback WebSocket server and shows what the API returned. The API behind the server is
 * the boundary scaffolding of test/app/rpcScaffold.ts, not the app: this checks the bridge and
 * the page, not the messenger (that is the e2e suite's job once the app exists).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebSocketServer } from '../../src-core/app/rpc/wsServer.js';
import type { RpcWebSocketServer } from '../../src-core/app/rpc/wsServer.js';
import { scaffold } from '../app/rpcScaffold.js';

const CHROMIUM = '/usr/bin/chromium';
// STACK-NOTES.md: the flags that let Debian's Chromium run headless here.
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
};

let outDir = '';
let http: Server | null = null;
let origin = '';
let browser: Browser | null = null;

/** Serves the built files (GET only, inside outDir only), as `parley serve` will. */
function serveStatic(dir: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]!));
    const file = join(dir, path === sep || path === '/' ? 'index.html' : path);
    if (req.method !== 'GET' || !file.startsWith(dir + sep)) {
      res.writeHead(404).end();
      return;
    }
    readFile(file).then(
      (body) =>
        res
          .writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' })
          .end(body),
      () => res.writeHead(404).end(),
    );
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Collects what would show a broken page: script errors and CSP refusals. */
function watch(page: Page): string[] {
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

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) return;
  outDir = await mkdtemp(join(tmpdir(), 'parley-renderer-'));
  await build({
    configFile: 'src-renderer/vite.config.ts',
    build: { outDir, emptyOutDir: true },
    logLevel: 'silent',
  });
  http = await serveStatic(outDir);
  const address = http.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  origin = `http://127.0.0.1:${address.port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
});

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

function requireChromium(): Browser {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `chromium is missing: ${CHROMIUM} does not exist (Debian: apt-get install chromium)`,
    );
  }
  return browser!;
}

describe('renderer in Chromium', () => {
  it('loads under its CSP and, without a token, says how to open it', async () => {
    const page = await requireChromium().newPage();
    const problems = watch(page);
    await page.goto(`${origin}/`);
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('parley serve');
    expect(await page.title()).toBe('Parley');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('trades the token in the fragment for a session and shows what the API returned', async () => {
    const b = requireChromium();
    const s = scaffold();
    await s.api.groups.create({ name: 'Team', members: [] });
    let ws: RpcWebSocketServer | null = null;
    try {
      ws = await startWebSocketServer({ api: s.api, allowedOrigins: [origin] });
      const page = await b.newPage();
      const problems = watch(page);
      await page.goto(`${origin}/#token=${ws.issueToken()}&ws=${ws.port}`);
      const chat = page.getByRole('button', { name: /Team/ });
      await chat.waitFor();
      // The token left the address bar and history.
      expect(page.url()).toBe(`${origin}/`);
      // Events reach the page: the app reports unread messages in the group.
      const groups = await s.api.groups.list();
      s.emit({ event: 'group.changed', data: { group: { ...groups[0]!, unread: 3 } } });
      await page.getByLabel('3 unread').waitFor();
      // A reload resumes with the session from this tab; the spent token is not needed.
      await page.reload();
      await page.getByRole('button', { name: /Team/ }).waitFor();
      expect(problems).toEqual([]);
      await page.close();
    } finally {
      await ws?.close();
    }
  });
});
