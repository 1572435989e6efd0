/**
 * Tray icon with the unread count, and native notifications for new messages, driven by main's
 * own RPC client to the core (events validated like the window's). Content in notifications is
 * off unless the user turns it on in the tray menu (stored in preferences).
 */
import type { BrowserWindow } from 'electron';
import { Menu, Notification, Tray, app, nativeImage } from 'electron';
import type { ParleyApi } from '../src-core/app/api.js';
import { UnreadTracker, applyEvent, trayTooltip } from './desktopNotices.js';
import { trayBitmap } from './trayIcon.js';

const ICON_SIZE = 32;

export interface TrayOptions {
  api: ParleyApi;
  window: () => BrowserWindow | null;
  showContent: () => boolean;
  setShowContent: (on: boolean) => void;
  quit: () => void;
}

function icon(unread: boolean): Electron.NativeImage {
  const image = nativeImage.createFromBitmap(trayBitmap(ICON_SIZE, unread), {
    width: ICON_SIZE,
    height: ICON_SIZE,
  });
  return image.resize({ width: 16, height: 16 });
}

export function startTray(options: TrayOptions): () => void {
  const tracker = new UnreadTracker();
  const tray = new Tray(icon(false));
  let shownUnread = -1;

  const showWindow = (): void => {
    const win = options.window();
    if (win === null) return;
    if (win.isMinimized()) win.restore();
    win.show();
    win.focus();
  };

  const render = (): void => {
    const unread = tracker.total;
    if (unread !== shownUnread) {
      if (unread > 0 !== shownUnread > 0) tray.setImage(icon(unread > 0));
      shownUnread = unread;
    }
    tray.setToolTip(trayTooltip(unread));
    if (process.platform === 'darwin') tray.setTitle(unread > 0 ? String(unread) : '');
    app.setBadgeCount(unread);
    tray.setContextMenu(
      Menu.buildFromTemplate([
        { label: 'Show Parley', click: showWindow },
        { label: trayTooltip(unread), enabled: false },
        { type: 'separator' },
        {
          label: 'Show message content in notifications',
          type: 'checkbox',
          checked: options.showContent(),
          click: (item) => {
            options.setShowContent(item.checked);
            render();
          },
        },
        { type: 'separator' },
        { label: 'Quit Parley', click: options.quit },
      ]),
    );
  };

  // After an unlock the counts come from a full list; a locked profile answers `locked`.
  let listed = false;
  const refresh = (): void => {
    listed = true;
    options.api.groups.list().then(
      (groups) => {
        tracker.reset(groups);
        render();
      },
      () => {
        listed = false;
      },
    );
  };

  const unsubscribe = options.api.onEvent((event) => {
    if (event.event === 'profile.locked') listed = false;
    else if (!listed) refresh();
    const notice = applyEvent(tracker, event, options.showContent());
    render();
    if (notice === null || !Notification.isSupported()) return;
    const win = options.window();
    if (win !== null && win.isFocused()) return;
    const n = new Notification({ title: notice.title, body: notice.body });
    n.on('click', showWindow);
    n.show();
  });

  tray.on('click', showWindow);
  refresh();
  render();
  return () => {
    unsubscribe();
    tray.destroy();
  };
}
