/**
 * What the browser-mode test does on a page and how it looks at it: navigation and the
 * locators of the main screens, the fake camera's helpers and a real PNG to attach.
 */
import { deflateSync } from 'node:zlib';
import type { Locator, Page } from 'playwright-core';
import { create as createQr } from 'qrcode';
import type { QrMatrix } from '../../src-core/app/api.js';
import type { QrModules } from '../renderer/qrImage.js';

export const SHOTS = 'test-results/e2e';
/** Each UI step waits for what it needs; this bounds one wait (a libp2p join can take seconds). */
export const STEP = 30_000;

/** A code's QR as qrcode makes it (error correction M, as the app and the CLI draw codes). */
export function qrOfCode(code: string): QrModules {
  const qr = createQr(code, { errorCorrectionLevel: 'M' });
  return { size: qr.modules.size, modules: qr.modules.data };
}

export const modulesOf = (qr: QrMatrix): QrModules => ({
  size: qr.size,
  modules: Buffer.from(qr.modules, 'base64url'),
});

/**
 * Records the page's camera streams (wrapping getUserMedia before the app's scripts run), so the
 * test can see that closing the scanner released the camera.
 */
export const RECORD_CAMERA = `(() => {
  window.cameraStreams = [];
  const md = navigator.mediaDevices;
  if (!md || !md.getUserMedia) return;
  const original = md.getUserMedia.bind(md);
  md.getUserMedia = async (c) => {
    const s = await original(c);
    window.cameraStreams.push(s);
    return s;
  };
})()`;

/** readyState of every camera track the page opened ('ended' once released). */
export const cameraTracks = (page: Page): Promise<string[]> =>
  page.evaluate(
    'window.cameraStreams.flatMap((s) => s.getTracks().map((t) => t.readyState))',
  ) as Promise<string[]>;

export const shot = (page: Page, name: string): Promise<Buffer> =>
  page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });

export const nav = (page: Page, label: string): Promise<void> =>
  page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name: label }).click();

export async function openContact(page: Page, name: string): Promise<void> {
  await nav(page, 'Contacts');
  await page
    .getByRole('main')
    .getByRole('button', { name: new RegExp(`^${name}`) })
    .click();
  await page.getByRole('heading', { name, level: 1 }).waitFor();
}

/** The focused element: its tag and the start of its text. */
export const focused = (page: Page): Promise<string> =>
  page.evaluate(
    `(() => { const a = document.activeElement; return a.tagName.toLowerCase() + ' ' + a.textContent.trim().slice(0, 20); })()`,
  ) as Promise<string>;

export function memberRow(page: Page, name: string): Locator {
  return page.locator('li.member').filter({ hasText: name });
}

export function chatButton(page: Page, name: string): Locator {
  return page.getByRole('navigation', { name: 'Chats' }).getByRole('button', { name });
}

export async function openChat(page: Page, group: string): Promise<void> {
  await chatButton(page, group).click();
  await page.getByRole('heading', { name: group, level: 1 }).waitFor();
}

export async function openGroupScreen(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Group', exact: true }).click();
  await page.getByRole('heading', { name: 'Membership log' }).waitFor();
}

export async function send(page: Page, text: string): Promise<void> {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByLabel('Message', { exact: true }).press('Enter');
}

export function messageWith(page: Page, text: string): Locator {
  return page.getByRole('log').locator('article.message').filter({ hasText: text });
}

/** A real 48×48 RGB PNG (a gradient), so the preview is an image Chromium decodes. */
export function png(): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer): number => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), body.length + 4);
    return out;
  };
  const size = 48;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const rows = Buffer.alloc(size * (1 + size * 3));
  for (let y = 0; y < size; y++) {
    const o = y * (1 + size * 3);
    for (let x = 0; x < size; x++) rows.set([x * 5, y * 5, 160], o + 1 + x * 3);
  }
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    signature,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
