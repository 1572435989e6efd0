/**
 * The Electron main process: one instance, one window, the core in a utility process, the tray,
 * deep links. It holds no API logic: the window's page and main's tray each talk to the core over
 * their own MessagePort with the validating RPC client (src-core/app/rpc).
 *
 * Built by scripts/build-main.mjs to dist/src-main/{main.js, core.js, preload.cjs}; the built
 * renderer is dist/renderer.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserWindow } from 'electron';
import { app, dialog, protocol, safeStorage, session } from 'electron';
import { createClient } from '../src-core/app/rpc/client.js';
import { createAppWindow, lockDown, serveRenderer } from './appWindow.js';
import { CoreHost } from './coreHost.js';
import type { DeepLink } from './deepLink.js';
import { DEEP_LINK_SCHEME, findDeepLink, parseDeepLink } from './deepLink.js';
import { chooseKeyProtection, safeStorageKeyWrapper } from './keychain.js';
import { mainPortChannel } from './portAdapter.js';
import type { Preferences } from './preferences.js';
import { loadPreferences, savePreferences } from './preferences.js';
import { APP_SCHEME } from './security.js';
import { startTray } from './tray.js';

const here = dirname(fileURLToPath(import.meta.url));
const RENDERER_ROOT = resolve(here, '..', 'renderer');
const log = (line: string): void => void process.stderr.write(`parley: ${line}\n`);

// Must precede `ready`: app:// behaves like https (secure context, origin, fetch of modules).
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

if (!app.requestSingleInstanceLock()) {
  // The running instance gets our argv (and any deep link in it) through 'second-instance'.
  app.quit();
} else {
  run();
}

function run(): void {
  let win: BrowserWindow | null = null;
  let core: CoreHost | null = null;
  let pendingLink: DeepLink | null = findDeepLink(process.argv);
  let quitting = false;

  // In development Electron runs as `electron <app dir>`, so the OS must pass that path too.
  if (process.defaultApp && process.argv[1] !== undefined) {
    app.setAsDefaultProtocolClient(DEEP_LINK_SCHEME, process.execPath, [resolve(process.argv[1])]);
  } else {
    app.setAsDefaultProtocolClient(DEEP_LINK_SCHEME);
  }

  const deliverLink = (): void => {
    if (win === null || pendingLink === null || win.webContents.isLoading()) return;
    const link = pendingLink;
    pendingLink = null;
    // A DOM event in the page's world; the code was validated (a bounded base32 string), and
    // JSON.stringify quotes it, so nothing from the link is ever evaluated as script.
    const detail = JSON.stringify({ kind: link.kind, code: link.code });
    void win.webContents
      .executeJavaScript(
        `window.dispatchEvent(new CustomEvent('parley:deeplink', { detail: ${detail} }))`,
      )
      .catch(() => log('could not deliver a deep link to the window'));
    if (win.isMinimized()) win.restore();
    win.focus();
  };
  const onLink = (link: DeepLink | null): void => {
    if (link === null) return;
    pendingLink = link;
    deliverLink();
  };

  app.on('second-instance', (_event, argv) => {
    onLink(findDeepLink(argv));
    if (win !== null) {
      if (win.isMinimized()) win.restore();
      win.show();
      win.focus();
    }
  });
  app.on('open-url', (event, url) => {
    event.preventDefault();
    onLink(parseDeepLink(url));
  });
  app.on('web-contents-created', (_event, contents) => lockDown(contents));

  app.on('before-quit', (event) => {
    if (quitting || core === null) return;
    event.preventDefault();
    quitting = true;
    const stopping = core;
    core = null;
    void stopping.stop().finally(() => app.quit());
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  void app.whenReady().then(async () => {
    try {
      await start();
    } catch (error) {
      log(`could not start: ${error instanceof Error ? error.message : 'unknown error'}`);
      dialog.showErrorBox('Parley could not start', 'The core process did not start.');
      app.exit(1);
    }
  });

  async function start(): Promise<void> {
    const userData = app.getPath('userData');
    const profileDir = join(userData, 'profile');
    mkdirSync(profileDir, { recursive: true, mode: 0o700 });
    const prefsPath = join(userData, 'preferences.json');
    const prefs: Preferences = await loadPreferences(prefsPath);

    const keychain = await safeStorageKeyWrapper(safeStorage, process.platform);
    if (!keychain.available) log(`OS keychain not used: ${keychain.reason}; passphrase instead`);
    const profileExists = existsSync(join(profileDir, 'db', 'CURRENT'));
    const keyProtection = chooseKeyProtection({
      recorded: prefs.keyProtection,
      profileExists,
      keychainAvailable: keychain.available,
    });
    if (!profileExists && prefs.keyProtection !== keyProtection) {
      prefs.keyProtection = keyProtection;
      await savePreferences(prefsPath, prefs);
    }

    serveRenderer(session.defaultSession, RENDERER_ROOT);

    const host = new CoreHost({
      entry: join(here, 'core.js'),
      profileDir,
      keyProtection,
      keychain: keychain.available ? keychain.wrapper : null,
      log,
      onExit: (code) => {
        log(`the core process exited (${code})`);
        core = null;
        dialog.showErrorBox('Parley stopped', 'The messaging core stopped. Restart Parley.');
        app.quit();
      },
    });
    await host.start();
    core = host;

    const api = createClient(mainPortChannel(host.connect(), 'the core'), {
      onProtocolError: (e) => log(`dropped a frame from the core: ${e.code}`),
    });
    startTray({
      api,
      window: () => (win !== null && !win.isDestroyed() ? win : null),
      showContent: () => prefs.notificationContent,
      setShowContent: (on) => {
        prefs.notificationContent = on;
        void savePreferences(prefsPath, prefs).catch(() => log('could not save preferences'));
      },
      quit: () => app.quit(),
    });

    const openWindow = async (): Promise<void> => {
      const w = await createAppWindow({
        preload: join(here, 'preload.cjs'),
        statePath: join(userData, 'window-state.json'),
        connect: () => (core === null ? null : core.connect()),
      });
      win = w;
      w.webContents.on('did-finish-load', deliverLink);
      w.on('closed', () => {
        if (win === w) win = null;
      });
      deliverLink();
    };
    await openWindow();
    app.on('activate', () => {
      if (win === null) void openWindow();
    });
  }
}
