import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { chunkHash, CHUNK_HASH_BYTES } from '../../src-core/app/content/index.js';
import { expireMessages } from '../../src-core/app/groups/disappearing.js';
import { GroupHub } from '../../src-core/app/groups/groupHub.js';
import { toBase64Url } from '../../src-core/app/dto.js';
import { groupSummary } from '../../src-core/app/rpc/dtoSchemas.js';
import type { ParleyApp } from '../../src-core/app/parleyApp.js';
import { appErrorCode, cleanup, collect, newUser, waitFor } from './appFixture.js';

afterEach(cleanup);

async function pair(): Promise<{ alice: ParleyApp; bob: ParleyApp; gid: string }> {
  const alice = (await newUser('Alice')).app;
  const bob = (await newUser('Bob')).app;
  const c = await bob.contacts.addByInviteCode({ code: (await alice.identity.me()).inviteCode });
  await waitFor(
    async () => (await bob.contacts.list()).some((x) => x.userId === c.userId && x.online),
    'online',
  );
  const g = await alice.groups.create({
    name: 'Files',
    members: [(await bob.identity.me()).userId],
  });
  await waitFor(async () => (await bob.groups.list()).length === 1, 'joined');
  return { alice, bob, gid: g.groupId };
}

/** Every message of the group expires now, through the hub's batch (as the policy tick does). */
async function expireAll(app: ParleyApp, gid: string): Promise<number> {
  const hub = GroupHub.of(app.context);
  const store = hub.session.store;
  const gone = await hub.persist(hub.get(gid), (tx) =>
    expireMessages(store, gid, tx, Date.now() + 1),
  );
  return gone.length;
}

const twoChunks = (): string => toBase64Url(new Uint8Array(randomBytes(300 * 1024)));

describe('transfers of an attachment that expires', () => {
  it('the uploader forgets the expired attachment: not complete, its transfer gone', async () => {
    const { alice, gid } = await pair();
    const hub = GroupHub.of(alice.context);
    const sent = await alice.attachments.send({
      groupId: gid,
      source: { kind: 'bytes', bytes: twoChunks(), name: 'photo.png', mime: 'image/png' },
    });
    const { manifest } = await hub.chunks.find(sent.message.attachment!.attachmentId);
    expect(await hub.chunks.complete(manifest)).toBe(true);
    expect(hub.chunks.transfer(sent.transfer.transferId).state).toBe('done');
    // The chat list names the file of a last message without caption (and the RPC schema agrees).
    const [summary] = await alice.groups.list();
    expect(summary!.lastMessage).toMatchObject({ text: '', attachmentName: 'photo.png' });
    expect(groupSummary.parse(summary)).toEqual(summary);

    expect(await expireAll(alice, gid)).toBe(1);
    expect(await hub.chunks.complete(manifest)).toBe(false);
    expect(
      await appErrorCode(
        Promise.resolve().then(() => hub.chunks.transfer(sent.transfer.transferId)),
      ),
    ).toBe('not_found');
  });

  it('a download running when its attachment expires stops and stores no chunk after', async () => {
    const { alice, bob, gid } = await pair();
    const sent = await alice.attachments.send({
      groupId: gid,
      source: {
        kind: 'bytes',
        bytes: twoChunks(),
        name: 'notes.bin',
        mime: 'application/octet-stream',
      },
    });
    const attachmentId = sent.message.attachment!.attachmentId;
    const hub = GroupHub.of(bob.context);
    await waitFor(async () => {
      try {
        await hub.chunks.find(attachmentId);
        return true;
      } catch {
        return false;
      }
    }, 'the manifest arrives');
    const { manifest } = await hub.chunks.find(attachmentId);

    // Bob's chunk requests wait at a gate the test opens after the expiry.
    const requests = hub.session.ports.requests;
    const ask = requests.request.bind(requests);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let asked = 0;
    requests.request = async (peer, protocol, body, options) => {
      if (protocol === 'chunks') {
        asked++;
        await gate;
      }
      return ask(peer, protocol, body, options);
    };
    const progress = collect(bob, 'attachment.progress');
    const t = await bob.attachments.fetch({ groupId: gid, attachmentId });
    expect(t.state).toBe('running');
    await waitFor(async () => asked > 0, 'a chunk asked for');

    expect(await expireAll(bob, gid)).toBe(1);
    expect(hub.chunks.transfer(t.transferId)).toMatchObject({
      state: 'failed',
      failure: 'not_found',
    });
    open();
    const end = await hub.chunks.settled(t.transferId);
    expect(end).toMatchObject({ state: 'failed', failure: 'not_found' });
    expect(asked).toBeGreaterThan(0);
    const count = manifest.chunkHashes.length / CHUNK_HASH_BYTES;
    for (let i = 0; i < count; i++) {
      expect(await hub.session.store.blobs.has(chunkHash(manifest, i))).toBe(false);
    }
    expect(await hub.chunks.complete(manifest)).toBe(false);
    const states = progress
      .filter((p) => p.transfer.transferId === t.transferId)
      .map((p) => p.transfer.state);
    expect(states).toContain('failed');
    expect(states).not.toContain('done');
    expect(await appErrorCode(bob.attachments.fetch({ groupId: gid, attachmentId }))).toBe(
      'not_found',
    );
  });
});
