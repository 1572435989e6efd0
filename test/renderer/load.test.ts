/**
 * The built renderer in Debian's Chromium (playwright-core, no downloaded browser): the page
 * loads under its CSP, says what to do without a token, and with a one-time token reaches a
 * real loopback WebSocket server and shows what the API returned. The API behind the server is
 * the boundary scaffolding of test/app/rpcScaffold.ts, not the app: this checks the bridge and
 * the page, not the messenger (that is the e2e suite's job). The scaffold also plays what the
 * real app rarely does on cue: a machine without a camera (this Chromium has none), and refusals
 * of role and rules changes.
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
import type { GroupPolicy, Member } from '../../src-core/app/api.js';
import { AppError } from '../../src-core/app/errors.js';
import { startWebSocketServer } from '../../src-core/app/rpc/wsServer.js';
import type { RpcWebSocketServer } from '../../src-core/app/rpc/wsServer.js';
import { scaffold } from '../app/rpcScaffold.js';
import type { Scaffold } from '../app/rpcScaffold.js';

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

  it('without a camera, the scanner says so and takes a pasted code instead', async () => {
    const s = scaffold();
    s.override('contacts.nearby', async () => []);
    await withPage(s, async (page) => {
      await page
        .getByRole('navigation', { name: 'Screens' })
        .getByRole('button', { name: 'Contacts' })
        .click();
      await page.getByRole('button', { name: 'Scan QR code' }).click();
      // This Chromium runs without a camera (no fake-device switches): getUserMedia fails.
      const scanner = page.getByRole('group', { name: 'Scan their invite QR code' });
      await expect
        .poll(() => scanner.getByRole('alert').textContent())
        .toMatch(
          /^(No camera was found\.|Parley may not use the camera \(permission refused\)\.)$/,
        );
      const paste = scanner.getByLabel('Paste the code instead');
      expect(
        await paste.evaluate(
          (el) => el === (el.ownerDocument as { activeElement: unknown }).activeElement,
        ),
      ).toBe(true);
      await paste.fill('  PARLEY:1:PASTED  ');
      await paste.press('Enter');
      await expect
        .poll(() =>
          s.calls.filter((c) => c.method === 'contacts.addByInviteCode').map((c) => c.params),
        )
        .toEqual([{ code: 'PARLEY:1:PASTED' }]);
      // The scaffold does not add contacts: the app's refusal is shown, the scanner is closed.
      await scanner.waitFor({ state: 'detached' });
      await page.getByRole('alert').filter({ hasText: 'not part of this scaffolding' }).waitFor();
    });
  });

  it("a refused role or rules change shows the app's error code beside the control", async () => {
    const s = scaffold();
    const { groupId } = await s.api.groups.create({ name: 'Team', members: [] });
    const member = (over: Partial<Member>): Member => ({
      userId: 'YWRh',
      displayName: 'Ada',
      role: 'admin',
      verification: 'verified',
      isMe: true,
      devices: 1,
      online: true,
      ...over,
    });
    const policy: GroupPolicy = {
      membership: 'admins',
      keyUpdateAfterMs: 7 * 86_400_000,
      keyUpdateAfterMessages: 1000,
      removeIdleAfterMs: null,
      disappearAfterMs: null,
    };
    s.override('groups.members', async () => [
      member({}),
      member({ userId: 'Ym9i', displayName: 'Bob', role: 'member', isMe: false }),
    ]);
    s.override('groups.membershipLog', async () => ({ entries: [], nextCursor: null }));
    s.override('groups.epochCode', async () => ({
      groupId,
      epoch: 0,
      code: '12345678901234567890',
      groups: ['12345', '67890', '12345', '67890'],
    }));
    s.override('groups.policy', async () => policy);
    s.override('messages.history', async () => ({ messages: [], nextCursor: null }));
    s.override('groups.setRole', async () => {
      throw new AppError('forbidden', 'only admins change roles');
    });
    s.override('groups.setPolicy', async () => {
      throw new AppError('conflict', 'the group moved on');
    });
    await withPage(s, async (page) => {
      await page.getByRole('button', { name: /Team/ }).click();
      await page.getByRole('button', { name: 'Group', exact: true }).click();
      await page
        .locator('li.member')
        .filter({ hasText: 'Bob' })
        .getByRole('button', { name: 'Make admin' })
        .click();
      await page
        .getByRole('alert')
        .filter({
          hasText:
            "Bob stays member. The group's rules do not allow it (forbidden): only admins change roles",
        })
        .waitFor();
      const rules = page.locator('form.policy');
      await rules.getByLabel('Members update their keys after this many messages').fill('500');
      await rules.getByRole('button', { name: 'Save the rules' }).click();
      await rules
        .getByRole('alert')
        .filter({ hasText: 'Not possible in the current state (conflict): the group moved on' })
        .waitFor();
      const sent = s.calls.filter((c) => c.method === 'groups.setPolicy').map((c) => c.params);
      expect(sent).toEqual([{ groupId, policy: { ...policy, keyUpdateAfterMessages: 500 } }]);
      // Nothing changed: the form can be put back to the group's rules.
      await rules.getByRole('button', { name: 'Undo changes' }).click();
      expect(
        await rules.getByLabel('Members update their keys after this many messages').inputValue(),
      ).toBe('1000');

      // An idle limit under two key-update periods (7 days each here) is refused before sending.
      const idle = rules.getByLabel('Remove members offline for longer than');
      const save = rules.getByRole('button', { name: 'Save the rules' });
      await idle.selectOption({ label: '7 days' });
      await rules
        .getByRole('alert')
        .filter({ hasText: 'at least twice the key update interval (14 days)' })
        .waitFor();
      expect(await save.isDisabled()).toBe(true);
      await idle.selectOption({ label: '30 days' });
      await rules.getByRole('alert').waitFor({ state: 'detached' });
      expect(await save.isDisabled()).toBe(false);
      expect(s.calls.filter((c) => c.method === 'groups.setPolicy')).toHaveLength(1);
    });
  });
});

/** The page signed in to a WebSocket server over the scaffold; closes both afterwards. */
async function withPage(s: Scaffold, work: (page: Page) => Promise<void>): Promise<void> {
  const b = requireChromium();
  let ws: RpcWebSocketServer | null = null;
  try {
    ws = await startWebSocketServer({ api: s.api, allowedOrigins: [origin] });
    const page = await b.newPage();
    const problems = watch(page);
    page.setDefaultTimeout(15_000);
    await page.goto(`${origin}/#token=${ws.issueToken()}&ws=${ws.port}`);
    await page.getByRole('navigation', { name: 'Screens' }).waitFor();
    await work(page);
    expect(problems).toEqual([]);
    await page.close();
  } finally {
    await ws?.close();
  }
}
