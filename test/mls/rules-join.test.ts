/**
 * RFC 9420 §12.4.3.1 (joining from a Welcome) with the tree rules it applies (§7.9.2 parent
 * hashes, §7.1/§12.4.3.1 unmerged leaves, §7.3 leaves, key uniqueness): one forged Welcome per
 * rule a malicious committer could break. Bob commits the Adds of Frank (the joiner) and of a
 * sock puppet whose keys Bob holds; both land unmerged below the root, so the sock puppet's leaf
 * is covered by no parent hash and Bob can change it alone. Bob's Welcome carries a tree and a
 * GroupContext of his choosing, signed by him, with a confirmation tag that matches the
 * joiner_secret he picked (test/support/evilWelcome.ts), so the joiner gets as far as the one
 * rule broken. Frank rejects it with that rule's code; his KeyPackage keys are untouched, and the
 * honest Welcome of the same commit still makes him a member who agrees with everyone.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { encode, optional, vector } from '../../src-core/codec/index.js';
import type {
  CreatedCommit,
  GroupConfig,
  GroupState,
  KeyPackageBundle,
} from '../../src-core/mls/group/index.js';
import { createBatchVerifier } from '../../src-core/crypto/batchVerify.js';
import { MlsError } from '../../src-core/mls/errors.js';
import { joinFromWelcome, joinFromWelcomeAsync } from '../../src-core/mls/group/index.js';
import { CredentialType } from '../../src-core/mls/credential.js';
import type { MlsErrorCode } from '../../src-core/mls/errors.js';
import { ExtensionType } from '../../src-core/mls/extension.js';
import type { GroupContext } from '../../src-core/mls/groupContext.js';
import type { LeafNode, LeafNodeContent } from '../../src-core/mls/leafNode.js';
import { signLeafNode } from '../../src-core/mls/leafNode.js';
import type { Proposal } from '../../src-core/mls/proposal.js';
import { ProposalType } from '../../src-core/mls/proposal.js';
import type {
  Node,
  ParentNode,
  RatchetTreeNodes,
} from '../../src-core/mls/ratchetTreeExtension.js';
import { NodeType, nodeCodec } from '../../src-core/mls/ratchetTreeExtension.js';
import { byValue, forgeCommit } from '../support/evilCommitter.js';
import type { ForgeWelcomeOptions } from '../support/evilWelcome.js';
import { forgeWelcome } from '../support/evilWelcome.js';
import type { RuleGroupOptions } from '../support/ruleHarness.js';
import {
  CUSTOM_EXTENSION,
  capabilitiesFor,
  requiredCapabilities,
  ruleGroup,
} from '../support/ruleHarness.js';
import { leafContent } from '../support/tamper.js';
import type { Client, World } from './groupHarness.js';
import { expectMlsError, keyPackageFor, text } from './groupHarness.js';

/** Leaves: alice 0, bob 1, carol 2, dave 3, erin 4, frank 5, sock 6. */
const FRANK = 5;
const SOCK = 6;

interface Fixture {
  readonly w: World;
  readonly bob: GroupState;
  readonly created: CreatedCommit;
  readonly frank: KeyPackageBundle;
  readonly sock: Client;
  /** The new epoch's tree, to change before it is sent. */
  readonly nodes: (Node | undefined)[];
  readonly groupContext: GroupContext;
}

function fixture(options: RuleGroupOptions & { sockLifetime?: bigint } = {}): Fixture {
  const w = ruleGroup(options);
  const caps = capabilitiesFor(w, options);
  const frank = keyPackageFor(w.suite, w.client('frank'), caps ? { capabilities: caps } : {});
  w.pending.set('frank', frank);
  const sock = w.client('sock');
  const sockKp = keyPackageFor(w.suite, sock, {
    ...(caps ? { capabilities: caps } : {}),
    ...(options.sockLifetime === undefined ? {} : { validFor: options.sockLifetime }),
  });
  const adds: Proposal[] = [frank, sockKp].map((b) => ({
    proposalType: ProposalType.add,
    add: { keyPackage: b.keyPackage },
  }));
  const bob = w.state('bob');
  const created = w.prepare('bob', { proposals: adds });
  const nodes = [...created.staged.tree.toNodes()];
  // The shape the rules below rely on: the new leaves are unmerged at the root only.
  expect(parent(nodes, 7).unmergedLeaves).toEqual([FRANK, SOCK]);
  expect(nodes[9]).toBeUndefined();
  return { w, bob, created, frank, sock, nodes, groupContext: created.staged.groupContext };
}

function parent(nodes: readonly (Node | undefined)[], x: number): ParentNode {
  const n = nodes[x];
  if (n?.nodeType !== NodeType.parent) throw new Error(`node ${x} is not a parent`);
  return n.parentNode;
}

function leaf(nodes: readonly (Node | undefined)[], i: number): LeafNode {
  const n = nodes[2 * i];
  if (n?.nodeType !== NodeType.leaf) throw new Error(`leaf ${i} is blank`);
  return n.leafNode;
}

function setParent(f: Fixture, x: number, change: (p: ParentNode) => ParentNode): void {
  f.nodes[x] = { nodeType: NodeType.parent, parentNode: change(parent(f.nodes, x)) };
}

/** The sock puppet's leaf, changed and signed again by the sock puppet. */
function resignSock(
  f: Fixture,
  change: (c: LeafNodeContent) => LeafNodeContent,
  signer = f.sock.signature.privateKey,
): void {
  const content = change(leafContent(leaf(f.nodes, SOCK)));
  f.nodes[2 * SOCK] = {
    nodeType: NodeType.leaf,
    leafNode: signLeafNode(f.w.suite, content, signer),
  };
}

/** Bob's Welcome for Frank carrying `f.nodes`, with `overrides`. */
function welcome(f: Fixture, overrides: Partial<ForgeWelcomeOptions> = {}): Uint8Array {
  return forgeWelcome({
    suite: f.w.suite,
    groupContext: f.groupContext,
    nodes: f.nodes,
    signer: f.bob.ownLeaf,
    signaturePrivateKey: f.bob.signaturePrivateKey,
    joiner: f.frank.keyPackage,
    ...overrides,
  });
}

interface Rule {
  readonly section: string;
  readonly rule: string;
  readonly code: MlsErrorCode;
  readonly group?: RuleGroupOptions & { sockLifetime?: bigint };
  /** Frank's own policy when he opens the forged Welcome (default: the group's). */
  readonly joinConfig?: GroupConfig;
  readonly forge: (f: Fixture) => Uint8Array;
}

/** The tree's nodes encoded without the ratchet_tree codec's own checks. */
const encodeTree = (nodes: RatchetTreeNodes): Uint8Array =>
  encode(vector(optional(nodeCodec)), nodes);

const flip = (b: Uint8Array): Uint8Array => {
  const c = b.slice();
  c[c.length - 1]! ^= 1;
  return c;
};
const fresh = (f: Fixture) => f.w.suite.generateHpkeKeyPair().publicKey;
const withUnmerged = (f: Fixture, x: number, unmergedLeaves: number[]) =>
  setParent(f, x, (p) => ({ ...p, unmergedLeaves }));

const rules: Rule[] = [
  {
    section: '12.4.3.1',
    rule: "tree_hash: the GroupContext's does not match the tree",
    code: 'tree_hash_mismatch',
    forge: (f) =>
      welcome(f, {
        groupContext: { ...f.groupContext, treeHash: flip(f.groupContext.treeHash) },
        keepTreeHash: true,
      }),
  },
  {
    section: '7.9.2',
    rule: 'parent hashes: a parent key replaced (node 3, on Carol’s signed chain)',
    code: 'parent_hash_invalid',
    forge: (f) => {
      setParent(f, 3, (p) => ({ ...p, encryptionKey: fresh(f) }));
      return welcome(f);
    },
  },
  {
    section: '7.9.2',
    rule: 'parent hashes: the parent_hash field of node 5 altered',
    code: 'parent_hash_invalid',
    forge: (f) => {
      setParent(f, 5, (p) => ({ ...p, parentHash: flip(p.parentHash) }));
      return welcome(f);
    },
  },
  {
    section: '7.9.2',
    rule: 'unmerged leaves: the new members left out at the root (sibling hash no longer original)',
    code: 'parent_hash_invalid',
    forge: (f) => {
      withUnmerged(f, 7, []);
      return welcome(f);
    },
  },
  {
    section: '7.1',
    rule: 'unmerged leaves: not sorted',
    code: 'unmerged_leaves_invalid',
    forge: (f) => {
      withUnmerged(f, 7, [SOCK, FRANK]);
      return welcome(f);
    },
  },
  {
    section: '12.4.3.1',
    rule: 'unmerged leaves: a leaf not below the node',
    code: 'unmerged_leaves_invalid',
    forge: (f) => {
      withUnmerged(f, 5, [0]);
      return welcome(f);
    },
  },
  {
    section: '12.4.3.1',
    rule: 'unmerged leaves: a blank leaf',
    code: 'unmerged_leaves_invalid',
    forge: (f) => {
      withUnmerged(f, 7, [FRANK, SOCK, 7]);
      return welcome(f);
    },
  },
  {
    section: '12.4.3.1',
    rule: 'unmerged leaves: unmerged at the root but not at a non-blank node below it',
    code: 'unmerged_leaves_invalid',
    forge: (f) => {
      withUnmerged(f, 7, [2, FRANK, SOCK]);
      return welcome(f);
    },
  },
  {
    section: '7.3',
    rule: "duplicate keys: the sock puppet's leaf has Erin's encryption key",
    code: 'duplicate_encryption_key',
    forge: (f) => {
      resignSock(f, (c) => ({ ...c, encryptionKey: leaf(f.nodes, 4).encryptionKey }));
      return welcome(f);
    },
  },
  {
    section: '7.3',
    rule: 'duplicate keys: a leaf with the key of a parent node',
    code: 'duplicate_encryption_key',
    forge: (f) => {
      resignSock(f, (c) => ({ ...c, encryptionKey: parent(f.nodes, 5).encryptionKey }));
      return welcome(f);
    },
  },
  {
    section: '7.3',
    rule: "duplicate keys: the sock puppet's leaf has Erin's signature key",
    code: 'duplicate_signature_key',
    forge: (f) => {
      resignSock(f, (c) => ({ ...c, signatureKey: leaf(f.nodes, 4).signatureKey }));
      return welcome(f);
    },
  },
  {
    section: '7.3',
    rule: 'invalid leaf: signature does not verify',
    code: 'invalid_signature',
    forge: (f) => {
      resignSock(f, (c) => c, f.w.client('mallory').signature.privateKey);
      return welcome(f);
    },
  },
  {
    section: '7.3',
    rule: 'invalid leaf: an extension its capabilities do not list',
    code: 'unsupported_capability',
    forge: (f) => {
      resignSock(f, (c) => ({
        ...c,
        extensions: [{ extensionType: 0x0a0a, extensionData: text('x') }],
      }));
      return welcome(f);
    },
  },
  {
    section: '13.4',
    rule: 'invalid leaf: an extension type twice',
    code: 'duplicate_extension',
    forge: (f) => {
      const e = { extensionType: 0x0a0a, extensionData: text('x') };
      resignSock(f, (c) => ({
        ...c,
        capabilities: { ...c.capabilities, extensions: [0x0a0a] },
        extensions: [e, e],
      }));
      return welcome(f);
    },
  },
  {
    section: '7.3',
    rule: "invalid leaf: lacks the group's required capabilities",
    code: 'missing_required_capability',
    group: {
      supported: [CUSTOM_EXTENSION],
      groupExtensions: [requiredCapabilities([CUSTOM_EXTENSION])],
    },
    forge: (f) => {
      resignSock(f, (c) => ({ ...c, capabilities: { ...c.capabilities, extensions: [] } }));
      return welcome(f);
    },
  },
  {
    section: '7.3',
    rule: 'invalid leaf: a credential type the other members do not support',
    code: 'credential_type_unsupported',
    group: { config: { validateCredential: () => true } },
    forge: (f) => {
      resignSock(f, (c) => ({
        ...c,
        credential: {
          credentialType: CredentialType.x509,
          certificates: [{ certData: text('c') }],
        },
        capabilities: { ...c.capabilities, credentials: [1, 2] },
      }));
      return welcome(f);
    },
  },
  {
    section: '7.3',
    rule: "invalid leaf: the sock puppet's key_package lifetime is over (lifetimes checked)",
    code: 'invalid_lifetime',
    // Valid for a minute when Bob adds it; Frank joins an hour later.
    group: { sockLifetime: 60n },
    joinConfig: {
      checkTreeLifetimes: true,
      now: () => BigInt(Math.floor(Date.now() / 1000)) + 3600n,
    },
    forge: (f) => welcome(f),
  },
  {
    section: '13.4',
    rule: 'invalid leaf: encryption key is not an HPKE public key',
    code: 'invalid_public_key',
    forge: (f) => {
      resignSock(f, (c) => ({ ...c, encryptionKey: c.encryptionKey.subarray(1) }));
      return welcome(f);
    },
  },
  {
    section: '5.3.1',
    rule: "invalid leaf: credential refused by the joiner's Authentication Service",
    code: 'credential_rejected',
    joinConfig: {
      validateCredential: (c) => 'identity' in c && new TextDecoder().decode(c.identity) !== 'sock',
    },
    forge: (f) => welcome(f),
  },
  {
    section: '13.4',
    rule: "a parent key that is not an HPKE public key, under Bob's own consistent path",
    code: 'invalid_public_key',
    forge: (f) => {
      const bad = forgeCommit(f.bob, {
        proposals: byValue(
          ...f.created.staged.added.map((a): Proposal => ({
            proposalType: ProposalType.add,
            add: { keyPackage: a.keyPackage },
          })),
        ),
        path: { publicKeys: (k) => [k[0]!.subarray(1), ...k.slice(1)] },
      });
      return welcome(f, { groupContext: bad.groupContext, nodes: bad.tree.toNodes() });
    },
  },
  {
    section: '12.4.3.3',
    rule: 'tree encoding: a trailing blank node',
    code: 'decode_failed',
    forge: (f) =>
      welcome(f, { nodes: [...f.nodes, undefined, undefined], keepTreeHash: true, encodeTree }),
  },
  {
    section: '12.4.3.3',
    rule: 'tree encoding: a parent node at a leaf position',
    code: 'decode_failed',
    forge: (f) => {
      f.nodes[2 * SOCK] = { nodeType: NodeType.parent, parentNode: parent(f.nodes, 5) };
      return welcome(f, { keepTreeHash: true, encodeTree });
    },
  },
  {
    section: '12.4.3.1',
    rule: 'GroupInfo signer is a blank leaf',
    code: 'invalid_signature',
    forge: (f) => welcome(f, { signer: 7 }),
  },
  {
    section: '12.4.3.1',
    rule: 'GroupInfo signed with a key other than the signer leaf’s',
    code: 'invalid_signature',
    forge: (f) => welcome(f, { signaturePrivateKey: f.w.client('mallory').signature.privateKey }),
  },
  {
    section: '12.4.3.1',
    rule: 'confirmation tag does not match the joiner_secret and GroupContext',
    code: 'invalid_confirmation_tag',
    forge: (f) => welcome(f, { confirmationTag: flip }),
  },
  {
    section: '12.4.3.1',
    rule: 'no ratchet_tree extension and no tree out of band',
    code: 'missing_ratchet_tree',
    forge: (f) => welcome(f, { nodes: undefined }),
  },
  {
    section: '13.4',
    rule: 'GroupInfo: ratchet_tree extension twice',
    code: 'duplicate_extension',
    forge: (f) =>
      welcome(f, {
        extensions: [
          { extensionType: ExtensionType.ratchetTree, extensionData: new Uint8Array(1) },
        ],
      }),
  },
  {
    section: '12.4.3.1',
    rule: "the joiner's KeyPackage leaf is not in the tree",
    code: 'own_leaf_not_found',
    forge: (f) => {
      const other = keyPackageFor(f.w.suite, f.w.client('frank')).keyPackage.leafNode;
      f.nodes[2 * FRANK] = { nodeType: NodeType.leaf, leafNode: other };
      return welcome(f);
    },
  },
  {
    section: '13.4',
    rule: 'a GroupContext extension the joiner does not support',
    code: 'unsupported_extension',
    forge: (f) =>
      welcome(f, {
        groupContext: {
          ...f.groupContext,
          extensions: [{ extensionType: CUSTOM_EXTENSION, extensionData: text('x') }],
        },
      }),
  },
  {
    section: '12.4.3.1',
    rule: 'GroupContext of another protocol version',
    code: 'unsupported_version',
    forge: (f) => welcome(f, { groupContext: { ...f.groupContext, version: 2 } }),
  },
];

describe('§12.4.3.1 join rules', () => {
  it.each(rules.map((r) => [`§${r.section} ${r.rule} -> ${r.code}`, r] as const))(
    '%s',
    (_title, rule) => {
      const f = fixture(rule.group);
      const bad = rule.forge(f);
      const keys = [f.frank.initPrivateKey.slice(), f.frank.encryptionPrivateKey.slice()];
      expectMlsError(
        () =>
          joinFromWelcome({
            welcome: bad,
            keyPackages: [f.frank],
            config: rule.joinConfig ?? f.w.config,
          }),
        rule.code,
      );
      // Nothing was consumed: the KeyPackage's keys are intact and the honest Welcome works.
      expect([f.frank.initPrivateKey, f.frank.encryptionPrivateKey]).toEqual(keys);
      f.w.deliver('bob', f.created, ['frank']);
      expect(f.w.leafOf('frank')).toBe(FRANK);
      f.w.send('frank', 'frank joined after all');
    },
  );

  it('the forged Welcome with nothing changed is accepted (control)', () => {
    const f = fixture();
    const s = joinFromWelcome({ welcome: welcome(f), keyPackages: [f.frank], config: f.w.config });
    expect(s.ownLeaf).toBe(FRANK);
    expect(s.tree.treeHash()).toEqual(f.groupContext.treeHash);
  });
});

/**
 * The async join (leaf signatures on worker threads) applies the same rules: each forged Welcome
 * fails with the same code as in the sync join, and consumes nothing.
 */
describe('§12.4.3.1 join rules, joinFromWelcomeAsync', () => {
  const workers = createBatchVerifier(ruleGroup().suite.signature, { workers: 2 });
  const verifier = (checks: Parameters<typeof workers.verify>[0]) => workers.verify(checks);
  afterAll(() => workers.close());

  it('uses worker threads', () => {
    expect(workers.workerCount).toBe(2);
  });

  it.each(rules.map((r) => [`§${r.section} ${r.rule} -> ${r.code}`, r] as const))(
    '%s',
    async (_title, rule) => {
      const f = fixture(rule.group);
      const bad = rule.forge(f);
      const keys = [f.frank.initPrivateKey.slice(), f.frank.encryptionPrivateKey.slice()];
      const options = {
        welcome: bad,
        keyPackages: [f.frank],
        config: rule.joinConfig ?? f.w.config,
      };
      const error = await joinFromWelcomeAsync({ ...options, verifier }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(MlsError);
      expect((error as MlsError).code).toBe(rule.code);
      expect([f.frank.initPrivateKey, f.frank.encryptionPrivateKey]).toEqual(keys);
      expectMlsError(() => joinFromWelcome(options), rule.code);
    },
  );

  it('the honest Welcome gives the same state as the sync join', async () => {
    const f = fixture();
    const honest = welcome(f);
    const copy = (): typeof f.frank => ({
      ...f.frank,
      initPrivateKey: f.frank.initPrivateKey.slice(),
      encryptionPrivateKey: f.frank.encryptionPrivateKey.slice(),
    });
    const [forSync, forDefault] = [copy(), copy()];
    const a = await joinFromWelcomeAsync({
      welcome: honest,
      keyPackages: [f.frank],
      config: f.w.config,
      verifier,
    });
    const b = joinFromWelcome({ welcome: honest, keyPackages: [forSync], config: f.w.config });
    // Without a verifier a small tree is verified on the calling thread.
    const c = await joinFromWelcomeAsync({
      welcome: honest,
      keyPackages: [forDefault],
      config: f.w.config,
    });
    expect(a.ownLeaf).toBe(FRANK);
    for (const other of [b, c]) {
      expect(a.tree.treeHash()).toEqual(other.tree.treeHash());
      expect(a.epochAuthenticator()).toEqual(other.epochAuthenticator());
    }
    // A successful join consumed the KeyPackage's keys, as the sync join does.
    expect(f.frank.initPrivateKey.every((x) => x === 0)).toBe(true);
  });
});
