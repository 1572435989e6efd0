import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppContent, ContentBody } from '../../src-core/app/content/index.js';
import { ContentType } from '../../src-core/app/content/index.js';
import { AppError } from '../../src-core/app/errors.js';
import { expireMessages } from '../../src-core/app/groups/disappearing.js';
import {
  decodeStoredMessage,
  encodeStoredMessage,
} from '../../src-core/app/groups/groupRecords.js';
import { MessageLedger } from '../../src-core/app/groups/messageLedger.js';
import type { Store } from '../../src-core/store/index.js';
import { openStore, rawKeySource } from '../../src-core/store/index.js';

let store: Store | undefined;
let dir: string | undefined;

afterEach(async () => {
  await store?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  store = undefined;
  dir = undefined;
});

async function ledger(): Promise<{ s: Store; l: MessageLedger }> {
  dir = await mkdtemp(join(tmpdir(), 'parley-ledger-'));
  store = await openStore({
    path: join(dir, 'db'),
    keySource: rawKeySource(new Uint8Array(32).fill(3)),
  });
  return { s: store, l: await MessageLedger.open(store, 'ab'.repeat(32)) };
}

const id = (): Uint8Array => new Uint8Array(randomBytes(16));
const content = (body: ContentBody, messageId = id()): AppContent => ({
  messageId,
  sentAtMs: 1_000n,
  body,
});

describe('message ledger (the group history in the store)', () => {
  it('applies edits and deletes only from the sender, reactions per user, drops reused ids', async () => {
    const { s, l } = await ledger();
    const at = (ms: number) => ms;
    const hi = content({ type: ContentType.text, text: 'hi' });
    const apply = (who: string, c: AppContent, now = 5) =>
      s.write((tx) => l.apply(tx, who, who === 'alice', c, at(now)));
    expect((await apply('alice', hi)).kind).toBe('added');
    // Bob reuses Alice's message id: dropped, Alice's text stays.
    expect(
      (await apply('bob', content({ type: ContentType.text, text: 'forged' }, hi.messageId))).kind,
    ).toBe('none');
    // Bob may not edit or delete Alice's message.
    expect(
      (await apply('bob', content({ type: ContentType.edit, ref: hi.messageId, text: 'x' }))).kind,
    ).toBe('none');
    expect(
      (await apply('bob', content({ type: ContentType.delete, ref: hi.messageId }))).kind,
    ).toBe('none');
    expect((await l.find(hi.messageId))?.message.text).toBe('hi');
    // Reactions: one per (user, emoji), off removes it.
    const react = (who: string, on: boolean) =>
      apply(who, content({ type: ContentType.reaction, ref: hi.messageId, emoji: '🎉', on }));
    await react('bob', true);
    await react('bob', true);
    await react('carol', true);
    await react('carol', false);
    expect((await l.find(hi.messageId))?.message.reactions).toEqual([
      { userId: 'bob', emoji: '🎉' },
    ]);
    // The sender edits, then deletes: text and reactions gone.
    const edited = await apply(
      'alice',
      content({ type: ContentType.edit, ref: hi.messageId, text: 'hello' }),
    );
    expect(edited).toMatchObject({ kind: 'edited', message: { text: 'hello', editedAtMs: 1000 } });
    const deleted = await apply('alice', content({ type: ContentType.delete, ref: hi.messageId }));
    expect(deleted).toMatchObject({
      kind: 'deleted',
      message: { text: '', deleted: true, reactions: [] },
    });
    // Content naming a message we do not hold changes nothing.
    expect((await react('bob', true)).kind).toBe('none');
  });

  it('pages oldest first with a cursor, counts unread, expires old messages with their index', async () => {
    const { s, l } = await ledger();
    const ids: Uint8Array[] = [];
    for (let i = 0; i < 7; i++) {
      const c = content({ type: ContentType.text, text: `m${i}` });
      ids.push(c.messageId);
      await s.write((tx) => l.apply(tx, i % 2 === 0 ? 'bob' : 'alice', i % 2 === 1, c, 100 * i));
    }
    const p1 = await l.pageWithMore(undefined, 3);
    expect(p1.items.map((x) => x.message.text)).toEqual(['m4', 'm5', 'm6']);
    expect(p1.more).toBe(true);
    const p2 = await l.pageWithMore(p1.items[0]!.seq, 10);
    expect(p2).toMatchObject({ more: false });
    expect(p2.items.map((x) => x.message.text)).toEqual(['m0', 'm1', 'm2', 'm3']);
    expect(await l.unread(0n)).toBe(4); // bob's m0, m2, m4, m6
    expect(await l.unread(p1.items[1]!.seq)).toBe(1); // after m4: m6
    // Disappearing messages: arrived before 250 ms → m0, m1, m2 go, and so does their index.
    const gone = await s.write((tx) => expireMessages(s, l.groupHex, tx, 250));
    expect(gone.map((m) => m.text)).toEqual(['m0', 'm1', 'm2']);
    expect((await l.page(undefined, 10)).map((x) => x.message.text)).toEqual([
      'm3',
      'm4',
      'm5',
      'm6',
    ]);
    expect(await l.find(ids[0]!)).toBeUndefined();
    expect((await l.find(ids[3]!))?.message.text).toBe('m3');
  });

  it('a damaged stored message is an AppError, never a silent default', () => {
    const good = encodeStoredMessage({
      messageId: id(),
      senderUserId: 'u',
      mine: false,
      sentAtMs: 1,
      receivedAtMs: 2,
      text: 't',
      replyTo: undefined,
      editedAtMs: undefined,
      deleted: false,
      reactions: [],
      attachment: undefined,
      delivery: 'delivered',
    });
    expect(decodeStoredMessage(good).text).toBe('t');
    expect(() => decodeStoredMessage(good.subarray(0, good.length - 1))).toThrow(AppError);
    const v2 = good.slice();
    v2[1] = 2;
    expect(() => decodeStoredMessage(v2)).toThrow(expect.objectContaining({ code: 'internal' }));
  });
});
