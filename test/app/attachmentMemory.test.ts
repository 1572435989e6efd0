/**
 * Attachments in memory bounded by the chunk size, not the file size (issue 7: files up to at
 * least 2 GiB). A 2 GiB download and save once peaked at 1.8 GiB RSS: LevelDB mmapped every table
 * file it read (store.ts, LEVEL_MAX_OPEN_FILES). Checked here without timing or RSS thresholds:
 * the number of table files the process maps after reading a store larger than the table cache,
 * and the number of chunk buffers uploads, downloads and exports hold at their highest.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AttachmentsServiceImpl } from '../../src-core/app/attachmentsService.js';
import {
  CHUNKS_PER_BATCH,
  DOWNLOAD_MAX_HELD_CHUNKS,
} from '../../src-core/app/groups/chunkTransfers.js';
import { GroupHub } from '../../src-core/app/groups/groupHub.js';
import type { ParleyApp } from '../../src-core/app/parleyApp.js';
import { openStore, rawKeySource } from '../../src-core/store/index.js';
import { LEVEL_MAX_OPEN_FILES } from '../../src-core/store/store.js';
import { cleanup, newUser, tempProfileDir, waitFor } from './appFixture.js';

afterEach(cleanup);

const MIB = 1024 * 1024;
/** LevelDB's table cache: max_open_files minus the 10 it keeps for other files. */
const TABLE_CACHE = LEVEL_MAX_OPEN_FILES - 10;

/** The distinct `.ldb` table files under `dir` this process has mapped (Linux /proc). */
function mappedTables(dir: string): number {
  const tables = new Set<string>();
  for (const line of readFileSync('/proc/self/maps', 'latin1').split('\n')) {
    const path = /^\S+ \S+ \S+ \S+ \S+\s+(\/.*)$/.exec(line)?.[1];
    if (path !== undefined && path.startsWith(dir) && path.endsWith('.ldb')) tables.add(path);
  }
  return tables.size;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('attachments: memory does not grow with the file', () => {
  it.skipIf(process.platform !== 'linux')(
    'reading a store of 192 MiB of chunks maps at most the table cache, not every table',
    async () => {
      const dir = await tempProfileDir();
      const path = join(dir, 'db');
      const store = await openStore({
        path,
        keySource: rawKeySource(new Uint8Array(randomBytes(32))),
      });
      try {
        const chunk = new Uint8Array(randomBytes(256 * 1024));
        const hashes: Uint8Array[] = [];
        let tx = store.transaction();
        for (let i = 0; i < 768; i++) {
          new DataView(chunk.buffer).setUint32(0, i);
          hashes.push(store.blobs.put(tx, chunk));
          if ((i + 1) % CHUNKS_PER_BATCH === 0) {
            await tx.commit({ sync: false });
            tx = store.transaction();
          }
        }
        await tx.commit();
        for (const h of hashes) expect((await store.blobs.get(h))?.length).toBe(chunk.length);
        const onDisk = (await readdir(path)).filter((f) => f.endsWith('.ldb')).length;
        // The store outgrew the cache, so mapping every table read would break the bound below.
        expect(onDisk).toBeGreaterThan(TABLE_CACHE);
        const mapped = mappedTables(path);
        expect(mapped).toBeGreaterThan(0);
        expect(mapped).toBeLessThanOrEqual(TABLE_CACHE);
      } finally {
        await store.close();
      }
    },
  );

  it('a 64 MiB upload, download over libp2p and save hold a bounded number of chunks', async () => {
    const [alice, bob] = await Promise.all([newUser('Alice'), newUser('Bob')]);
    const c = await alice!.app.contacts.addByInviteCode({
      code: (await bob!.app.identity.me()).inviteCode,
    });
    await waitFor(
      async () => (await alice!.app.contacts.list()).some((x) => x.userId === c.userId && x.online),
      'Bob online',
    );
    const g = await alice!.app.groups.create({ name: 'Files', members: [c.userId] });
    await waitFor(async () => (await bob!.app.groups.list()).length === 1, 'Bob joined');

    const size = 64 * MIB;
    const content = new Uint8Array(randomBytes(size));
    const src = join(alice!.dir, 'big.bin');
    await writeFile(src, content);
    const held = (app: ParleyApp) => GroupHub.of(app.context).chunks.held;

    const sent = await alice!.app.attachments.send({
      groupId: g.groupId,
      source: { kind: 'path', path: src },
    });
    const attachmentId = sent.message.attachment!.attachmentId;
    const chunks = size / (256 * 1024);
    expect(held(alice!.app).peak).toBeGreaterThan(0);
    expect(held(alice!.app).peak).toBeLessThanOrEqual(CHUNKS_PER_BATCH);
    expect(held(alice!.app).now).toBe(0);

    await waitFor(
      async () => (await bob!.app.messages.history({ groupId: g.groupId })).messages.length === 1,
      'the manifest at Bob',
    );
    const bobAtt = bob!.app.attachments as AttachmentsServiceImpl;
    held(bob!.app).resetPeak();
    const t = await bob!.app.attachments.fetch({ groupId: g.groupId, attachmentId });
    expect(await bobAtt.settled({ transferId: t.transferId })).toMatchObject({
      state: 'done',
      bytesDone: size,
    });
    // A download that kept its chunks (or queued writes without waiting) would reach `chunks`.
    expect(chunks).toBeGreaterThan(4 * DOWNLOAD_MAX_HELD_CHUNKS);
    expect(held(bob!.app).peak).toBeGreaterThan(0);
    expect(held(bob!.app).peak).toBeLessThanOrEqual(DOWNLOAD_MAX_HELD_CHUNKS);
    expect(held(bob!.app).now).toBe(0);

    held(bob!.app).resetPeak();
    const out = join(bob!.dir, 'saved.bin');
    await bobAtt.saveTo({ attachmentId, path: out });
    expect(held(bob!.app).peak).toBe(1);
    expect(held(bob!.app).now).toBe(0);
    expect(sha(await readFile(out))).toBe(sha(content));
  });
});
