/**
 * A stored group followed through a deterministic pseudo-random run of messages, path commits,
 * adds and removes, saved after every step: at the end the database holds exactly the records
 * of the live state (no leftovers from deleted epochs or proposals), and the state loaded from
 * it is the live state, secrets included.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ProposalType } from '../../src-core/mls/proposal.js';
import { encodeGroupState } from '../../src-core/mls/storage/index.js';
import { openStore } from '../../src-core/store/index.js';
import { processMessage, proposeUpdate } from '../../src-core/mls/group/index.js';
import { World, wire } from '../mls/groupHarness.js';
import { fingerprint } from '../mls/stateCodecHarness.js';
import { removeTempDirs, tempDir, testKey } from './storeHarness.js';

afterAll(removeTempDirs);

/** A small deterministic generator (xorshift32), so the run is the same every time. */
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

describe('a stored group over many epochs', () => {
  it('holds exactly the live state after 40 mixed steps, and loads back identical', async () => {
    const world = new World(1);
    world.create('a');
    const first = ['b', 'c', 'd', 'e'];
    world.commit(
      'a',
      {
        proposals: first.map((n) => ({
          proposalType: ProposalType.add,
          add: { keyPackage: world.keyPackage(n).keyPackage },
        })),
      },
      first,
    );
    const path = await tempDir();
    const store = await openStore({ path, keySource: testKey() });
    const groupId = world.state('a').groupContext.groupId;
    const tx0 = store.transaction();
    const stored = await store.groups.create(tx0, groupId, world.state('a'));
    await tx0.commit();

    const pick = rng(0x5eed);
    let fresh = 0;
    const kinds = new Map<string, number>();
    for (let step = 0; step < 40; step++) {
      const members = [...world.states.keys()];
      const someone = members[pick(members.length)]!;
      const roll = pick(10);
      let kind: string;
      if (roll < 4) {
        world.send(someone, `step ${step}`);
        kind = 'message';
      } else if (roll < 6) {
        world.commit(someone, { path: 'always' });
        kind = 'update';
      } else if (roll < 8 || members.length < 3) {
        const name = `n${fresh++}`;
        world.commit(
          someone,
          {
            proposals: [
              {
                proposalType: ProposalType.add,
                add: { keyPackage: world.keyPackage(name).keyPackage },
              },
            ],
          },
          [name],
        );
        kind = 'add';
      } else if (roll < 9) {
        const others = members.filter((m) => m !== 'a' && m !== someone);
        const victim = others[pick(others.length)]!;
        world.commit(someone, {
          proposals: [
            { proposalType: ProposalType.remove, remove: { removed: world.leafOf(victim) } },
          ],
        });
        kind = 'remove';
      } else {
        // A proposal is cached by everyone (a stored record) until a commit by another member
        // takes it (messages wait for that commit, §12.4).
        const bytes = wire(proposeUpdate(world.state(someone)).message);
        for (const [name, state] of world.states) {
          if (name !== someone) expect(processMessage(state, bytes).kind).toBe('proposal');
        }
        await store.write((tx) => void stored.save(tx, world.state('a')));
        world.commit(
          members.find((m) => m !== someone)!,
          {},
        );
        kind = 'proposal';
      }
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      await store.write((tx) => void stored.save(tx, world.state('a')));
    }
    expect([...kinds.keys()].sort()).toEqual(['add', 'message', 'proposal', 'remove', 'update']);
    await store.close();

    const again = await openStore({ path, keySource: testKey() });
    const loaded = await again.groups.load(groupId);
    const live = world.state('a');
    expect(fingerprint(loaded.state)).toEqual(fingerprint(live));
    // No leftovers: the records on disk are exactly a full encoding of the state.
    const full = encodeGroupState(loaded.state);
    expect(loaded.recordCount).toBe(full.size);
    expect((await again.groups.recordNames(groupId)).sort()).toEqual([...full.keys()].sort());
    await again.close();
  });
});
