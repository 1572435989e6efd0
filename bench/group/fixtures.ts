// Groups of n members for the group benchmarks, cached for the whole run (suites share them).
//
// Each group is made the same way: a base tree of n-1 members (trees.ts) whose member at leaf
// n-2 (the committer) gets a Parley state, then that member commits an Add of a newcomer and the
// newcomer joins from the Welcome at leaf n-1 (the committer's sibling, n being even): a Parley
// client, or a ts-mls client. The Add and the join are real RFC 9420 operations, so the ts-mls
// member holds the same tree, epoch and keys as the Parley members, and everything it does
// afterwards is checked by the other library.
//
// In the populated shape the Add commit carries a path (the newcomer gets its path secrets in the
// Welcome), so every parent stays set with no unmerged leaf; in the blank shape it carries none
// (Add-only), so every parent stays blank.
import { performance } from 'node:perf_hooks';
import type { CiphersuiteImpl, ClientState } from 'ts-mls';
import { cipherSuite } from '../../src-core/crypto/index.js';
import type { CipherSuite } from '../../src-core/crypto/types.js';
import { CredentialType } from '../../src-core/mls/credential.js';
import { WireFormat } from '../../src-core/mls/framing/framedContent.js';
import { decodeMlsMessage, encodeMlsMessage } from '../../src-core/mls/framing/mlsMessage.js';
import type { GroupState } from '../../src-core/mls/group/index.js';
import { createCommit, createKeyPackage, joinFromWelcome } from '../../src-core/mls/group/index.js';
import type { KeyPackage } from '../../src-core/mls/keyPackage.js';
import { ProposalType } from '../../src-core/mls/proposal.js';
import { tsMlsKeyPackage, tsMlsSuite } from '../tsmls.js';
import { memberStates } from './members.js';
import type { TreeShape } from './trees.js';
import { baseTree } from './trees.js';
import { tsMlsJoin, tsMlsKeyPackageBytes } from './tsmlsGroup.js';

export interface SetupTimes {
  /** Building the base tree (0 when it came from the cache). */
  readonly treeMs: number;
  readonly treeCached: boolean;
  /** The committer's Add commit with its Welcome, and merging it. */
  readonly addMs: number;
  /** The newcomer's join from the Welcome (whole-tree validation). */
  readonly joinMs: number;
}

interface Common {
  readonly shape: TreeShape;
  readonly members: number;
  readonly suite: CipherSuite;
  /** Parley, at leaf n-2. */
  readonly committer: GroupState;
  readonly setup: SetupTimes;
}

export interface ParleyGroup extends Common {
  /** Parley, at leaf n-1. */
  readonly newcomer: GroupState;
}

export interface TsMlsGroup extends Common {
  readonly cs: CiphersuiteImpl;
  /** ts-mls, at leaf n-1. */
  readonly newcomer: ClientState;
}

let parleySuite: CipherSuite | undefined;
let tsSuite: CiphersuiteImpl | undefined;

export function benchSuite(): CipherSuite {
  parleySuite ??= cipherSuite(1);
  return parleySuite;
}

export async function benchTsMlsSuite(): Promise<CiphersuiteImpl> {
  tsSuite ??= await tsMlsSuite();
  return tsSuite;
}

function checkSize(members: number): void {
  if (members < 2 || members % 2 !== 0) {
    throw new Error(`group size ${members}: must be even and at least 2 (committer and newcomer)`);
  }
}

/** The committer's state in the base tree, and what building that tree cost. */
function committerOf(shape: TreeShape, members: number): { state: GroupState; treeMs: number } {
  const suite = benchSuite();
  const leaf = members - 2;
  const { base, fromCache } = baseTree(suite, shape, members - 1, [leaf]);
  const [state] = memberStates(suite, base, [leaf]);
  return { state: state!, treeMs: fromCache ? 0 : base.buildMs };
}

/** The committer adds `keyPackage`; returns its new state and the Welcome's bytes. */
function addNewcomer(
  shape: TreeShape,
  committer: GroupState,
  keyPackage: KeyPackage,
): { state: GroupState; welcome: Uint8Array } {
  const created = createCommit(committer, {
    proposals: [{ proposalType: ProposalType.add, add: { keyPackage } }],
    path: shape === 'populated' ? 'always' : 'auto',
  });
  if (created.welcome === undefined) throw new Error('an Add commit gave no Welcome');
  return { state: created.staged.merge(), welcome: encodeMlsMessage(created.welcome) };
}

const parleyGroups = new Map<string, ParleyGroup>();
const tsMlsGroups = new Map<string, Promise<TsMlsGroup>>();

/** n members, all Parley; the newcomer joined by Welcome. */
export function parleyGroup(shape: TreeShape, members: number): ParleyGroup {
  checkSize(members);
  const key = `${shape}/${members}`;
  const hit = parleyGroups.get(key);
  if (hit !== undefined) return hit;
  const suite = benchSuite();
  const { state, treeMs } = committerOf(shape, members);
  const bundle = createKeyPackage({
    suite,
    credential: { credentialType: CredentialType.basic, identity: new TextEncoder().encode('new') },
    signatureKeyPair: suite.generateSignatureKeyPair(),
  });
  let t0 = performance.now();
  const added = addNewcomer(shape, state, bundle.keyPackage);
  const addMs = performance.now() - t0;
  t0 = performance.now();
  const newcomer = joinFromWelcome({ welcome: added.welcome, keyPackages: [bundle], suite });
  const joinMs = performance.now() - t0;
  const group: ParleyGroup = {
    shape,
    members,
    suite,
    committer: added.state,
    newcomer,
    setup: { treeMs, treeCached: treeMs === 0, addMs, joinMs },
  };
  parleyGroups.set(key, group);
  return group;
}

/** n members: Parley ones and one ts-mls client, which joined from a Parley Welcome. */
export function tsMlsGroup(shape: TreeShape, members: number): Promise<TsMlsGroup> {
  checkSize(members);
  const key = `${shape}/${members}`;
  let hit = tsMlsGroups.get(key);
  if (hit === undefined) {
    hit = buildTsMlsGroup(shape, members);
    tsMlsGroups.set(key, hit);
  }
  return hit;
}

async function buildTsMlsGroup(shape: TreeShape, members: number): Promise<TsMlsGroup> {
  const suite = benchSuite();
  const cs = await benchTsMlsSuite();
  const { state, treeMs } = committerOf(shape, members);
  const ts = await tsMlsKeyPackage(cs, 'ts-mls newcomer');
  const decoded = decodeMlsMessage(tsMlsKeyPackageBytes(ts.keyPackage));
  if (decoded.wireFormat !== WireFormat.keyPackage) throw new Error('not a KeyPackage');
  let t0 = performance.now();
  const added = addNewcomer(shape, state, decoded.keyPackage);
  const addMs = performance.now() - t0;
  t0 = performance.now();
  const newcomer = await tsMlsJoin(cs, added.welcome, ts.keyPackage, ts.privateKeys);
  const joinMs = performance.now() - t0;
  return {
    shape,
    members,
    suite,
    cs,
    committer: added.state,
    newcomer,
    setup: { treeMs, treeCached: treeMs === 0, addMs, joinMs },
  };
}
