/** How the command shows the app's data to people (JSON mode prints the DTOs as they are). */
import type {
  Contact,
  GroupSummary,
  Me,
  Member,
  MembershipLogEntry,
  Message,
  ParleyEvent,
} from '../app/api.js';

const time = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

export function formatMe(me: Me): string {
  return [
    `name         ${me.displayName}`,
    `user id      ${me.userId}`,
    `device       ${me.deviceName} (${me.deviceId.slice(0, 16)}…)`,
    `fingerprint  ${me.fingerprint.replace(/(\d{5})(?=\d)/g, '$1 ')}`,
    `invite code  ${me.inviteCode}`,
  ].join('\n');
}

export function formatContact(c: Contact): string {
  const state = c.verification === 'key_changed' ? 'KEY CHANGED' : c.verification;
  return `${c.userId.slice(0, 12)}  ${c.displayName}  ${state}${c.online ? '  online' : ''}`;
}

export function formatGroup(g: GroupSummary): string {
  const unread = g.unread > 0 ? `  ${g.unread} unread` : '';
  const state = g.state === 'active' ? '' : `  (${g.state})`;
  return `${g.groupId.slice(0, 12)}  ${g.name}  ${g.memberCount} members  epoch ${g.epoch}  ${g.myRole}${unread}${state}`;
}

export function formatMember(m: Member): string {
  const me = m.isMe ? ' (you)' : '';
  return `${m.userId.slice(0, 12)}  ${m.displayName}${me}  ${m.role}  ${m.verification}${m.online ? '  online' : ''}`;
}

export function formatLogEntry(e: MembershipLogEntry): string {
  const subject = e.subjectName !== null ? ` ${e.subjectName}` : '';
  const detail = e.detail !== null ? ` (${e.detail})` : '';
  return `${time(e.at)}  epoch ${e.epoch}  ${e.actorName} ${e.change}${subject}${detail}`;
}

export function formatMessage(m: Message): string {
  const body = m.deleted
    ? '(deleted)'
    : m.attachment !== null
      ? `[file ${m.attachment.name}, ${m.attachment.size} bytes, id ${m.attachment.attachmentId}${m.attachment.complete ? '' : ', not fetched'}]${m.text ? ` ${m.text}` : ''}`
      : m.text;
  const edited = m.editedAt !== null ? ' (edited)' : '';
  const reply =
    m.replyTo !== null ? ` ↪ ${m.replyTo.senderName}: ${m.replyTo.text.slice(0, 40)}` : '';
  return `${time(m.sentAt)}  ${m.senderName}:${reply} ${body}${edited}`;
}

/** One line per event for `watch` and the daemon's log. */
export function formatEvent(e: ParleyEvent): string {
  switch (e.event) {
    case 'message.received':
      return `[${e.data.message.groupId.slice(0, 8)}] ${formatMessage(e.data.message)}`;
    case 'message.edited':
      return `[${e.data.message.groupId.slice(0, 8)}] edited: ${formatMessage(e.data.message)}`;
    case 'message.deleted':
      return `[${e.data.groupId.slice(0, 8)}] message ${e.data.messageId.slice(0, 8)} deleted`;
    case 'message.reaction':
      return `[${e.data.groupId.slice(0, 8)}] reactions on ${e.data.messageId.slice(0, 8)}: ${e.data.reactions.map((r) => `${r.emoji}${r.count}`).join(' ')}`;
    case 'group.changed':
      return `group ${formatGroup(e.data.group)}`;
    case 'group.member_changed':
      return `[${e.data.groupId.slice(0, 8)}] ${formatLogEntry(e.data.entry)}`;
    case 'group.rules_changed':
      return `[${e.data.groupId.slice(0, 8)}] rules: admins ${e.data.admins.map((a) => a.slice(0, 8)).join(' ')}; policy ${JSON.stringify(e.data.policy)}`;
    case 'contact.changed':
      return `contact ${formatContact(e.data.contact)}`;
    case 'contact.key_changed':
      return `WARNING: ${e.data.displayName} (${e.data.userId.slice(0, 12)}) now presents a different key; compare the safety number before accepting it`;
    case 'sync.progress':
      return `sync ${e.data.done}/${e.data.total}`;
    case 'attachment.progress': {
      const t = e.data.transfer;
      return `${t.direction} ${(t.attachmentId ?? t.transferId).slice(0, 8)} ${t.bytesDone}/${t.bytesTotal} ${t.state}`;
    }
    case 'network.status':
      return `network ${e.data.status.online ? 'online' : 'offline'}, ${e.data.status.connectedPeers} peers`;
    case 'profile.locked':
      return `profile locked (${e.data.reason})`;
  }
}
