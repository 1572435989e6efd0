import { describe, expect, it } from 'vitest';
import type { GroupState } from '../../src-core/mls/group/index.js';
import {
  createCommit,
  createGroup,
  joinFromWelcome,
  processMessage,
  sendApplicationMessage,
} from '../../src-core/mls/group/index.js';
import { ProposalType } from '../../src-core/mls/proposal.js';
import {
  decodeGroupState,
  decodeSnapshot,
  encodeGroupState,
  encodeSnapshot,
  listSnapshots,
} from '../../src-core/mls/storage/index.js';
import { World, keyPackageFor, newClient, text, wire } from './groupHarness.js';
import { toHex } from '../support/shared.js';
import { RecordStore, fingerprint, recordBytes } from './stateCodecHarness.js';

const N = 1000;

function staged(state: GroupState, bytes: Uint8Array) {
  const got = processMessage(state, bytes);
  if (got.kind !== 'commit') throw new Error(`read a ${got.kind}`);
  return got.staged;
}

describe(`stored group state at ${N} members`, () => {
  it('a path commit rewrites O(log n) tree records; a kept snapshot costs a few KB', () => {
    const suite = new World(1).suite;
    const alice0 = newClient(suite, 'alice');
    const creator = createGroup({
      suite,
      credential: alice0.credential,
      signatureKeyPair: alice0.signature,
    });
    const others = Array.from({ length: N - 1 }, (_, i) => newClient(suite, `m${i + 1}`));
    const bundles = others.map((c) => keyPackageFor(suite, c));
    const adds = createCommit(creator, {
      proposals: bundles.map((b) => ({
        proposalType: ProposalType.add,
        add: { keyPackage: b.keyPackage },
      })),
    });
    let alice = adds.staged.merge();
    const joiner = 500;
    let member = joinFromWelcome({
      welcome: wire(adds.welcome!),
      keyPackages: [bundles[joiner - 1]!],
    });
    expect(alice.memberCount).toBe(N);
    expect(member.ownLeaf).toBe(joiner);

    const aliceStore = new RecordStore(alice);
    const memberStore = new RecordStore(member);
    const full = recordBytes(aliceStore.records);
    const fullRecords = aliceStore.records.size;

    // A message received: one leaf record (its first use adds the frontier above it).
    processMessage(alice, wire(sendApplicationMessage(member, text('hi'))));
    const onMessage = aliceStore.sync(alice);
    expect(onMessage.put.size).toBeLessThanOrEqual(1 + Math.ceil(Math.log2(N)));
    // The next one from the same sender: just its leaf record.
    processMessage(alice, wire(sendApplicationMessage(member, text('again'))));
    const onNext = aliceStore.sync(alice);
    expect([...onNext.put.keys()]).toEqual([expect.stringMatching(/\/leaf\/000001f4$/)]);
    expect(onNext.del).toEqual([]);
    memberStore.sync(member);

    // Alice commits with a path; both sides write only the changed nodes.
    const c1 = createCommit(alice, { path: 'always' });
    const other = staged(member, wire(c1.commit));
    const aliceBefore = alice;
    alice = c1.staged.merge({ keepPrevious: true });
    member = other.merge();
    const committer = aliceStore.sync(alice);
    const receiver = memberStore.sync(member);
    const bound = 2 * Math.ceil(Math.log2(N)) + 4;
    const treePuts = (keys: Iterable<string>): number =>
      [...keys].filter((k) => k.startsWith('tree/')).length;
    const treeDels = (keys: readonly string[]): number =>
      keys.filter((k) => k.startsWith('tree/')).length;
    for (const changes of [committer, receiver]) {
      const touched = treePuts(changes.put.keys()) + treeDels(changes.del);
      expect(touched).toBeGreaterThan(0);
      expect(touched).toBeLessThanOrEqual(bound);
    }
    const commitBytes = recordBytes(committer.put);

    // The member commits back (its own direct path), seen from Alice's side.
    const c2 = createCommit(member, { path: 'always' });
    const fromMember = staged(alice, wire(c2.commit));
    const memberNow = c2.staged.merge();
    const forkPoint = alice;
    alice = fromMember.merge({ keepPrevious: true });
    const second = aliceStore.sync(alice);
    expect(toHex(memberNow.epochAuthenticator())).toBe(toHex(alice.epochAuthenticator()));
    expect(treePuts(second.put.keys()) + treeDels(second.del)).toBeLessThanOrEqual(bound);

    // The store still decodes to the live state, and the fork point next to it.
    const snapshot = encodeSnapshot(forkPoint, alice);
    const snapshotBytes = recordBytes(snapshot);
    for (const [k, v] of snapshot) aliceStore.records.set(k, v);
    const restored = decodeGroupState(aliceStore.records);
    expect(fingerprint(restored)).toEqual(fingerprint(alice));
    const id = listSnapshots(aliceStore.records)[0]!;
    expect(fingerprint(decodeSnapshot(aliceStore.records, id, restored))).toEqual(
      fingerprint(forkPoint),
    );
    const fullAfter = recordBytes(encodeGroupState(alice));
    // The fork point costs a small fraction of a full state.
    expect(snapshotBytes).toBeLessThan(fullAfter / 20);
    aliceBefore.destroy();

    // Once every kept epoch is a 1,000-member one (with messages in it): one more commit, and the
    // fork point again holds one receiver the current state has dropped (the window is 2).
    const c3 = createCommit(memberNow, { path: 'always' });
    const third = staged(alice, wire(c3.commit));
    c3.staged.merge();
    forkPoint.destroy();
    const forkPoint2 = alice;
    alice = third.merge({ keepPrevious: true });
    aliceStore.sync(alice);
    const snapshot2 = encodeSnapshot(forkPoint2, alice);
    const snapshot2Bytes = recordBytes(snapshot2);
    for (const k of [...aliceStore.records.keys()]) {
      if (k.startsWith('snapshot/')) aliceStore.records.delete(k);
    }
    for (const [k, v] of snapshot2) aliceStore.records.set(k, v);
    const restored2 = decodeGroupState(aliceStore.records);
    const id2 = listSnapshots(aliceStore.records)[0]!;
    expect(fingerprint(decodeSnapshot(aliceStore.records, id2, restored2))).toEqual(
      fingerprint(forkPoint2),
    );
    expect(snapshot2Bytes).toBeLessThan(fullAfter / 20);

    console.info(
      `state codec at ${N} members: full state ${fullRecords} records / ${full} B ` +
        `(after two commits ${fullAfter} B); first message from a sender: ${onMessage.put.size} records, next: ` +
        `${onNext.put.size} (${recordBytes(onNext.put)} B); ` +
        `path commit: committer ${treePuts(committer.put.keys())} tree puts + ` +
        `${treeDels(committer.del)} tree dels, ${committer.put.size} puts / ${commitBytes} B in all, ` +
        `receiver ${treePuts(receiver.put.keys())} + ${treeDels(receiver.del)}, second commit ` +
        `${treePuts(second.put.keys())} + ${treeDels(second.del)} (bound ${bound}); ` +
        `snapshot after one commit ${snapshot.size} records / ${snapshotBytes} B, ` +
        `one commit later ${snapshot2.size} records / ${snapshot2Bytes} B`,
    );
  }, 120_000);
});
