/**
 * What the tray and native notifications show, from the app's events (received through main's
 * own validating RPC client). Pure: main.ts puts the results on the tray and in Notifications.
 */
import type { GroupSummary, Message, ParleyEvent } from '../src-core/app/api.js';

/** Longest notification body shown; OS notification areas cut long text anyway. */
const MAX_BODY = 160;

export interface Notice {
  title: string;
  body: string;
  groupId: string;
}

/** Unread counts per group, from `group.changed` events and full lists. */
export class UnreadTracker {
  readonly #unread = new Map<string, number>();
  readonly #names = new Map<string, string>();

  /** Replaces everything (after unlock: the result of groups.list). */
  reset(groups: readonly GroupSummary[]): void {
    this.#unread.clear();
    this.#names.clear();
    for (const g of groups) this.update(g);
  }

  update(group: GroupSummary): void {
    this.#names.set(group.groupId, group.name);
    // A group we were removed from or left no longer counts toward the badge.
    if (group.state === 'active') this.#unread.set(group.groupId, group.unread);
    else this.#unread.delete(group.groupId);
  }

  clear(): void {
    this.#unread.clear();
    this.#names.clear();
  }

  groupName(groupId: string): string | undefined {
    return this.#names.get(groupId);
  }

  get total(): number {
    let sum = 0;
    for (const n of this.#unread.values()) sum += n;
    return sum;
  }
}

function clip(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_BODY ? `${flat.slice(0, MAX_BODY - 1)}…` : flat;
}

/**
 * The notification for a received message, or null (our own messages, deleted ones). With
 * content hidden, it names neither the group, the sender nor the text: a notification can be
 * read over a shoulder or on a lock screen.
 */
export function noticeFor(
  message: Message,
  groupName: string | undefined,
  showContent: boolean,
): Notice | null {
  if (message.mine || message.deleted) return null;
  if (!showContent) {
    return { title: 'Parley', body: 'New message', groupId: message.groupId };
  }
  const what =
    message.text.length > 0
      ? message.text
      : message.attachment !== null
        ? `sent ${message.attachment.name}`
        : 'sent a message';
  return {
    title: clip(groupName ?? 'Parley'),
    body: clip(`${message.senderName}: ${what}`),
    groupId: message.groupId,
  };
}

/** The tray's tooltip for an unread total. */
export function trayTooltip(unread: number): string {
  if (unread === 0) return 'Parley';
  return `Parley: ${unread} unread message${unread === 1 ? '' : 's'}`;
}

/** Applies one event to the tracker; returns the notice to show, if any. */
export function applyEvent(
  tracker: UnreadTracker,
  event: ParleyEvent,
  showContent: boolean,
): Notice | null {
  switch (event.event) {
    case 'group.changed':
      tracker.update(event.data.group);
      return null;
    case 'profile.locked':
      tracker.clear();
      return null;
    case 'message.received':
      return noticeFor(
        event.data.message,
        tracker.groupName(event.data.message.groupId),
        showContent,
      );
    default:
      return null;
  }
}
