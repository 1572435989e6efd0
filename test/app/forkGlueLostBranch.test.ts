/**
 * After a lost fork the losing branch leaves the ciphertext log (lostBranch.ts): a real fork of
 * real MLS sessions (the delivery layer's in-memory network, a partition 3 | 2, as in
 * test/app/roleEditsAfterFork.test.ts), the losing member's log a real CiphertextLog on the app's
 * encrypted level store (ciphertextLogStore.ts) in a temp dir, fed with what reaches that member
 * and what it publishes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreLogStore } from '../../src-core/app/groups/ciphertextLogStore.js';
import { followLostForks } from '../../src-core/app/groups/lostBranch.js';
import { CiphertextLog, EntryKind } from '../../src-core/delivery/ciphertextLog.js';
import { EnvelopeKind, decodeEnvelope } from '../../src-core/delivery/envelope.js';
import { openStore } from '../../src-core/store/index.js';
import type { Store } from '../../src-core/store/index.js';
import { toHex } from '../support/shared.js';
import { groupOf } from '../delivery/support/groupFixture.js';
import type { Fixture, Member } from '../delivery/support/groupFixture.js';
import { testKey } from '../store/storeHarness.js';

const dirs: string[] = [];
const stores: Store[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const named = (f: Fixture, name: string): Member => f.members.find((m) => m.name === name)!;

describe('app: the ciphertext log after a lost fork', () => {
  it("drops the losing branch's commits so the winner's can be kept", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-lostbranch-'));
    dirs.push(dir);
    const store = await openStore({ path: join(dir, 'store'), keySource: testKey() });
    stores.push(store);
    const log = await CiphertextLog.open(new StoreLogStore(store));

    const f = groupOf(['alice', 'bob', 'carol', 'dave', 'erin']);
    f.run(1_500);
    const [alice, dave] = [named(f, 'alice'), named(f, 'dave')];
    const groupId = dave.session.group.groupId;
    const writes: Promise<unknown>[] = [];
    const keep = (data: Uint8Array): void => {
      const env = decodeEnvelope(data);
      if (
        env.kind !== EnvelopeKind.commit &&
        env.kind !== EnvelopeKind.proposal &&
        env.kind !== EnvelopeKind.application
      ) {
        return;
      }
      const kind =
        env.kind === EnvelopeKind.commit
          ? EntryKind.commit
          : env.kind === EnvelopeKind.proposal
            ? EntryKind.proposal
            : EntryKind.application;
      writes.push(log.append(groupId, { kind, epoch: env.epoch, message: env.mlsMessage }));
    };
    // Dave's log: what reaches him on the channel and what he publishes.
    f.net.drop = (q) => {
      if (q.to === 'dave') keep(q.data);
      return false;
    };
    dave.session.on('published', (p) => keep(p.envelope));
    const refills: bigint[] = [];
    let refilled!: () => void;
    const dropped = new Promise<void>((r) => (refilled = r));
    const off = followLostForks(
      dave.session,
      () => log,
      groupId,
      (e) => {
        refills.push(e);
        refilled();
      },
      (err) => {
        throw err;
      },
    );

    f.net.partition(['alice', 'bob', 'carol'], ['dave', 'erin']);
    alice.session.update();
    f.run(1_000);
    f.run(6_000); // the smaller side elects dave
    dave.session.update();
    f.run(1_000);
    dave.session.update();
    f.run(1_000);
    await Promise.all(writes);
    const losing = log.commitOf(groupId, 1n);
    expect(losing).toBeDefined();
    const losing2 = log.commitOf(groupId, 2n); // dave's branch went on to epoch 3
    expect(losing2).toBeDefined();
    const winning = alice.published.find((p) => p.kind === EnvelopeKind.commit)!;
    const winningCommit = decodeEnvelope(winning.envelope);
    if (winningCommit.kind !== EnvelopeKind.commit) throw new Error('not a commit');
    // Held the other branch's commit at epoch 1: the winner's is a conflict.
    const asConflict = await log.append(groupId, {
      kind: EntryKind.commit,
      epoch: 1n,
      message: winningCommit.mlsMessage,
    });
    expect(asConflict).toBe('conflict');

    f.net.heal();
    f.run(10_000);
    await Promise.all(writes);
    await dropped; // the drop's own store write, after the fork event
    expect(dave.seen.fork?.map((x) => [x.forkEpoch, x.won])).toEqual([[1n, false]]);
    expect(refills).toEqual([1n]);
    const held = log.commitOf(groupId, 1n);
    expect(held === undefined || toHex(held.messageId) !== toHex(losing!.messageId)).toBe(true);
    const held2 = log.commitOf(groupId, 2n);
    expect(held2 === undefined || toHex(held2.messageId) !== toHex(losing2!.messageId)).toBe(true);
    const outcome = await log.append(groupId, {
      kind: EntryKind.commit,
      epoch: 1n,
      message: winningCommit.mlsMessage,
    });
    expect(['added', 'duplicate', 'replaced']).toContain(outcome);
    // Reopened from the store: the losing commit is gone on disk too.
    const again = await CiphertextLog.open(new StoreLogStore(store));
    expect(toHex(again.commitOf(groupId, 1n)!.message)).toBe(toHex(winningCommit.mlsMessage));
    off();
  });
});
