/**
 * Deep links (`parley://invite/<code>`) reach the page as a `parley:deeplink` DOM event from
 * src-main, often right after the page loaded and before the bridge is connected or the profile
 * unlocked. The listener is installed before the app mounts and keeps the latest invite until
 * the person accepts or dismisses it on screen (screens/InviteLink.svelte); nothing is added
 * without that.
 */

/** Bounds what a link may put on screen; invite codes are far shorter. */
const MAX_CODE = 4096;

export const pendingInvite = $state<{ code: string | null }>({ code: null });

/** The event's detail when it is an invite with a plausible code, else null. */
export function inviteCodeOf(detail: unknown): string | null {
  if (typeof detail !== 'object' || detail === null) return null;
  const d = detail as { kind?: unknown; code?: unknown };
  if (d.kind !== 'invite' || typeof d.code !== 'string') return null;
  const code = d.code.trim();
  return code.length > 0 && code.length <= MAX_CODE ? code : null;
}

export function listenForDeepLinks(): void {
  window.addEventListener('parley:deeplink', (e) => {
    const code = inviteCodeOf((e as CustomEvent<unknown>).detail);
    if (code !== null) pendingInvite.code = code;
  });
}
