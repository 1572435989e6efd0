import { describe, expect, it } from 'vitest';
import { cipherSuite } from '../../src-core/crypto/index.js';
import type { CipherSuite } from '../../src-core/crypto/types.js';
import type { Group, GroupEvent, PendingCommit } from '../../src-core/mls/client/index.js';
import { Group as GroupHandle, MlsClient } from '../../src-core/mls/client/index.js';
import { ProposalType } from '../../src-core/mls/proposal.js';
import { decodeGroupState, encodeGroupState } from '../../src-core/mls/storage/index.js';
import { toHex } from '../support/shared.js';
import { basicCredential, expectMlsError, text, untext } from './groupHarness.js';

function client(suite: CipherSuite, name: string): MlsClient {
  return new MlsClient({
    suite,
    credential: basicCredential(name),
    signatureKeyPair: suite.generateSignatureKeyPair(),
  });
}

function pendingOf(e: GroupEvent): PendingCommit {
  if (e.kind !== 'commit') throw new Error(`expected a commit, got ${e.kind}`);
  return e.commit;
}

function read(g: Group, bytes: Uint8Array): { from: string; text: string } {
  const e = g.process(bytes);
  if (e.kind !== 'application') throw new Error(`expected application data, got ${e.kind}`);
  const c = e.sender.credential;
  return { from: 'identity' in c ? untext(c.identity) : '?', text: untext(e.data) };
}

/** Everyone but the committer processes and merges; the committer merges its own. */
function settle(by: Group, out: { commit: Uint8Array; pending: PendingCommit }, others: Group[]) {
  const auth = toHex(out.pending.epochAuthenticator());
  for (const g of others) {
    const p = pendingOf(g.process(out.commit));
    expect(toHex(p.epochAuthenticator())).toBe(auth);
    g.merge(p);
  }
  by.merge(out.pending);
}

describe('MlsClient and Group: three clients end to end', () => {
  const suite = cipherSuite(1);

  it('key packages, create, add, join, send, update, competing commits, remove, leave', () => {
    const alice = client(suite, 'alice');
    const bob = client(suite, 'bob');
    const carol = client(suite, 'carol');
    const bobKps = bob.createKeyPackages({ count: 2 });
    const carolKps = carol.createKeyPackages({ count: 1, lastResort: false });
    expect(bob.keyPackageList()).toHaveLength(3);
    expect(bobKps.lastResort?.lastResort).toBe(true);
    expect(carolKps.lastResort).toBeUndefined();

    const a = alice.createGroup();
    const added = a.add([bobKps.oneTime[0]!.message, carolKps.oneTime[0]!.keyPackage]);
    expect(added.pending.added.map((m) => m.leafIndex)).toEqual([1, 2]);
    expect(a.epoch).toBe(0n); // nothing changes before the merge
    a.merge(added.pending);
    const b = bob.joinGroup(added.welcome!);
    const c = carol.joinGroup(added.welcome!);
    // The one-time KeyPackages are gone, with their keys; the Welcome cannot be used again.
    expect(bob.takeConsumedKeyPackages().map(toHex)).toEqual([toHex(bobKps.oneTime[0]!.ref)]);
    expect(bob.takeConsumedKeyPackages()).toEqual([]);
    expect(bob.keyPackageList()).toHaveLength(2);
    expectMlsError(() => bob.joinGroup(added.welcome!), 'no_matching_key_package');
    expect(carol.keyPackageList()).toHaveLength(0);

    for (const g of [a, b, c]) expect(g.members().length).toBe(3);
    expect(toHex(b.epochAuthenticator())).toBe(toHex(a.epochAuthenticator()));
    expect(toHex(c.export('app', text('ctx'), 32))).toBe(toHex(a.export('app', text('ctx'), 32)));
    const hi = a.send(text('hello'));
    expect(read(b, hi)).toEqual({ from: 'alice', text: 'hello' });
    expect(read(c, hi)).toEqual({ from: 'alice', text: 'hello' });

    // Bob updates his keys.
    const bobLeafKey = toHex(b.members()[1]!.signatureKey);
    settle(b, b.update(), [a, c]);
    expect(a.epoch).toBe(2n);
    expect(toHex(a.members()[1]!.signatureKey)).toBe(bobLeafKey);

    // A message sent before a commit, read after it: the past epoch still decrypts.
    const late = b.send(text('sent in epoch 2'));
    // Alice and Carol commit in the same epoch; the sequencer orders Carol's.
    const fromAlice = a.commit({ path: 'always' });
    const fromCarol = c.update();
    const bobSees = [
      pendingOf(b.process(fromAlice.commit)),
      pendingOf(b.process(fromCarol.commit)),
    ];
    a.discard(fromAlice.pending);
    const aliceSees = pendingOf(a.process(fromCarol.commit));
    a.merge(aliceSees);
    c.merge(fromCarol.pending);
    b.merge(bobSees[1]!); // the other pending commit is dropped with the merge
    expectMlsError(() => b.merge(bobSees[0]!), 'staged_commit_consumed');
    expect(toHex(b.epochAuthenticator())).toBe(toHex(a.epochAuthenticator()));
    expect(read(a, late)).toEqual({ from: 'bob', text: 'sent in epoch 2' });

    // Alice removes Carol; Carol learns it from the commit.
    const removal = a.remove([c.ownLeaf]);
    const carolSees = pendingOf(c.process(removal.commit));
    expect(carolSees.removesUs).toBe(true);
    c.merge(carolSees);
    expect(c.isActive).toBe(false);
    settle(a, removal, [b]);
    expect(a.members().map((m) => m.leafIndex)).toEqual([0, 1]);

    // Bob leaves: a Remove of himself, committed by Alice.
    const leaving = b.leave();
    const proposal = a.process(leaving.message);
    expect(proposal.kind === 'proposal' && proposal.proposal.proposalType).toBe(
      ProposalType.remove,
    );
    const commit = a.commit();
    const bobGone = pendingOf(b.process(commit.commit));
    expect(bobGone.removesUs).toBe(true);
    b.merge(bobGone);
    a.merge(commit.pending);
    expect(b.isActive).toBe(false);
    expect(a.members().map((m) => m.leafIndex)).toEqual([0]);
  });

  it('a last-resort KeyPackage survives its uses; expired ones are pruned with their keys', () => {
    const alice = client(suite, 'alice');
    const bob = client(suite, 'bob');
    const { lastResort } = bob.createKeyPackages({ count: 0 });
    for (let i = 0; i < 2; i++) {
      const g = alice.createGroup();
      const out = g.add([lastResort!.message]);
      g.merge(out.pending);
      const joined = bob.joinGroup(out.welcome!);
      expect(read(joined, g.send(text(`group ${i}`))).text).toBe(`group ${i}`);
    }
    expect(bob.takeConsumedKeyPackages()).toEqual([]);
    expect(bob.keyPackageList().map((k) => toHex(k.ref))).toEqual([toHex(lastResort!.ref)]);

    const old = bob.createKeyPackages({ count: 3, lastResort: false, now: 1000n, validFor: 10n });
    expect(bob.keyPackageList()).toHaveLength(4);
    expect(bob.pruneExpiredKeyPackages(1011n)).toBe(3);
    expect(bob.keyPackageList()).toHaveLength(1);
    // A Welcome for a pruned KeyPackage finds nothing to open it with.
    const g = alice.createGroup({ config: { now: () => 1005n } });
    const out = g.add([old.oneTime[0]!.message]);
    expectMlsError(() => bob.joinGroup(out.welcome!), 'no_matching_key_package');
  });

  it('a group handle continues from a stored and decoded state; bad input leaves it as it was', () => {
    const alice = client(suite, 'alice');
    const bob = client(suite, 'bob');
    const a = alice.createGroup();
    const out = a.add([bob.createKeyPackages({ count: 1 }).oneTime[0]!.message]);
    a.merge(out.pending);
    const b = bob.joinGroup(out.welcome!);

    const restored = new GroupHandle(decodeGroupState(encodeGroupState(a.state)));
    expect(read(b, restored.send(text('from disk'))).text).toBe('from disk');
    const upd = b.update();
    restored.merge(pendingOf(restored.process(upd.commit)));
    b.merge(upd.pending);
    expect(toHex(restored.epochAuthenticator())).toBe(toHex(b.epochAuthenticator()));

    const before = toHex(restored.epochAuthenticator());
    expectMlsError(() => restored.process(new Uint8Array([0, 1, 0, 2, 9])), 'decode_failed');
    // Our own message comes back: its key was consumed when we sent it.
    expectMlsError(() => restored.process(restored.send(text('own'))), 'key_already_used');
    expectMlsError(() => restored.add([new Uint8Array([0, 1, 0, 5, 0])]), 'decode_failed');
    expect(toHex(restored.epochAuthenticator())).toBe(before);
    expect(read(b, restored.send(text('still fine'))).text).toBe('still fine');
  });

  it('merge({ keepPrevious }) hands back the fork point as its own group', () => {
    const alice = client(suite, 'alice');
    const bob = client(suite, 'bob');
    const a = alice.createGroup();
    const out = a.add([bob.createKeyPackages({ count: 1 }).oneTime[0]!.message]);
    a.merge(out.pending);
    const b = bob.joinGroup(out.welcome!);
    const fromBob = b.update();
    const fork = a.merge(pendingOf(a.process(fromBob.commit)), { keepPrevious: true })!;
    b.merge(fromBob.pending);
    expect(fork.epoch).toBe(1n);
    expect(a.epoch).toBe(2n);
    expect(read(a, b.send(text('epoch 2'))).text).toBe('epoch 2');
    fork.destroy();
    expectMlsError(() => fork.send(text('x')), 'state_superseded');
  });
});
