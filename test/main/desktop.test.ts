import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GroupSummary, Message } from '../../src-core/app/api.js';
import {
  UnreadTracker,
  applyEvent,
  noticeFor,
  trayTooltip,
} from '../../src-main/desktopNotices.js';
import {
  APP_ENTRY,
  CONTENT_SECURITY_POLICY,
  SECURITY_HEADERS,
  isAppUrl,
  permissionAllowed,
  resolveAppFile,
} from '../../src-main/security.js';
import { trayBitmap } from '../../src-main/trayIcon.js';

describe('app protocol and security policy', () => {
  const root = join(tmpdir(), 'renderer-root');

  it('maps app://parley/ paths inside the renderer folder only', () => {
    expect(resolveAppFile(root, APP_ENTRY)).toEqual({
      path: join(root, 'index.html'),
      mimeType: 'text/html; charset=utf-8',
    });
    expect(resolveAppFile(root, 'app://parley/')?.path).toBe(join(root, 'index.html'));
    expect(resolveAppFile(root, 'app://parley/assets/index-abc.js')).toEqual({
      path: join(root, 'assets', 'index-abc.js'),
      mimeType: 'text/javascript; charset=utf-8',
    });
    // Whatever a URL says, a file is inside the root or there is none.
    for (const url of [
      'app://parley/%2e%2e/secret.js',
      'app://parley/assets/../../secret.js',
      'app://parley/assets/%2e%2e%2f%2e%2e%2fsecret.js',
      'app://parley/..%2f..%2fsecret.js',
    ]) {
      const file = resolveAppFile(root, url);
      expect(file === null || file.path.startsWith(root + sep), url).toBe(true);
    }
    for (const url of [
      'app://parley/assets/%2e%2e%2f%2e%2e%2fsecret.js',
      'app://parley/..%5c..%5csecret.js',
      'app://parley/a%00.js',
      'app://parley/%E0%A4%A.js',
      'app://other/index.html',
      'file:///etc/passwd',
      'https://parley/index.html',
      'not a url',
    ]) {
      expect(resolveAppFile(root, url), url).toBeNull();
    }
    expect(resolveAppFile(root, 'app://parley/keys.pem')).toBeNull();
  });

  it('sends a CSP without network, inline script or eval', () => {
    expect(SECURITY_HEADERS['Content-Security-Policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).toContain("connect-src 'none'");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-(inline|eval)|\*/);
  });

  it('allows notifications and the camera for the app page only; navigation only within the app', () => {
    expect(permissionAllowed('notifications')).toBe(true);
    for (const p of ['media', 'geolocation', 'clipboard-read', 'openExternal', 'fullscreen']) {
      expect(permissionAllowed(p)).toBe(false);
    }
    // The camera, video only, for the app's own page: QR scanning.
    const app = { origin: 'app://parley' };
    expect(permissionAllowed('media', { ...app, mediaTypes: ['video'] })).toBe(true);
    expect(permissionAllowed('media', { origin: APP_ENTRY, mediaTypes: ['video'] })).toBe(true);
    expect(permissionAllowed('media', { ...app, mediaTypes: ['video', 'audio'] })).toBe(false);
    expect(permissionAllowed('media', { ...app, mediaTypes: ['audio'] })).toBe(false);
    expect(permissionAllowed('media', { ...app, mediaTypes: [] })).toBe(false);
    expect(
      permissionAllowed('media', { origin: 'https://example.org', mediaTypes: ['video'] }),
    ).toBe(false);
    expect(permissionAllowed('geolocation', app)).toBe(false);
    expect(isAppUrl('app://parley/index.html')).toBe(true);
    expect(isAppUrl('https://example.org/')).toBe(false);
    expect(isAppUrl('file:///work/main/dist/renderer/index.html')).toBe(false);
    expect(isAppUrl('app://evil/index.html')).toBe(false);
  });
});

function group(over: Partial<GroupSummary>): GroupSummary {
  return {
    groupId: 'g1',
    name: 'Climbing',
    epoch: 3,
    memberCount: 4,
    myRole: 'member',
    state: 'active',
    unread: 0,
    lastMessage: null,
    ...over,
  };
}

function message(over: Partial<Message>): Message {
  return {
    messageId: 'm1',
    groupId: 'g1',
    senderUserId: 'u2',
    senderName: 'Grace',
    mine: false,
    sentAt: 1,
    text: 'meet at the crag at 9',
    replyTo: null,
    editedAt: null,
    deleted: false,
    reactions: [],
    attachment: null,
    delivery: 'delivered',
    read: false,
    ...over,
  };
}

describe('tray and notifications', () => {
  it('sums unread over active groups; a lock clears it', () => {
    const t = new UnreadTracker();
    applyEvent(t, { event: 'group.changed', data: { group: group({ unread: 2 }) } }, false);
    applyEvent(
      t,
      { event: 'group.changed', data: { group: group({ groupId: 'g2', unread: 5 }) } },
      false,
    );
    expect(t.total).toBe(7);
    applyEvent(t, { event: 'group.changed', data: { group: group({ unread: 0 }) } }, false);
    expect(t.total).toBe(5);
    applyEvent(
      t,
      {
        event: 'group.changed',
        data: { group: group({ groupId: 'g2', state: 'removed', unread: 5 }) },
      },
      false,
    );
    expect(t.total).toBe(0);
    t.reset([group({ unread: 1 }), group({ groupId: 'g3', unread: 1 })]);
    expect(t.total).toBe(2);
    applyEvent(t, { event: 'profile.locked', data: { reason: 'idle' } }, false);
    expect(t.total).toBe(0);
    expect(trayTooltip(0)).toBe('Parley');
    expect(trayTooltip(1)).toBe('Parley: 1 unread message');
    expect(trayTooltip(7)).toBe('Parley: 7 unread messages');
  });

  it('hides sender, group and text unless content is turned on', () => {
    const t = new UnreadTracker();
    t.update(group({}));
    const ev = { event: 'message.received', data: { message: message({}) } } as const;
    const hidden = applyEvent(t, ev, false);
    expect(hidden).toEqual({ title: 'Parley', body: 'New message', groupId: 'g1' });
    expect(JSON.stringify(hidden)).not.toMatch(/Grace|Climbing|crag/);
    expect(applyEvent(t, ev, true)).toEqual({
      title: 'Climbing',
      body: 'Grace: meet at the crag at 9',
      groupId: 'g1',
    });
  });

  it('does not notify for own or deleted messages; clips long text', () => {
    expect(noticeFor(message({ mine: true }), 'G', true)).toBeNull();
    expect(noticeFor(message({ deleted: true, text: '' }), 'G', true)).toBeNull();
    const long = noticeFor(message({ text: 'x'.repeat(1000) }), 'G', true);
    expect(long!.body.length).toBeLessThanOrEqual(160);
    const file = noticeFor(
      message({
        text: '',
        attachment: {
          attachmentId: 'a',
          name: 'topo.png',
          mime: 'image/png',
          size: 9,
          complete: false,
        },
      }),
      undefined,
      true,
    );
    expect(file).toEqual({ title: 'Parley', body: 'Grace: sent topo.png', groupId: 'g1' });
  });

  it('draws the tray icon, with a red dot only when there is unread', () => {
    const size = 32;
    const plain = trayBitmap(size, false);
    const badged = trayBitmap(size, true);
    expect(plain.length).toBe(size * size * 4);
    const at = (b: Buffer, x: number, y: number) => [
      ...b.subarray((y * size + x) * 4, (y * size + x) * 4 + 4),
    ];
    // Corner outside the mark: transparent. Centre: the light inner ring.
    expect(at(plain, 0, size - 1)[3]).toBe(0);
    expect(at(plain, 16, 16)[3]).toBe(255);
    // Badge centre (0.78, 0.22): red (BGRA) only on the badged icon.
    const [b, g, r] = at(badged, 25, 7);
    expect(r).toBeGreaterThan(200);
    expect(g! + b!).toBeLessThan(120);
    expect(at(plain, 25, 7)[2]).toBeLessThan(200);
    expect(() => trayBitmap(4, false)).toThrow(RangeError);
  });
});
