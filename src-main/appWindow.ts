/**
 * The app window and its session's security: the app:// protocol serving the built renderer
 * with a strict CSP, permissions (notifications, and the camera for QR scanning), no
 * navigation, no new windows, no webviews; the window's size and position remembered; and the
 * one IPC message a preload may send (asking for its port to the core).
 */
import { readFile } from 'node:fs/promises';
import type { IpcMainEvent, MessagePortMain, Session, WebContents } from 'electron';
import { BrowserWindow, ipcMain, screen } from 'electron';
import { CORE_GONE_CHANNEL, PORT_CHANNEL, PORT_REQUEST_CHANNEL } from './ipcChannels.js';
import {
  APP_ENTRY,
  APP_SCHEME,
  SECURITY_HEADERS,
  isAppUrl,
  permissionAllowed,
  resolveAppFile,
} from './security.js';
import type { WindowState } from './windowState.js';
import {
  MIN_HEIGHT,
  MIN_WIDTH,
  loadWindowState,
  placeWindow,
  saveWindowState,
} from './windowState.js';

/** Serves `app://parley/...` from the built renderer, every response with the security headers. */
export function serveRenderer(session: Session, rendererRoot: string): void {
  session.protocol.handle(APP_SCHEME, async (request) => {
    const file = resolveAppFile(rendererRoot, request.url);
    if (file === null || request.method !== 'GET') {
      return new Response('not found', { status: 404, headers: SECURITY_HEADERS });
    }
    try {
      const body = await readFile(file.path);
      return new Response(body, {
        status: 200,
        headers: { ...SECURITY_HEADERS, 'Content-Type': file.mimeType },
      });
    } catch {
      return new Response('not found', { status: 404, headers: SECURITY_HEADERS });
    }
  });
  // The policy is also forced on whatever reaches the page by another path, so no response of
  // the app's origin can arrive without it (or with a weaker one).
  // No URL filter: match patterns for custom schemes are not portable; the check is here.
  session.webRequest.onHeadersReceived((details, callback) => {
    if (!isAppUrl(details.url)) {
      callback({});
      return;
    }
    const headers = { ...details.responseHeaders };
    for (const name of Object.keys(headers)) {
      if (name.toLowerCase() in lowerSecurityHeaders) delete headers[name];
    }
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) headers[name] = [value];
    callback({ responseHeaders: headers });
  });
  session.setPermissionRequestHandler((_wc, permission, callback, details) =>
    callback(
      permissionAllowed(permission, {
        origin: details.requestingUrl,
        mediaTypes: 'mediaTypes' in details ? (details.mediaTypes ?? []) : [],
      }),
    ),
  );
  session.setPermissionCheckHandler((_wc, permission, requestingOrigin, details) =>
    permissionAllowed(permission, {
      origin: requestingOrigin,
      mediaTypes: details.mediaType === undefined ? [] : [details.mediaType],
    }),
  );
}

const lowerSecurityHeaders: Readonly<Record<string, true>> = Object.fromEntries(
  Object.keys(SECURITY_HEADERS).map((k) => [k.toLowerCase(), true]),
);

/** No navigation away from the app, no new windows, no webviews: for every web contents. */
export function lockDown(contents: WebContents): void {
  contents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

export interface AppWindowOptions {
  preload: string;
  statePath: string;
  /** A new port served by the core, or null when the core is not running. */
  connect: () => MessagePortMain | null;
}

export async function createAppWindow(options: AppWindowOptions): Promise<BrowserWindow> {
  const saved = await loadWindowState(options.statePath);
  const primary = screen.getPrimaryDisplay();
  const areas = [primary, ...screen.getAllDisplays().filter((d) => d.id !== primary.id)].map(
    (d) => d.workArea,
  );
  const bounds = placeWindow(saved, areas);
  const win = new BrowserWindow({
    ...bounds,
    minWidth: MIN_WIDTH,
    minHeight: MIN_HEIGHT,
    show: false,
    title: 'Parley',
    backgroundColor: '#1b1d22',
    webPreferences: {
      preload: options.preload,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      sandbox: true,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  });
  if (saved?.maximized) win.maximize();
  win.once('ready-to-show', () => win.show());
  rememberState(win, options.statePath);

  // One port per page load: the preload asks once; a reload starts a new page (and the core
  // ends the old page's channel when its port closes).
  let served = false;
  win.webContents.on('did-start-loading', () => {
    served = false;
  });
  const onPortRequest = (event: IpcMainEvent): void => {
    // Only this window's top frame, showing the app, gets a port.
    if (event.sender !== win.webContents || event.senderFrame !== win.webContents.mainFrame) return;
    if (event.senderFrame === null || !isAppUrl(event.senderFrame.url) || served) return;
    served = true;
    const port = options.connect();
    if (port === null) event.sender.send(CORE_GONE_CHANNEL);
    else event.sender.postMessage(PORT_CHANNEL, null, [port]);
  };
  ipcMain.on(PORT_REQUEST_CHANNEL, onPortRequest);
  win.on('closed', () => ipcMain.off(PORT_REQUEST_CHANNEL, onPortRequest));

  await win.loadURL(APP_ENTRY);
  return win;
}

function rememberState(win: BrowserWindow, path: string): void {
  let timer: NodeJS.Timeout | null = null;
  const save = (): void => {
    if (win.isDestroyed() || win.isMinimized() || win.isFullScreen()) return;
    const state: WindowState = { bounds: win.getNormalBounds(), maximized: win.isMaximized() };
    void saveWindowState(path, state).catch(() => undefined);
  };
  const later = (): void => {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(save, 500);
  };
  win.on('resize', later);
  win.on('move', later);
  win.on('close', () => {
    if (timer !== null) clearTimeout(timer);
    save();
  });
}
