/**
 * `messages.*` of the app API: content (content/appContent.ts) sent as MLS application messages
 * through the group's session and kept, decrypted, in the group's ledger in the store (written in
 * the same transaction as the ratchet step, groups/groupHub.ts).
 *
 * Read state is local: `markRead` moves the group's read mark (arrival order) and answers the
 * unread count; read receipts to others are part of the content format but not sent yet.
 * Search is a scan of the decrypted local history, newest first, of at most SEARCH_SCAN messages
 * per group: simple and bounded, not an index (a full-text index is future work).
 */
import { randomBytes } from 'node:crypto';
import type { Message, SearchHit } from './api.js';
import type { AppContext } from './appContext.js';
import type { ContentBody } from './content/index.js';
import { CONTENT_ID_BYTES, ContentType } from './content/index.js';
import { mapped } from './errorMapping.js';
import { AppError } from './errors.js';
import type { GroupEntry } from './groups/groupHub.js';
import { GroupHub } from './groups/groupHub.js';
import { parseCursor } from './groupsService.js';
import type { MessagesService } from './services.js';

const PAGE_MAX = 200;
export const SEARCH_SCAN = 20_000;
const SEARCH_MAX = 200;

function idBytes(messageId: string): Uint8Array {
  if (!new RegExp(`^[0-9a-f]{${CONTENT_ID_BYTES * 2}}$`).test(messageId)) {
    throw new AppError('bad_request', 'not a message id');
  }
  return new Uint8Array(Buffer.from(messageId, 'hex'));
}

export function createMessagesService(ctx: AppContext): MessagesService {
  const hub = GroupHub.of(ctx);

  const view = async (e: GroupEntry, messageId: string): Promise<Message> => {
    const found = await e.ledger.find(idBytes(messageId));
    if (found === undefined) throw new AppError('not_found', 'no such message');
    return hub.views.message(e, found.seq, found.message);
  };

  /** Sends `body` as a new content; answers the message it names (or made). */
  const send = async (groupId: string, body: ContentBody): Promise<Message> => {
    const e = hub.active(groupId);
    const messageId = new Uint8Array(randomBytes(CONTENT_ID_BYTES));
    const change = await hub.send(e, { messageId, sentAtMs: BigInt(ctx.nowMs()), body });
    if (change.kind === 'none') throw new AppError('not_found', 'no such message');
    hub.views.emitLedger(e, change);
    return hub.views.message(e, change.seq, change.message);
  };

  const checkText = (text: string): string => {
    if (text.length === 0) throw new AppError('bad_request', 'empty text');
    return text;
  };

  const own = async (e: GroupEntry, messageId: string): Promise<Uint8Array> => {
    const ref = idBytes(messageId);
    const found = await e.ledger.find(ref);
    if (found === undefined) throw new AppError('not_found', 'no such message');
    if (!found.message.mine) throw new AppError('forbidden', 'only its sender changes a message');
    return ref;
  };

  return {
    history: (p) =>
      mapped('messages.history', async () => {
        const e = hub.get(p.groupId);
        const limit = Math.max(1, Math.min(PAGE_MAX, p.limit ?? 50));
        const page = await e.ledger.pageWithMore(parseCursor(p.before), limit);
        const messages = await Promise.all(
          page.items.map((x) => hub.views.message(e, x.seq, x.message)),
        );
        const first = page.items[0];
        return {
          messages,
          nextCursor: first === undefined || !page.more ? null : first.seq.toString(10),
        };
      }),

    get: (p) => mapped('messages.get', () => view(hub.get(p.groupId), p.messageId)),

    send: (p) =>
      mapped('messages.send', () =>
        send(p.groupId, { type: ContentType.text, text: checkText(p.text) }),
      ),

    reply: (p) =>
      mapped('messages.reply', async () => {
        const e = hub.get(p.groupId);
        const ref = idBytes(p.replyTo);
        if ((await e.ledger.find(ref)) === undefined)
          throw new AppError('not_found', 'no such message');
        return send(p.groupId, { type: ContentType.reply, ref, text: checkText(p.text) });
      }),

    edit: (p) =>
      mapped('messages.edit', async () => {
        const ref = await own(hub.get(p.groupId), p.messageId);
        return send(p.groupId, { type: ContentType.edit, ref, text: checkText(p.text) });
      }),

    delete: (p) =>
      mapped('messages.delete', async () => {
        const ref = await own(hub.get(p.groupId), p.messageId);
        await send(p.groupId, { type: ContentType.delete, ref });
      }),

    react: (p) =>
      mapped('messages.react', async () => {
        const ref = idBytes(p.messageId);
        const found = await hub.get(p.groupId).ledger.find(ref);
        if (found === undefined || found.message.deleted) {
          throw new AppError('not_found', 'no such message');
        }
        return send(p.groupId, { type: ContentType.reaction, ref, emoji: p.emoji, on: p.on });
      }),

    markRead: (p) =>
      mapped('messages.markRead', async () => {
        const e = hub.get(p.groupId);
        const found = await e.ledger.find(idBytes(p.upTo));
        if (found === undefined) throw new AppError('not_found', 'no such message');
        if (found.seq + 1n > e.meta.readThrough) {
          e.meta.readThrough = found.seq + 1n;
          await hub.persist(e, () => undefined);
          hub.views.emitGroup(e);
        }
        return { unread: await e.ledger.unread(e.meta.readThrough) };
      }),

    search: (p) =>
      mapped('messages.search', async () => {
        const query = p.query.trim().toLocaleLowerCase();
        if (query.length === 0) throw new AppError('bad_request', 'empty query');
        const limit = Math.max(1, Math.min(SEARCH_MAX, p.limit ?? 50));
        const groups = p.groupId === undefined ? [...hub.groups.values()] : [hub.get(p.groupId)];
        const hits: SearchHit[] = [];
        for (const e of groups) {
          for await (const { seq, message } of e.ledger.newest(SEARCH_SCAN)) {
            if (message.deleted || !message.text.toLocaleLowerCase().includes(query)) continue;
            hits.push({
              message: await hub.views.message(e, seq, message),
              groupName: e.meta.name,
            });
            if (hits.length >= limit) return hits;
          }
        }
        return hits;
      }),
  };
}
