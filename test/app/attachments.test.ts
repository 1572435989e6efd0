import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AttachmentsServiceImpl } from '../../src-core/app/attachmentsService.js';
import { chunkHash } from '../../src-core/app/content/index.js';
import { GroupHub } from '../../src-core/app/groups/groupHub.js';
import type { ParleyApp } from '../../src-core/app/parleyApp.js';
import {
  befriend,
  cleanup,
  collect,
  appErrorCode,
  closeApp,
  newUser,
  tempProfileDir,
  waitFor,
} from './appFixture.js';

afterEach(cleanup);

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const att = (app: ParleyApp) => app.attachments as AttachmentsServiceImpl;

describe('app: attachments over libp2p on 127.0.0.1', () => {
  it('a 5 MiB file: chunked upload with progress, fetched from any member, resumed, saved', async () => {
    const [alice, bob, carol] = await Promise.all(['Alice', 'Bob', 'Carol'].map((n) => newUser(n)));
    await befriend(alice!.app, bob!.app);
    await befriend(alice!.app, carol!.app);
    await befriend(bob!.app, carol!.app);
    const bId = (await bob!.app.identity.me()).userId;
    const cId = (await carol!.app.identity.me()).userId;
    const g = await alice!.app.groups.create({ name: 'Files', members: [bId, cId] });
    const gid = g.groupId;
    for (const u of [bob!, carol!]) {
      await waitFor(async () => (await u.app.groups.list()).length === 1, 'joined');
    }

    const dir = await tempProfileDir();
    const size = 5 * 1024 * 1024 + 12_345;
    const content = new Uint8Array(randomBytes(size));
    const src = join(dir, 'report.bin');
    await writeFile(src, content);
    const upProgress = collect(alice!.app, 'attachment.progress');
    const sent = await alice!.app.attachments.send({
      groupId: gid,
      source: { kind: 'path', path: src },
      caption: 'the report',
    });
    expect(sent.transfer).toMatchObject({
      direction: 'upload',
      state: 'done',
      bytesDone: size,
      bytesTotal: size,
    });
    expect(sent.message.attachment).toMatchObject({ name: 'report.bin', size, complete: true });
    const ups = upProgress.map((e) => e.transfer.bytesDone);
    expect(ups.length).toBeGreaterThan(2);
    expect(ups).toEqual([...ups].sort((a, b) => a - b));
    const attachmentId = sent.message.attachment!.attachmentId;

    // Bob fetches from Alice, with progress, and saves the file: the bytes are the sender's.
    await waitFor(
      async () => (await bob!.app.messages.history({ groupId: gid })).messages.length === 1,
      'manifest',
    );
    const bobMsg = (await bob!.app.messages.history({ groupId: gid })).messages[0]!;
    expect(bobMsg).toMatchObject({
      text: 'the report',
      attachment: { attachmentId, complete: false },
    });
    const downProgress = collect(bob!.app, 'attachment.progress');
    const t = await bob!.app.attachments.fetch({ groupId: gid, attachmentId });
    const done = await att(bob!.app).settled({ transferId: t.transferId });
    expect(done).toMatchObject({ state: 'done', bytesDone: size, failure: null });
    expect(downProgress.length).toBeGreaterThan(2);
    const out = join(dir, 'bob.bin');
    await att(bob!.app).saveTo({ attachmentId, path: out });
    expect(sha(await readFile(out))).toBe(sha(content));
    expect(
      (await bob!.app.messages.get({ groupId: gid, messageId: bobMsg.messageId })).attachment
        ?.complete,
    ).toBe(true);

    // Alice goes away: Carol fetches from Bob, the other member that has the chunks.
    await closeApp(alice!.app);
    const ct = await carol!.app.attachments.fetch({ groupId: gid, attachmentId });
    expect(await att(carol!.app).settled({ transferId: ct.transferId })).toMatchObject({
      state: 'done',
    });

    // Resume: Carol loses some chunks; a new fetch asks only for those.
    const s = carol!.app.context.session();
    const { manifest } = await GroupHub.of(carol!.app.context).chunks.find(attachmentId);
    await s.store.write((tx) => {
      for (const i of [3, 7, 11]) s.store.blobs.delete(tx, chunkHash(manifest, i));
    });
    const resumeProgress = collect(carol!.app, 'attachment.progress');
    const rt = await carol!.app.attachments.fetch({ groupId: gid, attachmentId });
    expect(await att(carol!.app).settled({ transferId: rt.transferId })).toMatchObject({
      state: 'done',
    });
    const chunk = manifest.chunkSize;
    expect(resumeProgress[0]!.transfer.bytesDone).toBe(size - 3 * chunk);
    const out2 = join(dir, 'carol.bin');
    await att(carol!.app).saveTo({ attachmentId, path: out2 });
    expect(sha(await readFile(out2))).toBe(sha(content));

    // Small images by bytes, and their previews; a stranger's attachment id is unknown.
    const png = new Uint8Array(randomBytes(3000));
    const img = await bob!.app.attachments.send({
      groupId: gid,
      source: {
        kind: 'bytes',
        name: 'pic.png',
        mime: 'image/png',
        bytes: Buffer.from(png).toString('base64url'),
      },
    });
    const preview = await bob!.app.attachments.preview({
      attachmentId: img.message.attachment!.attachmentId,
    });
    expect(preview.mime).toBe('image/png');
    expect(Buffer.from(preview.bytes, 'base64url').equals(Buffer.from(png))).toBe(true);
    expect(
      await appErrorCode(
        bob!.app.attachments.fetch({ groupId: gid, attachmentId: 'ab'.repeat(32) }),
      ),
    ).toBe('not_found');
  });
});
