// Browser mode from launch to an interactive chat list with 100 groups stored (issue 8: target
// under 2 s). One launch = a new ParleyApp on the stored profile, unlock with the passphrase (the
// default scrypt cost a real profile has), the renderer and RPC served as `parley serve` does,
// a fresh Chromium tab loading it, and the list showing all 100 chats with the first one
// clickable. "First chat open" adds a click on the newest chat until its view has loaded.
// Chromium itself is started once before (in browser mode the person's browser is already up);
// its start is reported on its own line. Median of 3 launches after one warm-up launch.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParleyApp } from '../../src-core/app/parleyApp.js';
import { loopbackNetConfig } from '../../src-core/net/index.js';
import {
  buildRenderer,
  launchChromium,
  openPage,
  removeDir,
  serveApp,
} from '../../test/e2e/browserFixture.js';
import { formatUs, printTable } from '../harness.js';

const GROUPS = 100;
const LAUNCHES = 3;
const PASSPHRASE = 'bench passphrase, not a secret';

const newApp = (profileDir: string): ParleyApp =>
  new ParleyApp({ profileDir, keyProtection: 'passphrase', net: loopbackNetConfig() });

/** A profile with GROUPS single-member groups, each with one message so the list has previews. */
async function buildProfile(profileDir: string): Promise<void> {
  const app = newApp(profileDir);
  try {
    await app.profile.create({ displayName: 'Bench', deviceName: 'bench', passphrase: PASSPHRASE });
    for (let i = 0; i < GROUPS; i++) {
      const g = await app.groups.create({
        name: `Group ${String(i).padStart(3, '0')}`,
        members: [],
      });
      await app.messages.send({ groupId: g.groupId, text: `message in group ${i}` });
    }
  } finally {
    await app.close();
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export default async function uiStartup(): Promise<void> {
  const rendererDir = await buildRenderer();
  const profileDir = await mkdtemp(join(tmpdir(), 'parley-bench-ui-'));
  try {
    const b0 = performance.now();
    await buildProfile(profileDir);
    console.log(
      `profile with ${GROUPS} groups built in ${formatUs((performance.now() - b0) * 1000)}`,
    );

    const c0 = performance.now();
    const browser = await launchChromium();
    const chromiumMs = performance.now() - c0;
    const unlockMs: number[] = [];
    const listMs: number[] = [];
    const openMs: number[] = [];
    try {
      for (let round = 0; round <= LAUNCHES; round++) {
        const t0 = performance.now();
        const app = newApp(profileDir);
        await app.profile.unlock({ passphrase: PASSPHRASE });
        const t1 = performance.now();
        const served = await serveApp(app, rendererDir);
        const { context, page } = await openPage(browser);
        try {
          await page.goto(served.url);
          const chats = page.getByRole('navigation', { name: 'Chats' }).locator('button.chat');
          await chats.nth(GROUPS - 1).waitFor();
          await chats.first().click({ trial: true }); // visible, stable, enabled, hit-testable
          const t2 = performance.now();
          const count = await chats.count();
          if (count !== GROUPS) throw new Error(`the list shows ${count} chats, not ${GROUPS}`);
          await chats.first().click();
          await page.getByRole('log').locator('article.message').first().waitFor();
          const t3 = performance.now();
          if (round > 0) {
            unlockMs.push(t1 - t0);
            listMs.push(t2 - t0);
            openMs.push(t3 - t0);
          }
        } finally {
          await context.close();
          await served.close();
          await app.close();
        }
      }
    } finally {
      await browser.close();
    }
    printTable([
      ['step (median of 3 launches)', 'time'],
      ['Chromium start (once, not in the launch)', formatUs(chromiumMs * 1000)],
      ['unlock (scrypt + store + libp2p + groups)', formatUs(median(unlockMs) * 1000)],
      [`launch → interactive chat list (${GROUPS} groups)`, formatUs(median(listMs) * 1000)],
      ['launch → first chat open', formatUs(median(openMs) * 1000)],
    ]);
    console.log(`all launches, list ms: ${listMs.map((x) => x.toFixed(0)).join(', ')}`);
  } finally {
    await rm(profileDir, { recursive: true, force: true });
    await removeDir(rendererDir);
  }
}
