/**
 * The whole product in browser mode: three real ParleyApps (loopback libp2p, temp profiles), each
 * served as `parley serve` serves it, each driven in its own Chromium page through the UI only.
 * First run creates the profiles; Alice adds Bob by invite code and Carol by scanning her invite
 * QR with the camera (Chromium's fake camera plays a YUV4MPEG2 picture of the code made here),
 * makes a group and adds them; they chat and send an image; Alice removes Carol, whose chat shows
 * the group closed; Alice scans Bob's safety-number QR (and Carol's, a mismatch), changes a role
 * and the group's rules. Screenshots of each main screen, light and dark, large and at 480×640,
 * go to test-results/e2e/ (git-ignored); on each, text contrast, overflow and focus are checked.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ParleyApp } from '../../src-core/app/parleyApp.js';
import { MemoryPeerIdentityStore } from '../../src-core/net/index.js';
import { PASS, cleanup, closeApp, newUser, openApp, tempProfileDir } from '../app/appFixture.js';
import { greyToY4m, qrToGrey, QUIET_ZONE } from '../renderer/qrImage.js';
import type { QrModules } from '../renderer/qrImage.js';
import {
  buildRenderer,
  fakeCameraArgs,
  launchChromium,
  openPage,
  removeDir,
  serveApp,
  watchProblems,
} from './browserFixture.js';
import type { Served } from './browserFixture.js';
import { contrastProblems, overflowProblems, tabStops } from './pageChecks.js';
import {
  RECORD_CAMERA,
  SHOTS,
  STEP,
  cameraTracks,
  chatButton,
  focused,
  memberRow,
  messageWith,
  modulesOf,
  nav,
  openChat,
  openContact,
  openGroupScreen,
  png,
  qrOfCode,
  send,
  shot,
} from './uiSteps.js';

interface Person {
  name: string;
  app: ParleyApp;
  served: Served;
  context: BrowserContext;
  page: Page;
  problems: string[];
}

let rendererDir = '';
let cameraDir = '';
let cameraFile = '';
let browser: Browser | null = null;
const people: Person[] = [];

beforeAll(async () => {
  rendererDir = await buildRenderer();
  cameraDir = await mkdtemp(join(tmpdir(), 'parley-camera-'));
  cameraFile = join(cameraDir, 'camera.y4m');
  browser = await launchChromium(fakeCameraArgs(cameraFile));
  await mkdir(SHOTS, { recursive: true });
}, 60_000);

afterEach(async (ctx) => {
  // On failure, what each person saw at that moment (test artifacts, like the screenshots).
  if (ctx.task.result?.state !== 'fail') return;
  for (const p of people) {
    await p.page
      .screenshot({ path: `${SHOTS}/failed-${p.name}.png`, fullPage: true })
      .catch(() => {});
  }
});

afterAll(async () => {
  for (const p of people) {
    await p.context.close();
    await p.served.close();
  }
  await browser?.close();
  await cleanup();
  await removeDir(rendererDir);
  await removeDir(cameraDir);
}, 60_000);

/** The fake camera's picture size. */
const CAMERA = { width: 640, height: 480 };

/** What the camera sees from the next capture on: the symbol, centred, as large as fits. */
async function showToCamera(qr: QrModules): Promise<void> {
  const scale = Math.floor(Math.min(CAMERA.width, CAMERA.height) / (qr.size + 2 * QUIET_ZONE));
  if (scale < 2) throw new Error(`a QR of ${qr.size} modules does not fit the fake camera`);
  await writeFile(cameraFile, greyToY4m(qrToGrey(qr, scale), CAMERA.width, CAMERA.height));
}

/** A white picture: the camera runs and finds nothing. */
const showNothingToCamera = (): Promise<void> =>
  writeFile(
    cameraFile,
    greyToY4m(
      { width: 2, height: 2, pixels: new Uint8Array(4).fill(255) },
      CAMERA.width,
      CAMERA.height,
    ),
  );

async function person(name: string, existing?: ParleyApp): Promise<Person> {
  const app = existing ?? openApp(await tempProfileDir());
  const served = await serveApp(app, rendererDir);
  const { context, page } = await openPage(browser!);
  await context.addInitScript(RECORD_CAMERA);
  page.setDefaultTimeout(STEP);
  // Removing a member asks for confirmation; the person says yes.
  page.on('dialog', (d) => void d.accept());
  const p = { name, app, served, context, page, problems: watchProblems(page) };
  people.push(p);
  return p;
}

/** First run: name, device, passphrase twice; returns the invite code the UI then shows. */
async function firstRun(p: Person, screenshot: boolean): Promise<string> {
  await p.page.goto(p.served.url);
  await p.page.getByRole('heading', { name: 'Welcome to Parley' }).waitFor();
  await p.page.getByLabel('Your name').fill(p.name);
  await p.page.getByLabel("This device's name").fill(`${p.name}'s laptop`);
  await p.page.getByLabel('Passphrase', { exact: true }).fill(PASS);
  await p.page.getByLabel('Passphrase again').fill(PASS);
  if (screenshot) await shot(p.page, '1-first-run');
  await p.page.getByRole('button', { name: 'Create my profile' }).click();
  const code = p.page.locator('code.invite');
  await code.waitFor();
  return (await code.textContent())!.trim();
}

async function addContact(p: Person, code: string, name: string): Promise<void> {
  await nav(p.page, 'Contacts');
  await p.page.getByLabel('Invite code').fill(code);
  await p.page.getByRole('button', { name: 'Add contact' }).click();
  await p.page.getByRole('heading', { name, level: 1 }).waitFor();
  await p.page.getByRole('heading', { name: 'Safety number' }).waitFor();
}

/**
 * Alice (admin) makes Bob an admin and turns on disappearing messages: each a commit every member
 * applies. Her screen shows the new role and rules, Bob's shows the rules too, and the app agrees.
 */
async function changeRoleAndRules(alice: Person, bob: Person): Promise<void> {
  const page = alice.page;
  const groupId = (await alice.app.groups.list()).find((g) => g.name === 'Team')!.groupId;
  await openChat(page, 'Team');
  await openGroupScreen(page);
  const bobRow = memberRow(page, 'Bob');
  await bobRow.getByRole('button', { name: 'Make admin' }).click();
  await bobRow.getByRole('button', { name: 'Make member' }).waitFor();
  await page.getByText('Alice made Bob admin').waitFor();
  const members = await alice.app.groups.members({ groupId });
  expect(members.find((m) => m.displayName === 'Bob')?.role).toBe('admin');

  const rules = page.locator('form.policy');
  await rules.getByLabel('Disappearing messages').selectOption({ label: 'after 1 day' });
  await rules.getByRole('button', { name: 'Save the rules' }).click();
  await rules.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
  await page.getByText('Alice changed the rules: messages disappear after 1 day').waitFor();
  expect((await alice.app.groups.policy({ groupId })).disappearAfterMs).toBe(86_400_000);
  await page.setViewportSize({ width: 1100, height: 1400 });
  await shot(page, '12-group-rules');
  await page.setViewportSize({ width: 1100, height: 800 });

  // Bob's open group screen follows the commit: he is an admin and sees the new rule.
  await bob.page.getByText('Alice changed the rules: messages disappear after 1 day').waitFor();
  const bobsRules = bob.page.locator('form.policy');
  await expect
    .poll(() => bobsRules.getByLabel('Disappearing messages').inputValue(), { timeout: STEP })
    .toBe('86400000');
  await bobsRules.getByRole('button', { name: 'Save the rules' }).waitFor();
}

/**
 * Every main screen in the light and dark themes, in a large window and at 480×640: screenshots
 * (light and large are the numbered ones above), and on each the checks of pageChecks.ts. Tab
 * stops are walked once per screen (focus styles do not depend on the theme).
 */
async function screensEverywhere(alice: Person): Promise<void> {
  const page = alice.page;
  const screens: [string, () => Promise<void>][] = [
    ['chat-list', () => nav(page, 'Chats').then(() => chatButton(page, 'Team').waitFor())],
    // In a narrow window the chat list shows only on the Chats screen.
    ['chat-view', () => nav(page, 'Chats').then(() => openChat(page, 'Team'))],
    [
      'group',
      () =>
        nav(page, 'Chats')
          .then(() => openChat(page, 'Team'))
          .then(() => openGroupScreen(page)),
    ],
    [
      'contacts',
      () =>
        nav(page, 'Contacts').then(() =>
          page.getByRole('heading', { name: 'Contacts', level: 1 }).waitFor(),
        ),
    ],
    ['contact', () => openContact(page, 'Bob')],
    ['devices', () => nav(page, 'Devices').then(() => page.getByText("Alice's laptop").waitFor())],
    [
      'network',
      () =>
        nav(page, 'Network').then(() =>
          page.getByRole('heading', { name: 'Connected peers' }).waitFor(),
        ),
    ],
  ];
  const variants = [
    { theme: 'light', width: 1100, height: 800, prefix: '' },
    { theme: 'dark', width: 1100, height: 800, prefix: 'dark-' },
    { theme: 'light', width: 480, height: 640, prefix: 'small-' },
    { theme: 'dark', width: 480, height: 640, prefix: 'small-dark-' },
  ] as const;
  const problems: string[] = [];
  for (const v of variants) {
    await page.emulateMedia({ colorScheme: v.theme });
    await page.setViewportSize({ width: v.width, height: v.height });
    for (const [name, open] of screens) {
      await open();
      const where = `${v.theme} ${v.width}×${v.height} ${name}`;
      if (v.prefix !== '') await shot(page, `${v.prefix}${name}`);
      for (const c of await contrastProblems(page)) {
        problems.push(
          `${where}: contrast ${c.ratio} for "${c.text}" (${c.color} on ${c.background})`,
        );
      }
      for (const o of await overflowProblems(page))
        problems.push(`${where}: does not fit the window, ${o}`);
      if (v.prefix === '') {
        const stops = await tabStops(page, 40);
        if (stops.length < 3) problems.push(`${where}: only ${stops.length} Tab stops`);
        for (const f of stops.filter((s) => s.outline === 'none')) {
          problems.push(`${where}: no visible focus on ${f.label}`);
        }
      }
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1100, height: 800 });
  expect(problems).toEqual([]);
}

/**
 * A screen outside the main walk (first run, the key-change warning) in the dark theme and at
 * 480×640: screenshots, and the contrast and size checks. `visible` is waited for in each.
 */
async function expectFits(page: Page, name: string, visible: Locator): Promise<void> {
  const problems: string[] = [];
  for (const [theme, width, height, prefix] of [
    ['dark', 1100, 800, 'dark-'],
    ['light', 480, 640, 'small-'],
    ['dark', 480, 640, 'small-dark-'],
  ] as const) {
    await page.emulateMedia({ colorScheme: theme });
    await page.setViewportSize({ width, height });
    await visible.waitFor();
    await shot(page, `${prefix}${name}`);
    for (const c of await contrastProblems(page)) {
      problems.push(
        `${prefix}${name}: contrast ${c.ratio} for "${c.text}" (${c.color} on ${c.background})`,
      );
    }
    for (const o of await overflowProblems(page)) problems.push(`${prefix}${name}: ${o}`);
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1100, height: 800 });
  expect(problems).toEqual([]);
}

/**
 * At 480×640 one pane shows at a time, so the control that opened a screen disappears with the
 * list: focus goes to the new screen's heading, and Escape walks back (group → chat → list) with
 * focus landing on what is shown, ending on the chat it came from.
 */
async function keyboardInANarrowWindow(page: Page): Promise<void> {
  await page.setViewportSize({ width: 480, height: 640 });
  await nav(page, 'Chats');
  await chatButton(page, 'Team').focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Team', level: 1 }).waitFor();
  await expect.poll(() => focused(page)).toBe('h1 Team');
  await page.keyboard.press('Tab');
  expect(await focused(page)).toBe('button Group');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Membership log' }).waitFor();
  await expect.poll(() => focused(page)).toBe('h1 Team');
  await page.keyboard.press('Escape');
  await page.getByRole('log').waitFor();
  await expect.poll(() => focused(page)).toBe('h1 Team');
  await page.keyboard.press('Escape');
  await chatButton(page, 'Team').waitFor();
  await expect.poll(() => focused(page)).toMatch(/^button Team/);
  await page.setViewportSize({ width: 1100, height: 800 });
}

describe('browser mode, three profiles on loopback', () => {
  it('first run, contacts by code and QR, a group, chat, an image, a removal, safety QR, roles and rules, every screen', async () => {
    const alice = await person('Alice');
    const bob = await person('Bob');
    const carol = await person('Carol');

    const codes = new Map<string, string>();
    for (const p of [alice, bob, carol]) codes.set(p.name, await firstRun(p, p === alice));
    expect(new Set(codes.values()).size).toBe(3);

    // Alice adds Bob by his code; Bob adds Carol through a parley:// invite link (what the
    // Electron shell hands the page as a `parley:deeplink` event), accepted on screen.
    await addContact(alice, codes.get('Bob')!, 'Bob');
    await shot(alice.page, '5-contact-screen');

    // The scanner by keyboard: Enter opens it and the camera runs (a white picture, no code);
    // Escape closes it, releases the camera and puts focus back on the button; the screen stays.
    await nav(alice.page, 'Contacts');
    await showNothingToCamera();
    const scanButton = alice.page.getByRole('button', { name: 'Scan QR code' });
    await scanButton.focus();
    await alice.page.keyboard.press('Enter');
    const scanner = alice.page.getByRole('group', { name: 'Scan their invite QR code' });
    await scanner.getByText('Looking for a QR code').waitFor();
    await shot(alice.page, '10-scanner');
    await alice.page.keyboard.press('Escape');
    await scanner.waitFor({ state: 'detached' });
    expect(await cameraTracks(alice.page)).toEqual(['ended']);
    expect(await alice.page.evaluate('document.activeElement.textContent')).toBe('Scan QR code');
    await alice.page.getByRole('heading', { name: 'Contacts', level: 1 }).waitFor();

    // Carol's invite QR in front of the camera: Alice adds her by scanning it.
    await showToCamera(qrOfCode(codes.get('Carol')!));
    await scanButton.click();
    await alice.page.getByRole('heading', { name: 'Carol', level: 1 }).waitFor();
    expect(await cameraTracks(alice.page)).toEqual(['ended', 'ended']);
    // Codes work once: Carol's screen now shows a fresh one, which she gives Bob.
    const spent = codes.get('Carol')!;
    const carolsCode = carol.page.locator('code.invite');
    await expect.poll(() => carolsCode.textContent(), { timeout: STEP }).not.toBe(spent);
    codes.set('Carol', (await carolsCode.textContent())!.trim());
    // The same script src-main runs in the window for a parley://invite/<code> link.
    const detail = JSON.stringify({ kind: 'invite', code: codes.get('Carol')! });
    await bob.page.evaluate(
      `window.dispatchEvent(new CustomEvent('parley:deeplink', { detail: ${detail} }))`,
    );
    const invite = bob.page.getByRole('dialog', { name: 'Invite link' });
    await invite.getByRole('button', { name: 'Add contact' }).click();
    await bob.page.getByRole('heading', { name: 'Carol', level: 1 }).waitFor();

    // Alice makes the group and adds both from her contacts.
    await nav(alice.page, 'Chats');
    await alice.page.getByLabel('New group name').fill('Team');
    await alice.page.getByRole('button', { name: 'Create', exact: true }).click();
    await alice.page.getByRole('heading', { name: 'Membership log' }).waitFor();
    for (const name of ['Bob', 'Carol']) {
      await alice.page.getByLabel('Contact to add').selectOption({ label: name });
      await alice.page.getByRole('button', { name: 'Add', exact: true }).click();
      await memberRow(alice.page, name).waitFor();
    }
    await alice.page.getByRole('heading', { name: 'Members (3)' }).waitFor();

    // Everyone sees the group, and waits until the others are on its channel (the online mark
    // on the group screen): messages are only pushed to members who are there.
    for (const p of [alice, bob, carol]) {
      await openChat(p.page, 'Team');
      await openGroupScreen(p.page);
      for (const other of [alice, bob, carol].filter((o) => o !== p)) {
        await memberRow(p.page, other.name).getByLabel('online').waitFor();
      }
      await p.page.getByRole('button', { name: 'Back to the chat' }).click();
    }

    await send(alice.page, 'hello team');
    for (const p of [bob, carol]) await messageWith(p.page, 'hello team').waitFor();
    await messageWith(bob.page, 'hello team').getByRole('button', { name: 'Reply' }).click();
    await send(bob.page, 'hi Alice');
    await messageWith(alice.page, 'hi Alice').waitFor();
    await expect
      .poll(() => messageWith(alice.page, 'hi Alice').textContent(), { timeout: STEP })
      .toContain('Alice: hello team');

    // An image: Alice attaches it; Bob fetches it and sees the preview.
    await alice.page
      .getByLabel('Attach a file')
      .setInputFiles({ name: 'gradient.png', mimeType: 'image/png', buffer: png() });
    await messageWith(alice.page, 'gradient.png')
      .getByRole('img', { name: 'gradient.png' })
      .waitFor();
    const bobsImage = messageWith(bob.page, 'gradient.png');
    await bobsImage.getByRole('button', { name: 'Download' }).click();
    const preview = bobsImage.getByRole('img', { name: 'gradient.png' });
    await preview.waitFor();
    await expect
      .poll(
        () => preview.evaluate((i) => (i as unknown as { naturalWidth: number }).naturalWidth),
        { timeout: STEP },
      )
      .toBe(48);
    await shot(bob.page, '3-chat-view');
    await nav(bob.page, 'Chats');
    await bob.page.getByRole('heading', { name: 'Bob', level: 2 }).waitFor();
    await shot(bob.page, '2-chat-list');

    // Alice removes Carol; Carol's chat says the group is closed to her.
    await openGroupScreen(alice.page);
    await memberRow(alice.page, 'Carol').getByRole('button', { name: 'Remove' }).click();
    await alice.page.getByRole('heading', { name: 'Members (2)' }).waitFor();
    await carol.page.getByText('You were removed from this group.').waitFor();
    await expect(carol.page.getByLabel('Message', { exact: true }).count()).resolves.toBe(0);
    await shot(carol.page, '8-removed');

    // Alice and Bob compare the epoch code: the same digits at the same epoch.
    const heading = alice.page.getByRole('heading', { name: /^Group code \(epoch \d+\)$/ });
    const epochTitle = (await heading.textContent())!;
    await openChat(bob.page, 'Team');
    await openGroupScreen(bob.page);
    await bob.page.getByRole('heading', { name: epochTitle, exact: true }).waitFor();
    const digits = await Promise.all(
      [alice, bob].map((p) => p.page.locator('p.digits.code').textContent()),
    );
    expect(digits[0]).toMatch(/^(\d{5} ){3}\d{5}$/);
    expect(digits[1]).toBe(digits[0]);
    await alice.page.getByText('Alice removed Carol').waitFor();
    // The screens scroll inside the window: a taller one shows the whole group screen.
    await alice.page.setViewportSize({ width: 1100, height: 1400 });
    await shot(alice.page, '4-group-screen');
    await alice.page.setViewportSize({ width: 1100, height: 800 });

    await nav(alice.page, 'Devices');
    await alice.page.getByText("Alice's laptop").waitFor();
    await shot(alice.page, '6-devices');
    await nav(alice.page, 'Network');
    await alice.page.getByRole('heading', { name: 'Connected peers' }).waitFor();
    await shot(alice.page, '7-network');

    // Safety numbers by QR: the code on Carol's screen is not Bob's (a mismatch, said loudly);
    // the one on Bob's screen matches, and Bob is verified.
    const aliceId = (await alice.app.identity.me()).userId;
    await openContact(alice.page, 'Bob');
    const scanSafety = alice.page.getByRole('button', { name: 'Scan their safety-number QR' });
    await showToCamera(modulesOf((await carol.app.contacts.safetyNumber({ userId: aliceId })).qr));
    await scanSafety.click();
    await alice.page
      .getByRole('alert')
      .filter({ hasText: 'Mismatch: the key you hold for them is not the one they have.' })
      .waitFor();
    await showToCamera(modulesOf((await bob.app.contacts.safetyNumber({ userId: aliceId })).qr));
    await scanSafety.click();
    await alice.page.getByRole('status').filter({ hasText: 'The codes match' }).waitFor();
    await shot(alice.page, '11-safety-number-scanned');
    const bobsContact = (await alice.app.contacts.list()).find((c) => c.displayName === 'Bob');
    expect(bobsContact?.verification).toBe('verified');

    await changeRoleAndRules(alice, bob);
    await screensEverywhere(alice);
    await keyboardInANarrowWindow(alice.page);

    for (const p of [alice, bob, carol]) expect(p.problems).toEqual([]);
  }, 120_000);

  it('a contact presenting another key: unlock, the loud banner, compare and accept', async () => {
    // Dave's network key is shared with a second profile (a reinstall that kept it, or whoever
    // stole it): same peer id, new user key, same name. Only Erin's screen is under test.
    const davePeerKey = new MemoryPeerIdentityStore();
    const erinUser = await newUser('Erin');
    await erinUser.app.profile.lock();
    const dave = await newUser('Dave', { peerIdentity: () => davePeerKey });
    const erin = await person('Erin', erinUser.app);

    await erin.page.goto(erin.served.url);
    await erin.page.getByRole('heading', { name: 'Unlock Parley' }).waitFor();
    await erin.page.getByLabel('Passphrase').fill(PASS);
    await erin.page.getByRole('button', { name: 'Unlock' }).click();
    const code = erin.page.locator('code.invite');
    await code.waitFor();

    const used = (await code.textContent())!.trim();
    await dave.app.contacts.addByInviteCode({ code: used });
    await nav(erin.page, 'Contacts');
    await erin.page.getByRole('button', { name: /Dave/ }).waitFor();
    await closeApp(dave.app);

    // Erin's screen shows a fresh code after Dave used hers; the impostor takes that one.
    await nav(erin.page, 'Chats');
    await expect.poll(() => code.textContent(), { timeout: STEP }).not.toBe(used);
    const fresh = (await code.textContent())!.trim();
    const impostor = await newUser('Dave', { peerIdentity: () => davePeerKey });
    await impostor.app.contacts.addByInviteCode({ code: fresh });

    const banner = erin.page.getByRole('alert').filter({ hasText: "Dave's key changed." });
    await banner.waitFor();
    const newFingerprint = (await impostor.app.identity.me()).fingerprint;
    const shown = (await banner.textContent())!.replace(/\s+/g, '');
    expect(shown).toContain(`Now${newFingerprint}`);
    await shot(erin.page, '9-key-changed');
    // The warning stays readable in the dark theme and in a small window.
    await expectFits(erin.page, 'key-changed', banner);
    await banner.getByRole('button', { name: 'Check safety number' }).click();
    await erin.page.getByRole('heading', { name: 'Dave', level: 1 }).waitFor();
    await erin.page.getByRole('button', { name: 'I compared it: accept the new key' }).click();
    await banner.waitFor({ state: 'detached' });
    await erin.page.getByText('not verified').first().waitFor();
    expect(erin.problems).toEqual([]);
  }, 60_000);

  it('a second device linked by scanning the QR code shown under Devices', async () => {
    const fay = await person('Fay', (await newUser('Fay')).app);
    await fay.page.goto(fay.served.url);
    await nav(fay.page, 'Devices');
    await fay.page.getByRole('button', { name: 'Show a link code' }).click();
    const linkSection = fay.page.getByRole('region', { name: 'Link a new device' });
    const code = (await linkSection.locator('code').textContent())!.trim();
    await showToCamera(qrOfCode(code));

    // The new device: a fresh install, first run, "add this device", the code by camera.
    const phone = await person('Fay-phone');
    await phone.page.goto(phone.served.url);
    await phone.page.getByRole('heading', { name: 'Welcome to Parley' }).waitFor();
    await phone.page.getByLabel('Add this device to my account').check();
    await phone.page.getByRole('button', { name: 'Scan the link QR code' }).click();
    const codeField = phone.page.getByLabel('Link code (from Devices on your other device)');
    await expect.poll(() => codeField.inputValue(), { timeout: STEP }).toBe(code);
    expect(await cameraTracks(phone.page)).toEqual(['ended']);
    await phone.page.getByLabel("This device's name").fill("Fay's phone");
    await phone.page.getByLabel('Passphrase', { exact: true }).fill(PASS);
    await phone.page.getByLabel('Passphrase again').fill(PASS);
    await shot(phone.page, '13-link-this-device');
    await expectFits(
      phone.page,
      'first-run-link',
      phone.page.getByRole('heading', { name: 'Welcome to Parley' }),
    );
    await phone.page.getByRole('button', { name: 'Link this device' }).click();
    await phone.page.getByRole('navigation', { name: 'Screens' }).waitFor();
    expect((await phone.app.identity.me()).displayName).toBe('Fay');

    // Fay's first device sees the new one arrive and ends the offer.
    await fay.page.getByRole('status').filter({ hasText: "Fay's phone is now linked" }).waitFor();
    await fay.page.getByText("Fay's phone", { exact: true }).waitFor();
    await shot(fay.page, '14-device-linked');
    for (const p of [fay, phone]) expect(p.problems).toEqual([]);
  }, 60_000);
});
