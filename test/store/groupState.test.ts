import { afterAll, describe, expect, it } from 'vitest';
import type { GroupState } from '../../src-core/mls/group/index.js';
import {
  createCommit,
  createGroup,
  joinFromWelcome,
  processMessage,
  sendApplicationMessage,
} from '../../src-core/mls/group/index.js';
import { ProposalType } from '../../src-core/mls/proposal.js';
import { encodeGroupState } from '../../src-core/mls/storage/index.js';
import { StoreError, openStore } from '../../src-core/store/index.js';
import type { StoreErrorCode } from '../../src-core/store/index.js';
import { World, keyPackageFor, newClient, text, untext, wire } from '../mls/groupHarness.js';
import { filesContaining, removeTempDirs, tempDir, testKey, withLevel } from './storeHarness.js';

afterAll(removeTempDirs);

function staged(state: GroupState, bytes: Uint8Array) {
  const got = processMessage(state, bytes);
  if (got.kind !== 'commit') throw new Error(`read a ${got.kind}`);
  return got.staged;
}

function read(state: GroupState, bytes: Uint8Array): string {
  const got = processMessage(state, bytes);
  if (got.kind !== 'application') throw new Error(`read a ${got.kind}`);
  return untext(got.data);
}

/** A group of `n` members made by one commit; returns the creator and the member at `joiner`. */
function bigGroup(n: number, joiner: number) {
  const suite = new World(1).suite;
  const alice = newClient(suite, 'alice');
  const creator = createGroup({
    suite,
    credential: alice.credential,
    signatureKeyPair: alice.signature,
  });
  const bundles = Array.from({ length: n - 1 }, (_, i) =>
    keyPackageFor(suite, newClient(suite, `m${i + 1}`)),
  );
  const adds = createCommit(creator, {
    proposals: bundles.map((b) => ({
      proposalType: ProposalType.add,
      add: { keyPackage: b.keyPackage },
    })),
  });
  const state = adds.staged.merge();
  const member = joinFromWelcome({
    welcome: wire(adds.welcome!),
    keyPackages: [bundles[joiner - 1]!],
  });
  return { state, member };
}

async function expectCode(p: Promise<unknown>, code: StoreErrorCode): Promise<void> {
  const e: unknown = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(StoreError);
  expect((e as StoreError).code).toBe(code);
}

const N = 1000;

describe(`stored MLS group state at ${N} members`, () => {
  it('one commit (with its messages and consumed keys) is one batch of O(log n) records; restore decrypts', async () => {
    const path = await tempDir();
    let { state: alice, member } = bigGroup(N, 500);
    const groupId = alice.groupContext.groupId;
    const store = await openStore({ path, keySource: testKey() });

    const tx0 = store.transaction();
    let stored = await store.groups.create(tx0, groupId, alice);
    const keyPackages = store.namespace('key-packages');
    keyPackages.put(tx0, 'kp-1', text('a one-time key package private key'));
    await tx0.commit();
    expect(tx0.size).toBeGreaterThan(N); // the full state: one record per tree node and more
    const history = await store.log(Buffer.from(groupId).toString('hex'));

    // A message received: the sender's leaf (and the node secrets above it, first time).
    const m1 = read(alice, wire(sendApplicationMessage(member, text('hello from 500'))));
    const tx1 = store.transaction();
    stored.save(tx1, alice);
    history.append(tx1, text(m1));
    await tx1.commit();
    // the leaf, the secret-tree nodes under the root down to it, the history entry
    expect(tx1.size).toBeLessThanOrEqual(3 + Math.ceil(Math.log2(N)));

    // A path commit from the member: the epoch change, the message it carries, the consumed
    // key package's deletion, in one batch.
    const update = createCommit(member, { path: 'always' });
    const next = staged(alice, wire(update.commit)).merge();
    member = update.staged.merge();
    alice = next;
    const tx2 = store.transaction();
    const changes = stored.save(tx2, alice);
    history.append(tx2, text('epoch change: 500 updated its keys'));
    keyPackages.delete(tx2, 'kp-1');
    await tx2.commit();
    console.log(
      `${N} members: full state ${tx0.size} records; message received ${tx1.size}; path commit ${tx2.size} records (${tx2.bytes} bytes)`,
    );
    const logN = Math.log2(N);
    expect(changes.put.size).toBeGreaterThan(logN); // the path was written
    expect(tx2.size).toBeLessThanOrEqual(3 * Math.ceil(logN) + 8);
    expect(tx2.size).toBeLessThan(N / 20);

    // Restore: a fresh process would do exactly this.
    await store.close();
    const again = await openStore({ path, keySource: testKey() });
    const ids = await again.groups.list();
    expect(ids.map((id) => Buffer.from(id).toString('hex'))).toEqual([
      Buffer.from(groupId).toString('hex'),
    ]);
    stored = await again.groups.load(groupId);
    const restored = stored.state;
    expect(restored.epoch).toBe(alice.epoch);
    expect(restored.memberCount).toBe(N);
    expect(read(restored, wire(sendApplicationMessage(member, text('after restart'))))).toBe(
      'after restart',
    );
    expect(read(member, wire(sendApplicationMessage(restored, text('restored alice'))))).toBe(
      'restored alice',
    );
    // And it commits: the member follows.
    const c3 = createCommit(restored, { path: 'always' });
    const memberNext = staged(member, wire(c3.commit)).merge();
    const aliceNext = c3.staged.merge();
    const tx3 = again.transaction();
    stored.save(tx3, aliceNext);
    await tx3.commit();
    expect(tx3.size).toBeLessThanOrEqual(3 * Math.ceil(logN) + 8);
    expect(read(memberNext, wire(sendApplicationMessage(aliceNext, text('epoch 3'))))).toBe(
      'epoch 3',
    );
    expect((await (await again.log(Buffer.from(groupId).toString('hex'))).page()).length).toBe(2);
    expect(await again.namespace('key-packages').get('kp-1')).toBeUndefined();
    await again.close();

    // Loaded once more, the state is the one after the last commit.
    const third = await openStore({ path, keySource: testKey() });
    expect((await third.groups.load(groupId)).state.epoch).toBe(aliceNext.epoch);
    await third.close();
  });
});

describe('stored MLS group state: snapshots, damage, failed batches', () => {
  it('keeps a fork point across a restart, rewritten relative to the new epoch', async () => {
    const path = await tempDir();
    const { state: alice0, member } = bigGroup(8, 3);
    const groupId = alice0.groupContext.groupId;
    const store = await openStore({ path, keySource: testKey() });
    const tx = store.transaction();
    const stored = await store.groups.create(tx, groupId, alice0);
    await tx.commit();
    const c = createCommit(alice0, { path: 'always' });
    const alice1 = c.staged.merge({ keepPrevious: true });
    await store.write((t) => stored.save(t, alice1, { snapshots: [alice0] }));
    expect(stored.snapshotIds().map((id) => id.epoch)).toEqual([alice0.epoch]);
    await store.close();

    const again = await openStore({ path, keySource: testKey() });
    const loaded = await again.groups.load(groupId);
    expect(loaded.state.epoch).toBe(alice1.epoch);
    const ids = loaded.snapshotIds();
    expect(ids.length).toBe(1);
    const fork = await loaded.loadSnapshot(ids[0]!);
    expect(fork.epoch).toBe(alice0.epoch);
    // The fork point still reads the old epoch's messages.
    expect(read(fork, wire(sendApplicationMessage(member, text('old epoch'))))).toBe('old epoch');
    // An epoch change without the snapshot drops it.
    const c2 = createCommit(loaded.state, { path: 'always' });
    await again.write((t) => loaded.save(t, c2.staged.merge()));
    expect(loaded.snapshotIds()).toEqual([]);
    await again.close();
    const third = await openStore({ path, keySource: testKey() });
    expect((await third.groups.load(groupId)).snapshotIds()).toEqual([]);
    await third.close();
  });

  it('member names (credentials in the tree) never reach the files in the clear', async () => {
    const marker = 'MEMBER-NAME-MARKER-51c2e0';
    const suite = new World(1).suite;
    const alice = newClient(suite, `${marker}-alice`);
    const creator = createGroup({
      suite,
      credential: alice.credential,
      signatureKeyPair: alice.signature,
    });
    const bundles = [1, 2, 3].map((i) => keyPackageFor(suite, newClient(suite, `${marker}-${i}`)));
    const state = createCommit(creator, {
      proposals: bundles.map((b) => ({
        proposalType: ProposalType.add,
        add: { keyPackage: b.keyPackage },
      })),
    }).staged.merge();
    // The records themselves hold the names in the clear (the store's job is to hide them).
    const plainRecords = [...encodeGroupState(state).values()].map((v) => Buffer.from(v));
    expect(plainRecords.some((v) => v.includes(Buffer.from(marker)))).toBe(true);
    const path = await tempDir();
    const store = await openStore({ path, keySource: testKey() });
    const tx = store.transaction();
    await store.groups.create(tx, state.groupContext.groupId, state);
    await tx.commit();
    await store.db.compactRange(Uint8Array.of(0), Uint8Array.of(0xff));
    await store.close();
    expect(await filesContaining(path, text(marker))).toEqual([]);
  });

  it('a tampered group record is corrupt_record; a missing group is not_found', async () => {
    const path = await tempDir();
    const { state } = bigGroup(4, 1);
    const groupId = state.groupContext.groupId;
    const store = await openStore({ path, keySource: testKey() });
    const tx = store.transaction();
    await store.groups.create(tx, groupId, state);
    await tx.commit();
    await expectCode(store.groups.load(new Uint8Array(16)), 'not_found');
    await store.close();
    await withLevel(path, async (db) => {
      // Flip one bit in the last byte of every collection value: the group's records among them.
      for await (const [k, v] of db.iterator({ gte: Uint8Array.of(1), lt: Uint8Array.of(2) })) {
        v[v.length - 1]! ^= 1;
        await db.put(k, v);
      }
    });
    const again = await openStore({ path, keySource: testKey() });
    await expectCode(again.groups.load(groupId), 'corrupt_record');
    await again.close();
  });

  it('after a failed or aborted batch the handle is stale until loaded again; delete removes all', async () => {
    const path = await tempDir();
    const { state: a0 } = bigGroup(4, 1);
    const groupId = a0.groupContext.groupId;
    const store = await openStore({ path, keySource: testKey() });
    const tx = store.transaction();
    const stored = await store.groups.create(tx, groupId, a0);
    await tx.commit();
    const a1 = createCommit(a0, { path: 'always' }).staged.merge();
    const bad = store.transaction();
    stored.save(bad, a1);
    bad.abort();
    const t2 = store.transaction();
    expect(() => stored.save(t2, a1)).toThrow(StoreError);
    t2.abort();
    const fresh = await store.groups.load(groupId);
    expect(fresh.state.epoch).toBe(a0.epoch);
    // Deleting a group removes its records and its registry entry in one batch.
    const del = store.transaction();
    await store.groups.delete(del, groupId);
    await del.commit();
    expect(del.size).toBe(fresh.recordCount + 1);
    expect(await store.groups.list()).toEqual([]);
    expect(await store.groups.recordNames(groupId)).toEqual([]);
    await expectCode(store.groups.load(groupId), 'not_found');
    await store.close();
  });
});
