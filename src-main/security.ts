/**
 * The window's security policy, as data and pure functions so it is tested without Electron:
 * the Content-Security-Policy sent with every page of the app's own protocol, the permission
 * rule, and the mapping of `app://parley/<path>` to a file of the built renderer (no escape from
 * its folder). main.ts wires these into the session.
 */
import { extname, resolve, sep } from 'node:path';

/** The renderer is served from this origin (a standard, secure custom scheme, not file://). */
export const APP_SCHEME = 'app';
export const APP_HOST = 'parley';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY = `${APP_ORIGIN}/index.html`;

/**
 * Stricter than the page's own meta policy (both apply): in Electron the page talks to the core
 * through the preload's MessagePort relay, so it needs no network at all (`connect-src 'none'`).
 * Images may be blob: URLs (attachment previews made in the page).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob:",
  "font-src 'self'",
  "connect-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
  "frame-src 'none'",
  "worker-src 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers every response of the app protocol carries. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** What Electron's permission handlers say besides the permission's name. */
export interface PermissionContext {
  /** The page asking: the request handler's `requestingUrl`, the check handler's origin. */
  origin: string;
  /** For `media`: what is asked for (the request's `mediaTypes`, the check's `[mediaType]`). */
  mediaTypes?: readonly string[];
}

/**
 * What a page may get: notifications, and the camera alone (video `media`, to scan QR codes)
 * for the app's own page. Everything else is refused: the microphone, geolocation, the
 * clipboard, ...
 */
export function permissionAllowed(permission: string, context?: PermissionContext): boolean {
  if (permission === 'notifications') return true;
  if (permission !== 'media' || context === undefined) return false;
  const types = context.mediaTypes ?? [];
  return isAppUrl(context.origin) && types.length > 0 && types.every((t) => t === 'video');
}

/** Whether a navigation target is the app's own entry page (anything else is refused). */
export function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST;
  } catch {
    return false;
  }
}

const MIME_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

export interface AppFile {
  path: string;
  mimeType: string;
}

/**
 * The file under `root` that an `app://parley/...` URL names, or null: another scheme or host,
 * a path that leaves `root` after decoding (`..`, encoded slashes), or a type we do not serve.
 */
export function resolveAppFile(root: string, url: string): AppFile | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== `${APP_SCHEME}:` || u.host !== APP_HOST) return null;
  let pathname: string;
  try {
    pathname = decodeURIComponent(u.pathname);
  } catch {
    return null;
  }
  if (pathname.includes('\0') || pathname.includes('\\')) return null;
  const relative = pathname === '/' ? 'index.html' : pathname.replace(/^\/+/, '');
  const base = resolve(root);
  const full = resolve(base, relative);
  if (!full.startsWith(base + sep)) return null;
  const mimeType = MIME_TYPES[extname(full).toLowerCase()];
  return mimeType === undefined ? null : { path: full, mimeType };
}
