import { describe, expect, it } from 'vitest';
import { cipherSuite } from '../../src-core/crypto/index.js';
import type { CipherSuite } from '../../src-core/crypto/types.js';
import type { Group, GroupEvent, PendingCommit } from '../../src-core/mls/client/index.js';
import { MlsClient, groupInfoFor, rejoinGroup } from '../../src-core/mls/client/index.js';
import { SenderType } from '../../src-core/mls/framing/sender.js';
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

/** A group of alice (creator), bob, carol, dave at epoch 1. */
function fourMembers(suite: CipherSuite): { clients: MlsClient[]; groups: Group[] } {
  const clients = ['alice', 'bob', 'carol', 'dave'].map((n) => client(suite, n));
  const a = clients[0]!.createGroup();
  const kps = clients.slice(1).map((c) => c.createKeyPackages({ count: 1 }).oneTime[0]!.message);
  const out = a.add(kps);
  a.merge(out.pending);
  const others = clients.slice(1).map((c) => c.joinGroup(out.welcome!));
  return { clients, groups: [a, ...others] };
}

/** `by` commits an update; `followers` process and merge it. */
function advance(by: Group, followers: readonly Group[]): void {
  const out = by.update();
  for (const g of followers) g.merge(pendingOf(g.process(out.commit)));
  by.merge(out.pending);
}

describe('rejoin by external commit (resync) through the client API', () => {
  const suite = cipherSuite(1);

  it('a member left behind rejoins from a GroupInfo, keeps its key, and everyone converges', () => {
    const { groups } = fourMembers(suite);
    const [a, b, c, d] = groups as [Group, Group, Group, Group];
    const carolKey = toHex(c.members().find((m) => m.leafIndex === c.ownLeaf)!.signatureKey);
    // Carol misses three epochs (her state stays at epoch 1).
    advance(a, [b, d]);
    advance(b, [a, d]);
    advance(d, [a, b]);
    expect(a.epoch).toBe(4n);
    expect(c.epoch).toBe(1n);

    const gi = groupInfoFor(b);
    const out = rejoinGroup(c, gi);
    expect(out.pending.commitEpoch).toBe(4n);
    expect(out.pending.epoch).toBe(5n);
    expect(out.pending.removed).toBe(2);
    expect(out.pending.ownLeaf).toBe(2); // the leftmost blank leaf is the one just freed
    expect(out.pending.memberBefore(1)?.signatureKey).toEqual(b.members()[1]!.signatureKey);
    expect(c.epoch).toBe(1n); // nothing adopted before the merge

    for (const g of [a, b, d]) {
      const p = pendingOf(g.process(out.commit));
      expect(p.committer.senderType).toBe(SenderType.newMemberCommit);
      expect(p.removed).toEqual([2]);
      expect(toHex(p.joiner!.signatureKey)).toBe(carolKey);
      expect(p.joiner!.leafIndex).toBe(2);
      g.merge(p);
    }
    const carol = out.pending.merge();
    c.destroy();
    expect(carol.epoch).toBe(5n);
    expect(toHex(carol.state.groupContext.treeHash)).toBe(toHex(out.pending.treeHash));
    for (const g of [a, b, d]) {
      expect(toHex(g.epochAuthenticator())).toBe(toHex(carol.epochAuthenticator()));
      expect(toHex(g.state.groupContext.treeHash)).toBe(toHex(carol.state.groupContext.treeHash));
    }
    const hi = carol.send(text('back'));
    for (const g of [a, b, d]) {
      const e = g.process(hi);
      if (e.kind !== 'application') throw new Error('not application data');
      expect(untext(e.data)).toBe('back');
    }
    // A member's own commit says no joiner.
    const upd = a.update();
    expect(upd.pending.joiner).toBeUndefined();
    a.discard(upd.pending);
  });

  it('refuses a GroupInfo of another group, one signed by a stranger, and one after our removal', () => {
    const { clients, groups } = fourMembers(suite);
    const [a, b, c, d] = groups as [Group, Group, Group, Group];
    // Another group with a member of the same name: its GroupInfo is not ours.
    const other = clients[0]!.createGroup();
    expectMlsError(() => rejoinGroup(c, groupInfoFor(other)), 'wrong_group');
    // A GroupInfo that a newcomer signs (unknown to carol's state) is not believed by default.
    const erin = client(suite, 'erin');
    const added = a.add([erin.createKeyPackages({ count: 1 }).oneTime[0]!.message]);
    for (const g of [b, d]) g.merge(pendingOf(g.process(added.commit)));
    a.merge(added.pending);
    const e = erin.joinGroup(added.welcome!);
    expectMlsError(() => rejoinGroup(c, groupInfoFor(e)), 'untrusted_signer');
    // ... unless the caller says otherwise.
    const ok = rejoinGroup(c, groupInfoFor(e), { acceptSigner: () => true });
    ok.pending.discard();
    expectMlsError(() => ok.pending.merge(), 'staged_commit_consumed');
    // Removed meanwhile: no leaf of ours to resync.
    const rm = a.remove([c.ownLeaf]);
    for (const g of [b, d, e]) g.merge(pendingOf(g.process(rm.commit)));
    a.merge(rm.pending);
    expectMlsError(() => rejoinGroup(c, groupInfoFor(b)), 'own_leaf_not_found');
    // Not a GroupInfo at all.
    expectMlsError(() => rejoinGroup(c, a.send(text('x'))), 'invalid_wire_format');
  });
});
