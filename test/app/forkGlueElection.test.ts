/**
 * The election term survives a restart (electionKeep.ts, groupRecords.ts GroupMeta v2): a member
 * that claimed a term while its leader was away comes back at that term, not at term 0 where its
 * next claim would reuse a term already held. Real ParleyApp instances over loopback libp2p.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { GroupHub } from '../../src-core/app/groups/groupHub.js';
import {
  GROUP_META_NS,
  decodeGroupMeta,
  encodeGroupMeta,
} from '../../src-core/app/groups/groupRecords.js';
import type { GroupMeta } from '../../src-core/app/groups/groupRecords.js';
import { encode, struct, uint16, uint64, uint8, utf8String } from '../../src-core/codec/index.js';
import { AppError } from '../../src-core/app/errors.js';
import { PASS, befriend, cleanup, closeApp, newUser, openApp, waitFor } from './appFixture.js';

afterEach(cleanup);

const meta: GroupMeta = {
  name: 'Team',
  state: 'active',
  createdAtMs: 1_700_000_000_000,
  readThrough: 3n,
  sentSinceUpdate: 2,
  lastUpdateMs: 1_700_000_100_000,
  epoch: 7,
};

describe('group meta: the election term (version 2)', () => {
  it('round-trips the term and leader; a version 1 record reads with none', () => {
    const withElection = { ...meta, election: { term: 5n, leader: 3 } };
    expect(decodeGroupMeta(encodeGroupMeta(withElection))).toEqual(withElection);
    expect(decodeGroupMeta(encodeGroupMeta(meta)).election).toBeUndefined();
    // A record written before version 2 (the same fields, no election).
    const v1 = encode(
      struct({
        version: uint16,
        name: utf8String,
        state: uint8,
        createdAtMs: uint64,
        readThrough: uint64,
        sentSinceUpdate: uint64,
        lastUpdateMs: uint64,
        epoch: uint64,
      }),
      {
        version: 1,
        name: 'Team',
        state: 1,
        createdAtMs: 1_700_000_000_000n,
        readThrough: 3n,
        sentSinceUpdate: 2n,
        lastUpdateMs: 1_700_000_100_000n,
        epoch: 7n,
      },
    );
    expect(decodeGroupMeta(v1)).toEqual({ ...meta, election: undefined });
    // Version 1 bytes with an election appended, or an unknown version: damage, not a reset.
    const v1Extra = new Uint8Array([...v1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    expect(() => decodeGroupMeta(v1Extra)).toThrow(AppError);
    const v3 = encodeGroupMeta(withElection);
    v3[1] = 3;
    expect(() => decodeGroupMeta(v3)).toThrow(AppError);
  });
});

describe('app: election state across a restart', () => {
  it('a member that claimed a term while the leader was away restarts at that term', async () => {
    const alice = await newUser('Alice');
    const bob = await newUser('Bob');
    await befriend(alice.app, bob.app);
    const bId = (await bob.app.identity.me()).userId;
    const gid = (await alice.app.groups.create({ name: 'Team', members: [bId] })).groupId;
    await waitFor(async () => (await bob.app.groups.list()).some((g) => g.groupId === gid), 'join');
    const e = GroupHub.of(bob.app.context).active(gid);
    expect(e.session.term).toBe(0n);

    // Alice (leaf 0, the leader of term 0) goes away; Bob claims the next term.
    await closeApp(alice.app);
    await waitFor(() => e.session.term >= 1n && e.session.isLeader, 'bob claims', 20_000);
    const claimed = e.session.term;
    const leaf = e.session.leader;
    await waitFor(() => e.meta.election?.term === claimed, 'term kept in meta');
    await closeApp(bob.app);

    // Stored with the group meta, and resumed by the next session before any new claim.
    const bob2 = openApp(bob.dir);
    await bob2.profile.unlock({ passphrase: PASS });
    const stored = await GroupHub.of(bob2.context).session.store.namespace(GROUP_META_NS).get(gid);
    expect(stored).toBeDefined();
    expect(decodeGroupMeta(stored!).election).toEqual({ term: claimed, leader: leaf });
    const e2 = GroupHub.of(bob2.context).active(gid);
    expect(e2.session.term).toBe(claimed);
    expect(e2.session.leader).toBe(leaf);
  }, 40_000);
});
