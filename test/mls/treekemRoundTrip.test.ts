// TreeKEM round trips on random trees: members add, remove and commit (with and without a path)
// in random order, so trees get blank nodes and unmerged leaves. After every commit all members
// agree on the tree and the commit secret, their private keys match the tree, and the tree
// invariant of §4.2 holds: a member knows the key of every non-blank ancestor it is merged at.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cipherSuite } from '../../src-core/crypto/index.js';
import type { KeyPair } from '../../src-core/crypto/types.js';
import { PROTOCOL_VERSION_MLS10 } from '../../src-core/mls/groupContext.js';
import type { GroupContext } from '../../src-core/mls/groupContext.js';
import type { LeafNode } from '../../src-core/mls/leafNode.js';
import { LeafNodeSource, signLeafNode } from '../../src-core/mls/leafNode.js';
import {
  RatchetTree,
  applyAdd,
  applyRemove,
  resolution,
  validateRatchetTree,
} from '../../src-core/mls/ratchetTree/index.js';
import {
  PrivatePath,
  createUpdatePath,
  processUpdatePath,
} from '../../src-core/mls/treekem/index.js';
import { commonAncestor, directPath } from '../../src-core/mls/treeMath.js';
import { memberLeafContent } from '../support/populatedTree.js';
import { toHex } from '../support/shared.js';

const suite = cipherSuite(1);
const groupId = new TextEncoder().encode('treekem round trip');

interface Member {
  readonly signature: KeyPair;
  path: PrivatePath;
}

function newClient(id: number): { leaf: LeafNode; signature: KeyPair; hpke: KeyPair } {
  const signature = suite.generateSignatureKeyPair();
  const hpke = suite.generateHpkeKeyPair();
  const { parentHash: _ph, ...content } = memberLeafContent(
    suite,
    id,
    hpke.publicKey,
    signature.publicKey,
    new Uint8Array(0),
  ) as ReturnType<typeof memberLeafContent> & { parentHash: Uint8Array };
  const leaf = signLeafNode(
    suite,
    {
      ...content,
      leafNodeSource: LeafNodeSource.keyPackage,
      lifetime: { notBefore: 0n, notAfter: 2n ** 40n },
    },
    signature.privateKey,
  );
  return { leaf, signature, hpke };
}

class Group {
  tree: RatchetTree;
  readonly members = new Map<number, Member>();
  epoch = 0n;
  private ids = 0;

  constructor() {
    const c = newClient(this.ids++);
    this.tree = RatchetTree.create(suite, c.leaf);
    this.members.set(0, { signature: c.signature, path: PrivatePath.forLeaf(0, c.hpke) });
  }

  context(): Omit<GroupContext, 'treeHash'> {
    return {
      version: PROTOCOL_VERSION_MLS10,
      cipherSuite: suite.id,
      groupId,
      epoch: this.epoch + 1n,
      confirmedTranscriptHash: suite.hash.digest(new Uint8Array([Number(this.epoch % 256n)])),
      extensions: [],
    };
  }

  leaves(): number[] {
    return [...this.members.keys()].sort((a, b) => a - b);
  }

  /** One Commit by `committer`: removes, then adds, then (optionally) a path. */
  commit(committer: number, removes: readonly number[], adds: number, withPath: boolean): void {
    const diff = this.tree.stage();
    for (const r of removes) {
      applyRemove(diff, r);
      this.members.get(r)!.path.retire();
      this.members.delete(r);
    }
    const joiners: [number, { signature: KeyPair; hpke: KeyPair }][] = [];
    for (let i = 0; i < adds; i++) {
      const c = newClient(this.ids++);
      joiners.push([applyAdd(diff, c.leaf), c]);
    }
    const afterProposals = diff.commit();
    const joinerLeaves = joiners.map(([l]) => l);
    if (!withPath) {
      this.tree = afterProposals;
      for (const m of this.members.values()) m.path = m.path.consistentWith(afterProposals);
    } else {
      const c = this.members.get(committer)!;
      const ctx = this.context();
      const created = createUpdatePath({
        tree: afterProposals,
        leafIndex: committer,
        excludedLeaves: joinerLeaves,
        groupContext: ctx,
        leafNode: afterProposals.leafNode(committer)!,
        signaturePrivateKey: c.signature.privateKey,
      });
      for (const [leaf, m] of this.members) {
        if (leaf === committer) continue;
        const got = processUpdatePath({
          tree: afterProposals,
          sender: committer,
          updatePath: created.updatePath,
          excludedLeaves: joinerLeaves,
          groupContext: ctx,
          privatePath: m.path,
        });
        expect(toHex(got.commitSecret)).toBe(toHex(created.commitSecret));
        expect(toHex(got.tree.treeHash())).toBe(toHex(created.tree.treeHash()));
        m.path.retire(got.privatePath);
        m.path = got.privatePath;
      }
      c.path.retire(created.privatePath);
      c.path = created.privatePath;
      this.tree = created.tree;
      // New members learn the path secret of their common ancestor with the committer (Welcome).
      for (const [leaf, j] of joiners) {
        const lca = commonAncestor(2 * leaf, 2 * committer);
        const secret = created.pathSecrets.get(lca);
        if (secret === undefined) throw new Error(`no path secret at ${lca}`);
        const path = PrivatePath.forLeaf(leaf, j.hpke).withWelcomePathSecret(
          this.tree,
          lca,
          secret,
        );
        this.members.set(leaf, { signature: j.signature, path });
      }
    }
    if (!withPath) {
      for (const [leaf, j] of joiners) {
        this.members.set(leaf, { signature: j.signature, path: PrivatePath.forLeaf(leaf, j.hpke) });
      }
    }
    this.epoch++;
    this.check();
  }

  check(): void {
    validateRatchetTree(this.tree, { groupId, treeHash: this.tree.treeHash(), extensions: [] });
    expect(this.tree.memberCount).toBe(this.members.size);
    for (const [leaf, m] of this.members) {
      m.path.checkConsistent(this.tree);
      // The tree invariant: every non-blank ancestor we are not unmerged at, we hold the key of.
      for (const x of this.tree.leafCount === 1 ? [] : directPath(2 * leaf, this.tree.leafCount)) {
        const p = this.tree.parentNode(x);
        if (p !== undefined && !p.unmergedLeaves.includes(leaf)) {
          expect(m.path.keyPair(x), `leaf ${leaf} lacks the key of node ${x}`).toBeDefined();
        }
      }
    }
  }
}

type Step = { committer: number; removes: number[]; adds: number; withPath: boolean };

const stepArb: fc.Arbitrary<Step> = fc.record({
  committer: fc.nat(),
  removes: fc.array(fc.nat(), { maxLength: 2 }),
  adds: fc.integer({ min: 0, max: 3 }),
  withPath: fc.boolean(),
});

describe('TreeKEM round trips', () => {
  it('keep every member in agreement on random trees', () => {
    const seen = { paths: 0, unmerged: 0, blankParents: 0, maxMembers: 0 };
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 10 }), (steps) => {
        const g = new Group();
        for (const s of steps) {
          const leaves = g.leaves();
          const committer = leaves[s.committer % leaves.length]!;
          const others = leaves.filter((l) => l !== committer);
          const removes = [
            ...new Set(s.removes.map((r) => others[r % Math.max(1, others.length)])),
          ].filter((r): r is number => r !== undefined);
          // A Commit with Removes must carry a path (§12.4).
          const withPath = s.withPath || removes.length > 0;
          // What the tree looked like when this path was processed: the cases the test is for.
          if (withPath) {
            seen.paths++;
            g.tree.forEachParent((p) => (seen.unmerged += p.unmergedLeaves.length));
            for (let x = 1; x < g.tree.nodeCount; x += 2)
              if (g.tree.isBlank(x)) seen.blankParents++;
          }
          g.commit(committer, removes, s.adds, withPath);
          seen.maxMembers = Math.max(seen.maxMembers, g.members.size);
        }
      }),
      {
        numRuns: 40,
        // One sequence known to reach the interesting shapes, on top of the random ones: a path
        // fills the tree, adds without a path leave unmerged leaves, removes leave blanks.
        examples: [
          [
            [
              { committer: 0, removes: [], adds: 3, withPath: true },
              { committer: 1, removes: [], adds: 3, withPath: false },
              { committer: 2, removes: [0], adds: 1, withPath: true },
              { committer: 0, removes: [], adds: 2, withPath: false },
              { committer: 3, removes: [1, 4], adds: 0, withPath: true },
              { committer: 1, removes: [], adds: 0, withPath: true },
            ],
          ],
        ],
      },
    );
    // The runs did exercise paths over unmerged leaves and blank parents, in groups of some size.
    expect(seen.paths).toBeGreaterThan(50);
    expect(seen.unmerged).toBeGreaterThan(0);
    expect(seen.blankParents).toBeGreaterThan(0);
    expect(seen.maxMembers).toBeGreaterThan(8);
  });

  it('does not encrypt to members added by the same Commit', () => {
    const g = new Group();
    g.commit(0, [], 3, true); // members 0-3, all merged
    g.commit(2, [], 0, true);
    // Add three at once and commit with a path from 0: leaves 4, 5, 6 are new.
    const diff = g.tree.stage();
    const clients = [newClient(100), newClient(101), newClient(102)];
    const joinerLeaves = clients.map((c) => applyAdd(diff, c.leaf));
    expect(joinerLeaves).toEqual([4, 5, 6]);
    const afterProposals = diff.commit();
    const created = createUpdatePath({
      tree: afterProposals,
      leafIndex: 0,
      excludedLeaves: joinerLeaves,
      groupContext: g.context(),
      leafNode: afterProposals.leafNode(0)!,
      signaturePrivateKey: g.members.get(0)!.signature.privateKey,
    });
    // The root's copath child is node 11 (leaves 4-7): its resolution is the joiners alone.
    const top = created.updatePath.nodes[created.updatePath.nodes.length - 1]!;
    expect(resolution(afterProposals, 11)).toEqual([8, 10, 12]);
    expect(top.encryptedPathSecret).toHaveLength(0);
    // No ciphertext anywhere in the path opens with a joiner's key.
    const ctx = new Uint8Array(0);
    for (const node of created.updatePath.nodes) {
      for (const ct of node.encryptedPathSecret) {
        for (const c of clients) {
          expect(() =>
            suite.decryptWithLabel(
              c.hpke.privateKey,
              'UpdatePathNode',
              ctx,
              ct.kemOutput,
              ct.ciphertext,
            ),
          ).toThrow();
        }
      }
    }
    // A joiner cannot process the Commit: it joins by the Welcome.
    expect(() =>
      processUpdatePath({
        tree: afterProposals,
        sender: 0,
        updatePath: created.updatePath,
        excludedLeaves: joinerLeaves,
        groupContext: g.context(),
        privatePath: PrivatePath.forLeaf(4, clients[0]!.hpke),
      }),
    ).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
  });

  it('retire wipes the keys a new state no longer holds and keeps the shared ones', () => {
    const g = new Group();
    g.commit(0, [], 3, true);
    g.commit(2, [], 0, true); // sets node 5 (over leaves 2, 3) and the root
    const before = g.members.get(3)!.path;
    const oldKeys = before.nodes().map((x) => [x, before.keyPair(x)!.privateKey] as const);
    g.commit(0, [], 0, true); // replaces the keys on 0's path, among them the root's
    const after = g.members.get(3)!.path;
    // Member 3 held its leaf (6), node 5 and the root 3; the commit from 0 replaced the root.
    expect(oldKeys.map(([x]) => x)).toEqual([6, 5, 3]);
    for (const [x, key] of oldKeys) {
      const kept = after.keyPair(x)?.privateKey === key;
      expect(kept).toBe(x !== 3);
      expect(key.every((b) => b === 0)).toBe(!kept);
    }
  });
});
