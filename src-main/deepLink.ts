/**
 * Deep links the OS hands us (`parley://invite/<code>`): from argv on Windows and Linux (a second
 * instance's command line), from `open-url` on macOS. Anything on a command line or in a URL can
 * come from any web page or file, so a link is parsed strictly here and only its invite code
 * (syntax checked, size bounded) goes on; the core decodes and verifies the code itself when the
 * user accepts it (contacts.addByInviteCode), so a link can never act on its own.
 */

export const DEEP_LINK_SCHEME = 'parley';

/** Text prefix of an invite code (src-core/net/inviteCode.ts), the part a link may leave out. */
const INVITE_PREFIX = 'PARLEY:1:';
/** The longest code text the core accepts (src-core/net/inviteCode.ts). */
export const MAX_INVITE_CODE_LENGTH = 4096;
/** Base32 (RFC 4648) upper case, no padding: the alphabet of an invite's body. */
const BASE32_BODY = /^[A-Z2-7]+$/;
const RAW_SHAPE = /^parley:\/\/invite\/[^/?#\\]+\/?$/i;

export interface InviteLink {
  readonly kind: 'invite';
  /** The full code as the API takes it: `PARLEY:1:<base32>`. */
  readonly code: string;
}

export type DeepLink = InviteLink;

/**
 * `parley://invite/<code>` where <code> is `PARLEY:1:<base32>` or the base32 body alone (some
 * launchers mangle `:` in URLs), percent-encoding allowed, case-insensitive. Null for anything
 * else: another scheme or host, user info, a port, a query, a fragment, extra path segments.
 */
export function parseDeepLink(text: unknown): DeepLink | null {
  if (typeof text !== 'string') return null;
  // Bound the work before URL parsing: a code plus the scheme and percent-encoding overhead.
  if (text.length > 3 * MAX_INVITE_CODE_LENGTH + 64) return null;
  // One path segment, checked on the raw text: URL parsing would resolve `..` and `.` first.
  if (!RAW_SHAPE.test(text) || /\/\.{1,2}(\/|$)/.test(text)) return null;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== `${DEEP_LINK_SCHEME}:`) return null;
  if (url.username !== '' || url.password !== '' || url.port !== '') return null;
  if (url.search !== '' || url.hash !== '') return null;
  if (url.hostname.toLowerCase() !== 'invite') return null;
  const segments = url.pathname.split('/');
  // '/<code>' or '/<code>/' (some launchers append a slash).
  if (segments[0] !== '' || segments.length < 2 || segments.length > 3) return null;
  if (segments.length === 3 && segments[2] !== '') return null;
  let raw: string;
  try {
    raw = decodeURIComponent(segments[1]!);
  } catch {
    return null;
  }
  const upper = raw.toUpperCase();
  const body = upper.startsWith(INVITE_PREFIX) ? upper.slice(INVITE_PREFIX.length) : upper;
  if (!BASE32_BODY.test(body)) return null;
  const code = INVITE_PREFIX + body;
  if (code.length > MAX_INVITE_CODE_LENGTH) return null;
  return { kind: 'invite', code };
}

/** The first deep link among command-line arguments (a second instance's argv), if any. */
export function findDeepLink(argv: readonly string[]): DeepLink | null {
  for (const arg of argv) {
    if (!arg.toLowerCase().startsWith(`${DEEP_LINK_SCHEME}:`)) continue;
    const link = parseDeepLink(arg);
    if (link !== null) return link;
  }
  return null;
}
