import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { GroupPolicy } from '../../src-core/app/api.js';
import { chunkHash, CHUNK_HASH_BYTES } from '../../src-core/app/content/index.js';
import { GroupHub } from '../../src-core/app/groups/groupHub.js';
import { DEFAULT_POLICY, userIdOfCredential } from '../../src-core/app/groups/groupRules.js';
import type { ParleyApp } from '../../src-core/app/parleyApp.js';
import { EnvelopeKind } from '../../src-core/delivery/envelope.js';
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

/** A wall clock the test moves forward (the app's `now`). */
class TestClock {
  offset = 0;
  readonly now = (): number => Date.now() + this.offset;
}

async function group(
  users: readonly { app: ParleyApp }[],
): Promise<{ gid: string; ids: string[] }> {
  for (let i = 0; i < users.length; i++) {
    for (let j = i + 1; j < users.length; j++) await befriend(users[i]!.app, users[j]!.app);
  }
  const ids = await Promise.all(users.map(async (u) => (await u.app.identity.me()).userId));
  const g = await users[0]!.app.groups.create({ name: 'Policy', members: ids.slice(1) });
  for (const u of users.slice(1)) {
    await waitFor(async () => (await u.app.groups.list()).length === 1, 'joined');
  }
  return { gid: g.groupId, ids };
}

async function setEverywhere(
  apps: readonly ParleyApp[],
  gid: string,
  policy: GroupPolicy,
): Promise<void> {
  expect(await apps[0]!.groups.setPolicy({ groupId: gid, policy })).toEqual(policy);
  for (const app of apps) {
    await waitFor(
      async () =>
        JSON.stringify(await app.groups.policy({ groupId: gid })) === JSON.stringify(policy),
      'the policy everywhere',
    );
  }
}

/** Commits the app's session publishes from now on (synchronous with the call that makes them). */
function commitsOf(app: ParleyApp, gid: string): { count: number } {
  const out = { count: 0 };
  GroupHub.of(app.context)
    .get(gid)
    .session!.on('published', (p) => {
      if (p.kind === EnvelopeKind.commit) out.count++;
    });
  return out;
}

async function keyUpdatesBy(app: ParleyApp, gid: string, userId: string): Promise<number> {
  const { entries } = await app.groups.membershipLog({ groupId: gid, limit: 200 });
  return entries.filter((e) => e.change === 'keys_updated' && e.actorUserId === userId).length;
}

describe('app: group policy, end to end', () => {
  it("key updates follow the group's rules: after a time and after a number of messages", async () => {
    const bobClock = new TestClock();
    const alice = await newUser('Alice');
    const bob = await newUser('Bob', { now: bobClock.now });
    const { gid, ids } = await group([alice, bob]);
    const bId = ids[1]!;
    const bobHub = GroupHub.of(bob.app.context);
    const commits = commitsOf(bob.app, gid);

    // Under the default rules (a week), a minute is not enough.
    bobClock.offset += 61_000;
    await bobHub.policy.tick();
    expect(commits.count).toBe(0);

    const policy = { ...DEFAULT_POLICY, keyUpdateAfterMs: 60_000, keyUpdateAfterMessages: 3 };
    // Out of range: refused before anything is sent.
    expect(
      await appErrorCode(
        alice.app.groups.setPolicy({ groupId: gid, policy: { ...policy, keyUpdateAfterMs: 0 } }),
      ),
    ).toBe('bad_request');
    expect(await appErrorCode(bob.app.groups.setPolicy({ groupId: gid, policy }))).toBe(
      'forbidden',
    );
    await setEverywhere([alice.app, bob.app], gid, policy);

    // Now a minute is due: Bob commits fresh keys, Alice logs it.
    const before = bobHub.get(gid).meta.lastUpdateMs;
    await bobHub.policy.tick();
    expect(commits.count).toBe(1);
    await waitFor(async () => (await keyUpdatesBy(alice.app, gid, bId)) === 1, 'timed update');
    await waitFor(() => bobHub.get(gid).meta.lastUpdateMs > before, 'bob merged it');

    // Two messages: no update; the third: one.
    await bob.app.messages.send({ groupId: gid, text: 'one' });
    await bob.app.messages.send({ groupId: gid, text: 'two' });
    expect(commits.count).toBe(1);
    await bob.app.messages.send({ groupId: gid, text: 'three' });
    expect(commits.count).toBe(2);
    await waitFor(async () => (await keyUpdatesBy(alice.app, gid, bId)) === 2, 'counted update');
  });

  it('disappearing messages delete the text, index, search hits, attachment record and chunks', async () => {
    const bobClock = new TestClock();
    const alice = await newUser('Alice');
    const bob = await newUser('Bob', { now: bobClock.now });
    const { gid } = await group([alice, bob]);
    const bobHub = GroupHub.of(bob.app.context);
    await setEverywhere([alice.app, bob.app], gid, { ...DEFAULT_POLICY, disappearAfterMs: 60_000 });

    const old = await bob.app.messages.send({ groupId: gid, text: 'old news' });
    const file = join(await tempProfileDir(), 'notes.bin');
    await writeFile(file, new Uint8Array(randomBytes(300 * 1024))); // two chunks
    const sent = await bob.app.attachments.send({
      groupId: gid,
      source: { kind: 'path', path: file },
      caption: 'old file',
    });
    const attachmentId = sent.message.attachment!.attachmentId;
    const { manifest } = await bobHub.chunks.find(attachmentId);
    const chunks = manifest.chunkHashes.length / CHUNK_HASH_BYTES;
    expect(chunks).toBe(2);
    const blobs = bobHub.session.store.blobs;
    for (let i = 0; i < chunks; i++) expect(await blobs.has(chunkHash(manifest, i))).toBe(true);

    // A minute later a fresh message arrives; the policy runs.
    bobClock.offset += 61_000;
    await alice.app.messages.send({ groupId: gid, text: 'fresh news' });
    const history = async (): Promise<string[]> =>
      (await bob.app.messages.history({ groupId: gid })).messages.map((m) => m.text);
    await waitFor(async () => (await history()).includes('fresh news'), 'fresh arrives');
    expect((await history()).length).toBe(3);
    const deleted = collect(bob.app, 'message.deleted');
    await bobHub.policy.tick();

    expect(await history()).toEqual(['fresh news']);
    expect(deleted.map((d) => d.messageId).sort()).toEqual(
      [old.messageId, sent.message.messageId].sort(),
    );
    for (const id of [old.messageId, sent.message.messageId]) {
      expect(await appErrorCode(bob.app.messages.get({ groupId: gid, messageId: id }))).toBe(
        'not_found',
      );
    }
    expect(await bob.app.messages.search({ query: 'old' })).toEqual([]);
    expect((await bob.app.messages.search({ query: 'news' })).length).toBe(1);
    expect(await appErrorCode(bobHub.chunks.find(attachmentId))).toBe('not_found');
    for (let i = 0; i < chunks; i++) expect(await blobs.has(chunkHash(manifest, i))).toBe(false);
    // Alice's clock did not move: her copies stay until her own minute is up.
    const aliceTexts = (await alice.app.messages.history({ groupId: gid })).messages.length;
    expect(aliceTexts).toBe(3);
  });

  it('idle members are removed by an admin; members that keep updating their keys stay', async () => {
    const aliceClock = new TestClock();
    const carolClock = new TestClock();
    const alice = await newUser('Alice', { now: aliceClock.now });
    const bob = await newUser('Bob');
    const carol = await newUser('Carol', { now: carolClock.now });
    const { gid, ids } = await group([alice, bob, carol]);
    const [, bId, cId] = ids;
    const apps = [alice.app, bob.app, carol.app];
    const policy = { ...DEFAULT_POLICY, keyUpdateAfterMs: 60_000, removeIdleAfterMs: 120_000 };
    // The idle limit must span two key-update periods.
    expect(
      await appErrorCode(
        alice.app.groups.setPolicy({
          groupId: gid,
          policy: { ...policy, removeIdleAfterMs: 90_000 },
        }),
      ),
    ).toBe('bad_request');
    await setEverywhere(apps, gid, policy);
    const aliceHub = GroupHub.of(alice.app.context);
    const carolHub = GroupHub.of(carol.app.context);
    const names = (): string[] =>
      aliceHub
        .get(gid)
        .group!.members()
        .map((m) => userIdOfCredential(m.credential)!);

    // Bob goes offline for good; Carol stays and follows the key-update policy.
    await closeApp(bob.app);
    aliceClock.offset += 70_000;
    carolClock.offset += 70_000;
    await carolHub.policy.tick();
    await waitFor(async () => (await keyUpdatesBy(alice.app, gid, cId!)) >= 1, "Carol's update");
    await aliceHub.policy.tick();
    expect(aliceHub.policy.idle.idle(aliceHub.get(gid), 120_000)).toEqual([]);
    expect(names()).toContain(bId);

    // 140 s after Alice started watching: Bob is idle past the limit, Carol was seen 70 s ago.
    aliceClock.offset += 70_000;
    const idle = aliceHub.policy.idle.idle(aliceHub.get(gid), 120_000);
    expect(idle.map((m) => userIdOfCredential(m.credential))).toEqual([bId]);
    await aliceHub.policy.tick();
    await waitFor(() => !names().includes(bId!), 'bob removed at alice');
    expect(names()).toContain(cId);
    await waitFor(
      async () => (await carol.app.groups.members({ groupId: gid })).length === 2,
      'bob removed at carol',
    );
    const removal = async () =>
      (await carol.app.groups.membershipLog({ groupId: gid })).entries.find(
        (e) => e.change === 'removed',
      );
    await waitFor(async () => (await removal()) !== undefined, 'logged at carol');
    expect(await removal()).toMatchObject({ subjectUserId: bId, actorUserId: ids[0] });
  });
});
