/**
 * The membership log's `policy_changed` detail (`disappearAfterMs=3600000, removeIdleAfterMs=off`,
 * as the app writes it) in words. A field this UI does not know is shown as the app wrote it.
 */
import { formatDuration } from './format.js';

function describeField(key: string, value: string): string {
  const off = value === 'off';
  const ms = Number(value);
  const known = off || (Number.isInteger(ms) && ms > 0);
  switch (key) {
    case 'membership':
      if (value === 'admins') return 'only admins add and remove members';
      if (value === 'everyone') return 'everyone may add and remove members';
      break;
    case 'keyUpdateAfterMs':
      if (known && !off) return `keys are updated every ${formatDuration(ms)}`;
      break;
    case 'keyUpdateAfterMessages':
      if (known && !off) return `keys are updated after ${ms} messages`;
      break;
    case 'disappearAfterMs':
      if (off) return 'messages no longer disappear';
      if (known) return `messages disappear after ${formatDuration(ms)}`;
      break;
    case 'removeIdleAfterMs':
      if (off) return 'idle members are no longer removed';
      if (known) return `members offline for ${formatDuration(ms)} are removed`;
      break;
  }
  return `${key}=${value}`;
}

export function describePolicyChange(detail: string | null): string {
  if (detail === null || detail.trim() === '') return 'changed the rules';
  const parts = detail.split(',').map((part) => {
    const p = part.trim();
    const eq = p.indexOf('=');
    return eq === -1 ? p : describeField(p.slice(0, eq), p.slice(eq + 1));
  });
  return `changed the rules: ${parts.join('; ')}`;
}
