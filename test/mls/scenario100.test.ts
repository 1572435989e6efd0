/**
 * The scenario: a group grows from 1 to 100 members by adds, with removes, updates, PSKs,
 * external joins and a ReInit along the way. After every step every member agrees on the epoch,
 * the tree hash and the epoch authenticator; application messages sent by several members are read
 * by every current member and by no removed one (test/support/bigGroup.ts holds those checks).
 *
 * Committers vary (never leaf 0 twice in a row), Adds come in batches of 1 to 30, Removes hit
 * random members and the committer's neighbours, Updates and Adds and Removes also come by
 * reference from members who do not commit, handshakes go as PublicMessages from even-numbered
 * members and PrivateMessages from odd ones. The run is seeded; SEED replays it.
 */
import { describe, expect, it } from 'vitest';
import { cipherSuite } from '../../src-core/crypto/index.js';
import type { Proposal } from '../../src-core/mls/proposal.js';
import { ProposalType } from '../../src-core/mls/proposal.js';
import { PSKType, ResumptionPSKUsage } from '../../src-core/mls/psk.js';
import type {
  CommitOptions,
  GroupState,
  KeyPackageBundle,
} from '../../src-core/mls/group/index.js';
import {
  commitReInit,
  createExternalCommit,
  createGroupInfo,
  createKeyPackage,
  createReInitGroup,
  joinReInitGroup,
  leaveGroup,
  processMessage,
  proposeAdd,
  proposeRemove,
  proposeUpdate,
  sendApplicationMessage,
} from '../../src-core/mls/group/index.js';
import { encodeMlsMessage } from '../../src-core/mls/framing/mlsMessage.js';
import { BigGroup, seededRandom } from '../support/bigGroup.js';
import { toHex } from '../support/shared.js';
import { expectMlsError, text, untext } from './groupHarness.js';

const SEED = 0x5eed100;

describe('a group from 1 to 100 members', () => {
  it('adds, removes, updates, PSKs, external joins and a ReInit: agreement at every step, removed members read nothing', () => {
    const pskId = text('scenario external psk');
    const g = new BigGroup(
      seededRandom(SEED),
      new Map([[toHex(pskId), new Uint8Array(32).fill(0x42)]]),
    );
    const suite = g.suite;
    const committers: number[] = [];

    const externalPsk = (): Proposal => ({
      proposalType: ProposalType.psk,
      psk: { psk: { pskType: PSKType.external, pskId, pskNonce: suite.randomBytes(32) } },
    });
    const removeOf = (name: string): Proposal => ({
      proposalType: ProposalType.remove,
      remove: { removed: g.state(name).ownLeaf },
    });
    /** `by` commits `n` new members plus `extra` proposals; returns the new names. */
    const addBatch = (by: string, n: number, options: CommitOptions = {}): string[] => {
      const joiners = new Map<string, KeyPackageBundle>();
      for (let i = 0; i < n; i++) {
        const name = g.newName();
        joiners.set(name, g.keyPackage(name));
      }
      const adds: Proposal[] = [...joiners.values()].map((b) => ({
        proposalType: ProposalType.add,
        add: { keyPackage: b.keyPackage },
      }));
      commit(by, { ...options, proposals: [...(options.proposals ?? []), ...adds] }, joiners);
      return [...joiners.keys()];
    };
    const commit = (
      by: string,
      options: CommitOptions,
      joiners?: ReadonlyMap<string, KeyPackageBundle>,
    ) => {
      committers.push(g.state(by).ownLeaf);
      return g.commit(by, options, joiners);
    };
    /** After each step: the committer, the newest joiner and one random member talk. */
    const talk = (label: string, ...names: (string | undefined)[]) => {
      const senders = [
        ...new Set(names.filter((n): n is string => n !== undefined && g.members.has(n))),
      ];
      senders.push(...g.pick(1, senders));
      g.chatter(senders, label);
    };
    const neighbours = (name: string): string[] => {
      const leaf = g.state(name).ownLeaf;
      return [g.atLeaf(leaf - 1), g.atLeaf(leaf + 1)].filter((n): n is string => n !== undefined);
    };

    // 1–3. Growth by Adds from varied committers, one with a path.
    const founder = g.create();
    const [m1] = addBatch(founder, 1);
    talk('step 1', founder, m1);
    const batch2 = addBatch(m1!, 3, { path: 'always' });
    talk('step 2', m1, batch2.at(-1));
    let by = g.pick(1, [founder])[0]!;
    const batch3 = addBatch(by, 7);
    talk('step 3', by, batch3.at(-1));
    expect(g.members.size).toBe(12);

    // 4. Adds by reference: a member proposes five, another commits them.
    const [proposer, committer4] = g.pick(2);
    const joiners4 = new Map<string, KeyPackageBundle>();
    for (let i = 0; i < 5; i++) {
      const name = g.newName();
      const bundle = g.keyPackage(name);
      joiners4.set(name, bundle);
      g.broadcastProposal(proposer!, proposeAdd(g.state(proposer!), bundle.keyPackage).message);
    }
    commit(committer4!, {}, joiners4);
    talk('step 4', committer4, [...joiners4.keys()].at(-1));
    expect(g.members.size).toBe(17);

    // 5. Updates by reference from three members; a fourth commits with a path.
    const updaters = g.pick(3);
    const keysBefore = updaters.map((n) => toHex(g.state(n).ownLeafNode.encryptionKey));
    for (const n of updaters) g.broadcastProposal(n, proposeUpdate(g.state(n)).message);
    by = g.pick(1, updaters)[0]!;
    const staged5 = commit(by, { path: 'always' });
    expect([...staged5.values()][0]!.updated.length).toBe(3);
    updaters.forEach((n, i) =>
      expect(toHex(g.state(n).ownLeafNode.encryptionKey)).not.toBe(keysBefore[i]),
    );
    talk('step 5', by, ...updaters);

    // 6. The committer removes both its neighbours.
    by = g.pick(1, [founder])[0]!;
    const near = neighbours(by);
    expect(near.length).toBeGreaterThan(0);
    commit(by, { proposals: near.map(removeOf) });
    talk('step 6', by);

    // 7–8. A batch of twelve, then an external PSK with four more.
    by = g.pick(1)[0]!;
    talk('step 7', by, addBatch(by, 12).at(-1));
    by = g.pick(1)[0]!;
    const withPsk = addBatch(by, 4, { proposals: [externalPsk()] });
    talk('step 8', by, withPsk.at(-1));

    // 9. An outsider joins by external commit, from a GroupInfo a member published.
    const outsider = externalJoin(g, g.pick(1)[0]!);
    talk('step 9', outsider);

    // 10–11. Three random members removed while eight join; then a path-only commit.
    by = g.pick(1)[0]!;
    const victims = g.pick(3, [by]);
    talk('step 10', by, addBatch(by, 8, { proposals: victims.map(removeOf) }).at(-1));
    by = g.pick(1)[0]!;
    commit(by, { path: 'always' });
    talk('step 11', by);

    // 12. A resumption PSK of the current epoch (every member holds it; a joiner could not, so
    //     no Adds here), then twenty Adds.
    by = g.pick(1)[0]!;
    const resumption: Proposal = {
      proposalType: ProposalType.psk,
      psk: {
        psk: {
          pskType: PSKType.resumption,
          usage: ResumptionPSKUsage.application,
          pskGroupId: g.state(by).groupId,
          pskEpoch: g.epoch,
          pskNonce: suite.randomBytes(32),
        },
      },
    };
    commit(by, { proposals: [resumption] });
    by = g.pick(1)[0]!;
    talk('step 12', by, addBatch(by, 20).at(-1));

    // 13. A member leaves (proposes its own removal); another commits it.
    const leaver = g.pick(1)[0]!;
    g.broadcastProposal(leaver, leaveGroup(g.state(leaver)).message);
    by = g.pick(1, [leaver])[0]!;
    commit(by, {});
    expect(g.members.has(leaver)).toBe(false);
    talk('step 13', by);

    // 14. Two members propose Removes of others; a third commits both.
    const [p1, p2, t1, t2] = g.pick(4);
    g.broadcastProposal(p1!, proposeRemove(g.state(p1!), g.state(t1!).ownLeaf).message);
    g.broadcastProposal(p2!, proposeRemove(g.state(p2!), g.state(t2!).ownLeaf).message);
    by = g.pick(1, [p1!, p2!, t1!, t2!])[0]!;
    commit(by, {});
    talk('step 14', by, p1, p2);

    // 15. Thirty at once, with a path.
    by = g.pick(1)[0]!;
    talk('step 15', by, addBatch(by, 30, { path: 'always' }).at(-1));

    // 16. Four Updates by reference and a Remove by value in one commit.
    const updaters16 = g.pick(4);
    for (const n of updaters16) g.broadcastProposal(n, proposeUpdate(g.state(n)).message);
    by = g.pick(1, updaters16)[0]!;
    commit(by, { proposals: [removeOf(g.pick(1, [...updaters16, by])[0]!)] });
    talk('step 16', by, updaters16[0]);

    // 17. A member that lost its state rejoins by external commit, removing its old leaf.
    const lost = g.pick(1)[0]!;
    externalJoin(g, g.pick(1, [lost])[0]!, lost);
    talk('step 17', lost);

    // 18. The committer's neighbours removed, with an external PSK.
    by = g.pick(1)[0]!;
    commit(by, { proposals: [...neighbours(by).map(removeOf), externalPsk()] });
    talk('step 18', by);

    // 19–20. Up to a hundred, then a path commit at a hundred.
    by = g.pick(1)[0]!;
    talk('step 19', by, addBatch(by, 100 - g.members.size).at(-1));
    expect(g.members.size).toBe(100);
    by = g.pick(1)[0]!;
    commit(by, { path: 'always' });
    g.chatter(g.pick(5), 'step 20');

    // Variety of what happened.
    expect(new Set(committers).size).toBeGreaterThan(10);
    expect(g.removed.length).toBeGreaterThanOrEqual(10);
    expect(g.stats.pathSecretsTriedByRemoved).toBeGreaterThanOrEqual(8);

    // Every removed member was offered later messages, in both its states.
    expect(g.stats.refusedToRemoved).toBeGreaterThanOrEqual(4 * g.removed.length);
    // 21. ReInit into a new group (suite 3) where everyone continues.
    reInit(g, g.pick(1)[0]!, g.pick(1)[0]!);
  });
});

/**
 * `joiner` (a new client, or `resync`: a member that lost its state) joins by external commit from
 * a GroupInfo `publisher` signed. Returns the joiner's name.
 */
function externalJoin(g: BigGroup, publisher: string, resync?: string): string {
  const name = resync ?? g.newName();
  const c = g.client(name);
  const oldLeaf = resync === undefined ? undefined : g.state(resync).ownLeaf;
  const created = createExternalCommit({
    groupInfo: encodeMlsMessage(createGroupInfo(g.state(publisher))),
    credential: c.credential,
    signatureKeyPair: c.signature,
    config: g.configOf(name),
    ...(oldLeaf === undefined ? {} : { resync: oldLeaf }),
  });
  const staged = g.deliver(created.commit, undefined);
  for (const st of staged.values())
    expect(st.removed).toEqual(oldLeaf === undefined ? [] : [oldLeaf]);
  g.members.set(name, created.staged.merge());
  g.afterCommit(created.commit);
  return name;
}

/**
 * §11.2: `by` commits a ReInit to suite 3; every member's group is frozen; `creator` makes the new
 * group with everyone's new KeyPackages; everyone joins it and continues there. Removed members of
 * the old group cannot read the new one.
 */
function reInit(g: BigGroup, by: string, creator: string): void {
  const created = commitReInit(g.state(by), { cipherSuite: 3 });
  g.deliver(created.commit, by);
  g.members.set(by, created.staged.merge());
  g.afterCommit(created.commit);
  const frozen = new Map(g.members);
  for (const s of frozen.values()) {
    expect(s.status).toBe('reinit');
    expectMlsError(() => sendApplicationMessage(s, text('x')), 'group_inactive');
  }
  const suite3 = cipherSuite(3);
  const bundles = new Map<string, KeyPackageBundle>();
  const signatures = new Map<string, ReturnType<typeof suite3.generateSignatureKeyPair>>();
  for (const [name, s] of frozen) {
    const signature = suite3.generateSignatureKeyPair();
    signatures.set(name, signature);
    if (name === creator) continue;
    bundles.set(
      name,
      createKeyPackage({
        suite: suite3,
        credential: s.ownLeafNode.credential,
        signatureKeyPair: signature,
      }),
    );
  }
  const made = createReInitGroup(frozen.get(creator)!, {
    keyPackages: [...bundles.values()].map((b) => b.keyPackage),
    signatureKeyPair: signatures.get(creator)!,
  });
  const next = new Map<string, GroupState>([[creator, made.staged.merge()]]);
  const welcome = encodeMlsMessage(made.welcome!);
  for (const [name, bundle] of bundles) {
    next.set(name, joinReInitGroup(frozen.get(name)!, { welcome, keyPackages: [bundle] }));
  }
  const reference = next.get(creator)!;
  expect(reference.memberCount).toBe(100);
  expect(reference.epoch).toBe(1n);
  expect(toHex(reference.groupId)).toBe(toHex(frozen.get(by)!.reInit!.groupId));
  for (const [name, s] of next) {
    expect(s.suite.id, name).toBe(3);
    expect(toHex(s.tree.treeHash()), name).toBe(toHex(reference.tree.treeHash()));
    expect(toHex(s.epochAuthenticator()), name).toBe(toHex(reference.epochAuthenticator()));
  }
  // Everyone continues in the new group; no removed member of the old one reads it.
  const senders = [creator, by, ...[...next.keys()].slice(0, 2)];
  for (const from of new Set(senders)) {
    const body = `in the new group, from ${from}`;
    const bytes = encodeMlsMessage(sendApplicationMessage(next.get(from)!, text(body)));
    for (const [name, s] of next) {
      if (name === from) continue;
      const got = processMessage(s, bytes);
      if (got.kind !== 'application') throw new Error(`${name} read a ${got.kind}`);
      expect(untext(got.data)).toBe(body);
    }
    for (const r of g.removed) g.expectRefused(r, bytes, 'wrong_group');
  }
}
