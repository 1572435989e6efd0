import { describe, expect, it } from 'vitest';
import { MlsError } from '../../src-core/mls/errors.js';
import type { GroupState } from '../../src-core/mls/group/index.js';
import {
  processMessage,
  proposeUpdate,
  sendApplicationMessage,
} from '../../src-core/mls/group/index.js';
import type { Proposal } from '../../src-core/mls/proposal.js';
import { ProposalType } from '../../src-core/mls/proposal.js';
import {
  STATE_FORMAT_VERSION,
  decodeGroupState,
  decodeSnapshot,
  encodeGroupState,
  encodeSnapshot,
  listSnapshots,
} from '../../src-core/mls/storage/index.js';
import { World, expectMlsError, text, wire } from './groupHarness.js';
import { fingerprint } from './stateCodecHarness.js';

const add = (w: World, name: string): Proposal => ({
  proposalType: ProposalType.add,
  add: { keyPackage: w.keyPackage(name).keyPackage },
});

/** Alice's state after a few epochs, messages out of order, and a cached Update of her own. */
function aliceState(): { w: World; alice: GroupState } {
  const w = new World(1);
  w.create('alice');
  w.commit('alice', { proposals: ['bob', 'carol', 'dave'].map((n) => add(w, n)) }, [
    'bob',
    'carol',
    'dave',
  ]);
  w.commit('bob', { path: 'always' });
  const m = [0, 1, 2].map((i) => wire(sendApplicationMessage(w.state('carol'), text(`${i}`))));
  processMessage(w.state('alice'), m[2]!);
  processMessage(w.state('alice'), m[0]!);
  w.send('dave', 'hello');
  const update = wire(proposeUpdate(w.state('alice')).message);
  for (const n of ['bob', 'carol', 'dave']) processMessage(w.state(n), update);
  return { w, alice: w.state('alice') };
}

/** xorshift32: the same mutations on every run. */
function prng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function typedDecode(records: Map<string, Uint8Array>): GroupState | MlsError {
  try {
    return decodeGroupState(records);
  } catch (e) {
    if (e instanceof MlsError) return e;
    throw e;
  }
}

describe('stored group state: corrupted and foreign records', () => {
  const { w, alice } = aliceState();
  const records = encodeGroupState(alice);
  const keys = [...records.keys()];

  it('every record starts with the format version', () => {
    for (const v of records.values()) expect((v[0]! << 8) | v[1]!).toBe(STATE_FORMAT_VERSION);
    expect(fingerprint(decodeGroupState(records))).toEqual(fingerprint(alice));
  });

  it('an unknown format version in any record is rejected as such', () => {
    for (const key of keys) {
      const bad = new Map(records);
      const v = records.get(key)!.slice();
      v[0] = 0;
      v[1] = STATE_FORMAT_VERSION + 1;
      bad.set(key, v);
      expectMlsError(() => decodeGroupState(bad), 'unsupported_state_version');
    }
  });

  it('a missing record is state_corrupt (a proposal record aside: its absence is a valid state)', () => {
    for (const key of keys) {
      const bad = new Map(records);
      bad.delete(key);
      if (key.startsWith('proposal/')) {
        const s = decodeGroupState(bad);
        expect(s.proposals.size).toBe(alice.proposals.size - 1);
        continue;
      }
      expectMlsError(() => decodeGroupState(bad), 'state_corrupt');
    }
  });

  it('foreign keys and records of epochs the state does not hold are state_corrupt', () => {
    const someValue = records.get('tree/00000000')!;
    for (const key of [
      'trees/00000000',
      'tree/0000000g',
      'tree/000000fe',
      'epoch/zz/context',
      'epoch/0000000000000009.0011223344556677/context',
      `${keys.find((k) => k.endsWith('/context'))!.slice(0, -'context'.length)}secrets`,
      'proposal/xyz',
    ]) {
      const bad = new Map(records);
      bad.set(key, someValue);
      expectMlsError(() => decodeGroupState(bad), 'state_corrupt');
    }
  });

  it('600 random bit flips, truncations and extensions: typed errors only, and only a flipped secret bit goes unnoticed', () => {
    const random = prng(0x5eed);
    let rejected = 0;
    let accepted = 0;
    for (let i = 0; i < 600; i++) {
      const key = keys[Math.floor(random() * keys.length)]!;
      const value = records.get(key)!.slice();
      const op = Math.floor(random() * 3);
      let mutated: Uint8Array;
      if (op === 0) {
        // Flip one bit past the version (versions have their own test).
        const at = 2 + Math.floor(random() * (value.length - 2));
        value[at]! ^= 1 << Math.floor(random() * 8);
        mutated = value;
      } else if (op === 1) {
        mutated = value.subarray(0, 2 + Math.floor(random() * (value.length - 2)));
      } else {
        mutated = new Uint8Array([...value, Math.floor(random() * 256)]);
      }
      const bad = new Map(records);
      bad.set(key, mutated);
      const out = typedDecode(bad);
      if (out instanceof MlsError) {
        expect(['state_corrupt', 'unsupported_state_version']).toContain(out.code);
        rejected++;
      } else {
        // Only a flipped bit in a secret goes undetected (the store's encryption guards those).
        const structural = key.startsWith('tree/') || op !== 0;
        expect(structural, `mutation ${i} of ${key} passed`).toBe(false);
        out.destroy();
        accepted++;
      }
    }
    expect(rejected).toBeGreaterThan(400);
    expect(accepted + rejected).toBe(600);
  });

  it('a changed GroupContext, suite, status, leaf index or tree size is state_corrupt', () => {
    // The first bytes of the state record (suite, status, own leaf, leaf count, GroupContext up
    // to the group id) and of each epoch's context record (its GroupContext).
    const targets = keys.filter((k) => k === 'state' || k.endsWith('/context'));
    for (const key of targets) {
      for (let at = 2; at < 40; at++) {
        const value = records.get(key)!.slice();
        value[at]! ^= 0x01;
        const bad = new Map(records);
        bad.set(key, value);
        expectMlsError(() => decodeGroupState(bad), 'state_corrupt');
      }
    }
  });

  it('a failed snapshot decode takes no hold on the current state’s receivers', () => {
    const got = processMessage(w.state('bob'), wire(w.prepare('carol', { path: 'always' }).commit));
    if (got.kind !== 'commit') throw new Error('not a commit');
    const fork = w.state('bob');
    const current = got.staged.merge({ keepPrevious: true });
    const all = new Map([...encodeGroupState(current), ...encodeSnapshot(fork, current)]);
    const id = listSnapshots(all)[0]!;
    const treeKey = [...all.keys()].find((k) => k.startsWith('snapshot/') && k.endsWith('/tree'))!;
    const restored = decodeGroupState(all);
    const bad = new Map(all);
    bad.set(treeKey, all.get(treeKey)!.subarray(0, 5));
    expectMlsError(() => decodeSnapshot(bad, id, restored), 'state_corrupt');
    // Had the failed decode kept a hold, the fork point's receiver would outlive `restored`.
    const shared = restored.heldReceivers();
    restored.destroy();
    for (const r of shared) expect(r.live).toBe(false);
    // The intact records still decode.
    const again = decodeGroupState(all);
    expect(fingerprint(decodeSnapshot(all, id, again))).toEqual(fingerprint(fork));
  });
});
