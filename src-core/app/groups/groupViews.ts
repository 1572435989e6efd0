/**
 * The API's views of groups, members, messages and log entries (api.ts types), built from the
 * hub's state, and the events that carry them. Names come from the trust store (contacts) or the
 * newest identity record; the user id is shown shortened when neither knows the person.
 */
import type {
  GroupSummary,
  Member,
  MembershipLogEntry,
  Message,
  MessagePreview,
  Reaction,
  Verification,
} from '../api.js';
import { hexOf } from './messageLedger.js';
import type { LedgerChange } from './messageLedger.js';
import type { GroupEntry, GroupHub } from './groupHub.js';
import type { StoredLogEntry, StoredMessage } from './groupRecords.js';
import { roleOf, userIdOfCredential } from './groupRules.js';
import { attachmentIdOf } from './attachmentCrypto.js';

export class GroupViews {
  constructor(private readonly hub: GroupHub) {}

  nameOf(userId: string): string {
    const s = this.hub.session;
    if (userId === s.userId) return s.identity.record.displayName;
    const t = s.trust.contact(userId);
    if (t !== undefined) return t.displayName;
    return `user ${userId.slice(0, 8)}`;
  }

  verificationOf(userId: string): Verification {
    const s = this.hub.session;
    if (userId === s.userId) return 'verified';
    const t = s.trust.contact(userId);
    if (t === undefined) return 'unverified';
    return t.state === 'changed' ? 'key_changed' : t.state;
  }

  members(e: GroupEntry): Member[] {
    const s = this.hub.session;
    const rules = this.hub.rules(e);
    const online = new Set(this.hub.onlinePeers(e));
    const byUser = new Map<string, Member>();
    const list = e.meta.state === 'active' ? (e.group?.members() ?? []) : [];
    for (const m of list) {
      const userId = userIdOfCredential(m.credential);
      if (userId === undefined) continue;
      const seen = byUser.get(userId);
      if (seen !== undefined) {
        seen.devices++;
        continue;
      }
      const peers = s.contacts.get(userId)?.peerIds ?? new Set<string>();
      byUser.set(userId, {
        userId,
        displayName: this.nameOf(userId),
        role: roleOf(rules, userId),
        verification: this.verificationOf(userId),
        isMe: userId === s.userId,
        devices: 1,
        online: userId === s.userId || [...peers].some((p) => online.has(p)),
      });
    }
    return [...byUser.values()];
  }

  async summary(e: GroupEntry): Promise<GroupSummary> {
    const last = (await e.ledger.page(undefined, 1))[0];
    return {
      groupId: e.hex,
      name: e.meta.name,
      epoch: Number(e.group?.epoch ?? BigInt(e.meta.epoch)),
      memberCount: this.members(e).length,
      myRole: roleOf(this.hub.rules(e), this.hub.myUserId),
      state: e.meta.state,
      unread: await e.ledger.unread(e.meta.readThrough),
      lastMessage: last === undefined ? null : this.preview(last.message),
    };
  }

  preview(m: StoredMessage): MessagePreview {
    return {
      messageId: hexOf(m.messageId),
      senderName: this.nameOf(m.senderUserId),
      text: m.text,
      sentAt: m.sentAtMs,
      attachmentName: m.attachment?.name ?? null,
    };
  }

  reactions(m: StoredMessage): Reaction[] {
    const me = this.hub.myUserId;
    const out = new Map<string, Reaction>();
    for (const r of m.reactions) {
      const x = out.get(r.emoji) ?? { emoji: r.emoji, count: 0, mine: false };
      x.count++;
      x.mine ||= r.userId === me;
      out.set(r.emoji, x);
    }
    return [...out.values()];
  }

  async message(e: GroupEntry, seq: bigint, m: StoredMessage): Promise<Message> {
    let replyTo: MessagePreview | null = null;
    if (m.replyTo !== undefined) {
      const r = await e.ledger.find(m.replyTo);
      if (r !== undefined) replyTo = this.preview(r.message);
    }
    const a = m.attachment;
    return {
      messageId: hexOf(m.messageId),
      groupId: e.hex,
      senderUserId: m.senderUserId,
      senderName: this.nameOf(m.senderUserId),
      mine: m.mine,
      sentAt: m.sentAtMs,
      text: m.text,
      replyTo,
      editedAt: m.editedAtMs ?? null,
      deleted: m.deleted,
      reactions: this.reactions(m),
      attachment:
        a === undefined
          ? null
          : {
              attachmentId: attachmentIdOf(a),
              name: a.name,
              mime: a.mime,
              size: Number(a.size),
              complete: await this.hub.attachmentComplete(a),
            },
      delivery: m.delivery,
      read: m.mine || seq < e.meta.readThrough,
    };
  }

  logView(entry: StoredLogEntry): MembershipLogEntry {
    return {
      epoch: entry.epoch,
      at: entry.atMs,
      change: entry.change,
      actorUserId: entry.actorUserId,
      actorName: this.nameOf(entry.actorUserId),
      subjectUserId: entry.subjectUserId ?? null,
      subjectName: entry.subjectUserId === undefined ? null : this.nameOf(entry.subjectUserId),
      detail: entry.detail ?? null,
    };
  }

  emitGroup(e: GroupEntry): void {
    void this.summary(e)
      .then((group) => this.hub.ctx.events.emit('group.changed', { group }))
      .catch(() => undefined);
  }

  /** The events of a ledger change (after its transaction committed). */
  emitLedger(e: GroupEntry, c: LedgerChange): void {
    if (c.kind === 'none') return;
    const events = this.hub.ctx.events;
    const messageId = hexOf(c.message.messageId);
    if (c.kind === 'deleted') {
      events.emit('message.deleted', { groupId: e.hex, messageId });
      return;
    }
    if (c.kind === 'reaction') {
      events.emit('message.reaction', {
        groupId: e.hex,
        messageId,
        reactions: this.reactions(c.message),
      });
      return;
    }
    void this.message(e, c.seq, c.message)
      .then((message) => {
        events.emit(c.kind === 'added' ? 'message.received' : 'message.edited', { message });
        if (c.kind === 'added' && !c.message.mine) this.emitGroup(e);
      })
      .catch(() => undefined);
  }
}
