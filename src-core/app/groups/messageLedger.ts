/**
 * One group's message history in the store: an ordered log of StoredMessage (arrival order) and an
 * index from message id to arrival number, so edits, deletes and reactions rewrite the message
 * they name in place. All writes go into the caller's transaction, next to the group state that
 * decrypted them (groupHub.ts), so a crash never keeps a message without the ratchet step that
 * produced it, or the other way round.
 *
 * Application of received content (`apply`): edits and deletes only by the original sender;
 * reactions are one per (user, emoji); a content naming a message we do not hold is dropped
 * (it may come before the message after a reordering; MLS gives no order between senders, and
 * the loss is an edit shown late, never a wrong text).
 */
import type { Namespace, OrderedLog, Store, Transaction } from '../../store/index.js';
import type { AppContent } from '../content/index.js';
import { ContentType } from '../content/index.js';
import type { StoredMessage } from './groupRecords.js';
import { attachmentIdOf } from './attachmentCrypto.js';
import type { AttachmentRefs } from './attachmentRefs.js';
import { attachmentRefs, refName } from './attachmentRefs.js';
import {
  ATTACHMENTS_NS,
  MESSAGE_INDEX_NS,
  encodeStoredAttachment,
  decodeSeq,
  decodeStoredMessage,
  encodeSeq,
  encodeStoredMessage,
  messageLogName,
} from './groupRecords.js';

export const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** What applying a content changed, for the events the hub emits after the commit. */
export type LedgerChange =
  | { readonly kind: 'added'; readonly seq: bigint; readonly message: StoredMessage }
  | { readonly kind: 'edited'; readonly seq: bigint; readonly message: StoredMessage }
  | { readonly kind: 'deleted'; readonly seq: bigint; readonly message: StoredMessage }
  | { readonly kind: 'reaction'; readonly seq: bigint; readonly message: StoredMessage }
  | { readonly kind: 'none' };

/** A message written into a transaction that is not settled, over the one it replaces. */
interface Unsettled {
  readonly seq: bigint;
  readonly message: StoredMessage;
  readonly before: Unsettled | undefined;
  done: boolean;
}

export class MessageLedger {
  /**
   * Messages written into transactions not committed yet, by id: reads of the store do not see a
   * transaction's own writes, and one batch of the hub can hold a message and an edit of it.
   */
  readonly #unsettled = new Map<string, Unsettled>();

  private constructor(
    readonly groupHex: string,
    private readonly log: OrderedLog,
    private readonly index: Namespace,
    private readonly attachments: Namespace,
    private readonly refs: AttachmentRefs,
  ) {}

  static async open(store: Store, groupHex: string): Promise<MessageLedger> {
    return new MessageLedger(
      groupHex,
      await store.log(messageLogName(groupHex)),
      store.namespace(MESSAGE_INDEX_NS),
      store.namespace(ATTACHMENTS_NS),
      attachmentRefs(store),
    );
  }

  /** One past the newest arrival number. */
  get nextSeq(): bigint {
    return this.log.nextSeq;
  }

  async find(messageId: Uint8Array): Promise<{ seq: bigint; message: StoredMessage } | undefined> {
    const unsettled = this.#unsettled.get(hexOf(messageId));
    if (unsettled !== undefined) return { seq: unsettled.seq, message: unsettled.message };
    const s = await this.index.get(`${this.groupHex}/${hexOf(messageId)}`);
    if (s === undefined) return undefined;
    const seq = decodeSeq(s);
    const bytes = await this.log.get(seq);
    return bytes === undefined ? undefined : { seq, message: decodeStoredMessage(bytes) };
  }

  append(tx: Transaction, message: StoredMessage): bigint {
    const seq = this.log.append(tx, encodeStoredMessage(message));
    this.index.put(tx, `${this.groupHex}/${hexOf(message.messageId)}`, encodeSeq(seq));
    this.#unsettle(tx, seq, message);
    return seq;
  }

  replace(tx: Transaction, seq: bigint, message: StoredMessage): void {
    this.log.replace(tx, seq, encodeStoredMessage(message));
    this.#unsettle(tx, seq, message);
  }

  /** Remembered until `tx` is committed (the store then has it) or aborted (an older one holds). */
  #unsettle(tx: Transaction, seq: bigint, message: StoredMessage): void {
    const key = hexOf(message.messageId);
    const entry: Unsettled = { seq, message, before: this.#unsettled.get(key), done: false };
    this.#unsettled.set(key, entry);
    tx.onCommit(() => {
      entry.done = true;
      if (this.#unsettled.get(key) === entry) this.#unsettled.delete(key);
    });
    tx.onAbort(() => {
      entry.done = true;
      if (this.#unsettled.get(key) !== entry) return;
      let before = entry.before;
      while (before?.done === true) before = before.before;
      if (before === undefined) this.#unsettled.delete(key);
      else this.#unsettled.set(key, before);
    });
  }

  /** Up to `limit` messages before `before` (exclusive), oldest first. */
  async page(
    before: bigint | undefined,
    limit: number,
  ): Promise<{ seq: bigint; message: StoredMessage }[]> {
    return (await this.pageWithMore(before, limit)).items;
  }

  /** As `page`, and whether older messages remain. */
  async pageWithMore(
    before: bigint | undefined,
    limit: number,
  ): Promise<{ items: { seq: bigint; message: StoredMessage }[]; more: boolean }> {
    if (before !== undefined && before <= 1n) return { items: [], more: false };
    const entries = await this.log.page({
      direction: 'backward',
      limit: limit + 1,
      ...(before === undefined ? {} : { from: before - 1n }),
    });
    const more = entries.length > limit;
    const items = entries
      .slice(0, limit)
      .reverse()
      .map((e) => ({ seq: e.seq, message: decodeStoredMessage(e.value) }));
    return { items, more };
  }

  /** Newest first, at most `bound` messages: the search scan and the unread count use it. */
  async *newest(bound: number): AsyncGenerator<{ seq: bigint; message: StoredMessage }> {
    let before: bigint | undefined;
    let seen = 0;
    while (seen < bound) {
      const page = await this.page(before, Math.min(200, bound - seen));
      if (page.length === 0) return;
      for (let i = page.length - 1; i >= 0; i--) yield page[i]!;
      seen += page.length;
      before = page[0]!.seq;
    }
  }

  /** Others' messages at or after `readThrough` (counted up to `bound`). */
  async unread(readThrough: bigint, bound = 10_000): Promise<number> {
    let n = 0;
    for await (const { seq, message } of this.newest(bound)) {
      if (seq < readThrough) break;
      if (!message.mine && !message.deleted) n++;
    }
    return n;
  }

  /**
   * Applies received (or our own) content from `senderUserId` into `tx`. Read receipts, renames,
   * roles and policies are the hub's; here they change nothing.
   */
  async apply(
    tx: Transaction,
    senderUserId: string,
    mine: boolean,
    content: AppContent,
    nowMs: number,
  ): Promise<LedgerChange> {
    const body = content.body;
    const base = (text: string): StoredMessage => ({
      messageId: content.messageId,
      senderUserId,
      mine,
      sentAtMs: Number(content.sentAtMs),
      receivedAtMs: nowMs,
      text,
      replyTo: undefined,
      editedAtMs: undefined,
      deleted: false,
      reactions: [],
      attachment: undefined,
      delivery: mine ? 'pending' : 'delivered',
    });
    const fresh = async (m: StoredMessage): Promise<LedgerChange> => {
      // A second message with an id we hold (a replay, or a member reusing another's id) is dropped.
      if ((await this.find(m.messageId)) !== undefined) return { kind: 'none' };
      return { kind: 'added', seq: this.append(tx, m), message: m };
    };
    switch (body.type) {
      case ContentType.text:
        return fresh(base(body.text));
      case ContentType.reply:
        return fresh({ ...base(body.text), replyTo: body.ref });
      case ContentType.attachment: {
        const c = await fresh({ ...base(body.caption), attachment: body.manifest });
        if (c.kind === 'added') {
          const value = encodeStoredAttachment({
            groupHex: this.groupHex,
            manifest: body.manifest,
          });
          const id = attachmentIdOf(body.manifest);
          this.attachments.put(tx, id, value);
          this.refs.add(tx, id, refName(this.groupHex, hexOf(content.messageId)));
        }
        return c;
      }
      case ContentType.edit:
      case ContentType.delete: {
        const found = await this.find(body.ref);
        if (found === undefined || found.message.senderUserId !== senderUserId) {
          return { kind: 'none' };
        }
        if (found.message.deleted) return { kind: 'none' };
        const message: StoredMessage =
          body.type === ContentType.edit
            ? { ...found.message, text: body.text, editedAtMs: Number(content.sentAtMs) }
            : { ...found.message, text: '', deleted: true, reactions: [], attachment: undefined };
        this.replace(tx, found.seq, message);
        const carried = found.message.attachment;
        if (body.type === ContentType.delete && carried !== undefined) {
          // Deleted for everyone: the file key and chunks go too, unless another message has them.
          const id = attachmentIdOf(carried);
          this.refs.drop(tx, id, refName(this.groupHex, hexOf(body.ref)));
          await this.refs.release(tx, id, carried);
        }
        return {
          kind: body.type === ContentType.edit ? 'edited' : 'deleted',
          seq: found.seq,
          message,
        };
      }
      case ContentType.reaction: {
        const found = await this.find(body.ref);
        if (found === undefined || found.message.deleted) return { kind: 'none' };
        const others = found.message.reactions.filter(
          (r) => !(r.userId === senderUserId && r.emoji === body.emoji),
        );
        const reactions = body.on
          ? [...others, { userId: senderUserId, emoji: body.emoji }]
          : others;
        const message = { ...found.message, reactions };
        this.replace(tx, found.seq, message);
        return { kind: 'reaction', seq: found.seq, message };
      }
      default:
        return { kind: 'none' };
    }
  }
}
