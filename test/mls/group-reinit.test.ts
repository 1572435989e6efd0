import { describe, expect, it } from 'vitest';
import { cipherSuite } from '../../src-core/crypto/index.js';
import type { CipherSuiteId } from '../../src-core/crypto/types.js';
import { WireFormat } from '../../src-core/mls/framing/framedContent.js';
import type { MlsMessage } from '../../src-core/mls/framing/mlsMessage.js';
import type { GroupConfig, GroupState } from '../../src-core/mls/group/index.js';
import {
  branchGroup,
  createCommit,
  createReInitGroup,
  joinBranch,
  joinFromWelcome,
  joinReInitGroup,
  processMessage,
  proposeReInit,
  resumptionPskId,
  resumptionPskLookup,
  sendApplicationMessage,
} from '../../src-core/mls/group/index.js';
import { createResumedGroup } from '../../src-core/mls/group/resumption.js';
import type { ResumedGroupParams } from '../../src-core/mls/group/resumption.js';
import { ProposalType } from '../../src-core/mls/proposal.js';
import { ResumptionPSKUsage, newPskNonce } from '../../src-core/mls/psk.js';
import { toHex } from '../support/shared.js';
import { World, expectMlsError, snapshot, text, wire } from './groupHarness.js';

const FIVE = ['alice', 'bob', 'carol', 'dave', 'erin'];

function group(names: readonly string[], config: GroupConfig = {}, suite: CipherSuiteId = 1) {
  const w = new World(suite, config);
  w.create(names[0]!);
  const rest = names.slice(1);
  w.commit(
    names[0]!,
    {
      proposals: rest.map((n) => ({
        proposalType: ProposalType.add,
        add: { keyPackage: w.keyPackage(n).keyPackage },
      })),
    },
    rest,
  );
  return w;
}

function everyoneSends(w: World): void {
  for (const name of w.states.keys()) w.send(name, `${name} in epoch ${w.state(name).epoch}`);
}

/**
 * A ReInit to `suite` proposed by carol and committed by alice; every member merges it. Returns
 * the frozen states by name.
 */
function reinitialized(w: World, suite: CipherSuiteId): Map<string, GroupState> {
  const proposal = wire(proposeReInit(w.state('carol'), { cipherSuite: suite }).message);
  for (const [name, s] of w.states) if (name !== 'carol') processMessage(s, proposal);
  const created = createCommit(w.state('alice'));
  const frozen = new Map<string, GroupState>();
  for (const [name, s] of w.states) {
    if (name === 'alice') continue;
    const got = processMessage(s, wire(created.commit));
    if (got.kind !== 'commit') throw new Error('not a commit');
    expect(got.staged.reInit?.cipherSuite).toBe(suite);
    frozen.set(name, got.staged.merge());
  }
  frozen.set('alice', created.staged.merge());
  for (const s of frozen.values()) expect(s.status).toBe('reinit');
  return frozen;
}

/** Each of `names` makes a KeyPackage (new signature key, same identity) in `next`'s suite. */
function keyPackages(next: World, names: readonly string[]) {
  return names.map((n) => next.keyPackage(n).keyPackage);
}

function welcomeOf(m: MlsMessage | undefined): Uint8Array {
  if (m?.wireFormat !== WireFormat.welcome) throw new Error('no Welcome');
  return wire(m);
}

describe('ReInit (§11.2)', () => {
  it('suite 1 -> 3: all members join the new group, agree, talk; the old group is closed', () => {
    const w = group(FIVE);
    w.commit('bob', { path: 'always' });
    const frozen = reinitialized(w, 3);
    const reInit = frozen.get('alice')!.reInit!;
    const oldEpoch = frozen.get('alice')!.epoch;

    // Dave (neither proposer nor committer) recreates the group.
    const next = new World(3);
    const others = FIVE.filter((n) => n !== 'dave');
    const created = createReInitGroup(frozen.get('dave')!, {
      keyPackages: keyPackages(next, others),
      signatureKeyPair: next.client('dave').signature,
    });
    expect(created.staged.psks).toEqual([
      expect.objectContaining({
        usage: ResumptionPSKUsage.reinit,
        pskGroupId: frozen.get('dave')!.groupId,
        pskEpoch: oldEpoch,
      }),
    ]);
    next.states.set('dave', created.staged.merge());
    const welcome = welcomeOf(created.welcome);
    for (const n of others) {
      next.states.set(
        n,
        joinReInitGroup(frozen.get(n)!, { welcome, keyPackages: [next.pending.get(n)!] }),
      );
    }
    next.expectAgreement();
    const dave = next.state('dave');
    expect(dave.epoch).toBe(1n);
    expect(dave.suite.id).toBe(3);
    expect(dave.groupContext.cipherSuite).toBe(3);
    expect(toHex(dave.groupId)).toBe(toHex(reInit.groupId));
    expect(dave.memberCount).toBe(5);
    everyoneSends(next);
    next.commit('erin', { path: 'always' });
    everyoneSends(next);

    // Nothing more is sent or committed in the old group.
    for (const s of frozen.values()) {
      expectMlsError(() => sendApplicationMessage(s, text('old')), 'group_inactive');
      expectMlsError(() => createCommit(s, { path: 'always' }), 'group_inactive');
    }
  });

  it('only after a committed ReInit, and only with every member', () => {
    const w = group(FIVE);
    const next = new World(3);
    expectMlsError(
      () =>
        createReInitGroup(w.state('alice'), {
          keyPackages: keyPackages(next, ['bob']),
          signatureKeyPair: next.client('alice').signature,
        }),
      'reinit_not_committed',
    );
    const frozen = reinitialized(w, 3);
    const alice = frozen.get('alice')!;
    const leaf = { signatureKeyPair: next.client('alice').signature };
    expectMlsError(
      () =>
        createReInitGroup(alice, {
          ...leaf,
          keyPackages: keyPackages(next, ['bob', 'carol', 'dave']),
        }),
      'resumption_member_mismatch',
    );
    expectMlsError(
      () =>
        createReInitGroup(alice, {
          ...leaf,
          keyPackages: keyPackages(next, ['bob', 'carol', 'dave', 'mallory']),
        }),
      'resumption_member_mismatch',
    );
    const old = new World(1);
    expectMlsError(
      () =>
        createReInitGroup(alice, {
          ...leaf,
          keyPackages: keyPackages(old, ['bob', 'carol', 'dave', 'erin']),
        }),
      'unsupported_cipher_suite',
    );
  });

  it('a joiner refuses a Welcome that does not match the ReInit, keeping its KeyPackage', () => {
    const w = group(FIVE);
    const frozen = reinitialized(w, 3);
    const alice = frozen.get('alice')!;
    const bob = frozen.get('bob')!;
    const reInit = alice.reInit!;
    const next = new World(3);
    const kps = keyPackages(next, ['bob', 'carol', 'dave', 'erin']);
    const base: ResumedGroupParams = {
      suite: cipherSuite(3),
      groupId: reInit.groupId,
      extensions: reInit.extensions,
      usage: ResumptionPSKUsage.reinit,
      pskEpoch: alice.epoch,
      keyPackages: kps,
      signatureKeyPair: next.client('alice').signature,
    };
    // A malicious or buggy creator: each Welcome breaks one rule.
    const forged = (p: Partial<ResumedGroupParams>) =>
      welcomeOf(createResumedGroup(alice, { ...base, ...p }).welcome);
    const join = { keyPackages: [next.pending.get('bob')!] };
    expectMlsError(
      () =>
        joinReInitGroup(bob, { ...join, welcome: forged({ groupId: new Uint8Array(32).fill(9) }) }),
      'reinit_mismatch',
    );
    expectMlsError(
      () => joinReInitGroup(bob, { ...join, welcome: forged({ pskEpoch: alice.epoch - 1n }) }),
      'reinit_mismatch',
    );
    expectMlsError(
      () =>
        joinReInitGroup(bob, { ...join, welcome: forged({ usage: ResumptionPSKUsage.branch }) }),
      'reinit_mismatch',
    );
    expectMlsError(
      () => joinReInitGroup(bob, { ...join, welcome: forged({ keyPackages: kps.slice(0, 3) }) }),
      'resumption_member_mismatch',
    );
    // Without the old group, the checks cannot be made: refused even when the PSK is at hand.
    const good = forged({});
    expectMlsError(() => joinFromWelcome({ ...join, welcome: good }), 'psk_not_found');
    const lookup = resumptionPskLookup(() => [bob]);
    expectMlsError(
      () => joinFromWelcome({ ...join, welcome: good, config: { resumptionPsk: lookup } }),
      'resumption_unverified',
    );
    // The same KeyPackage still opens the genuine Welcome.
    const joined = joinReInitGroup(bob, { ...join, welcome: good });
    expect(joined.epoch).toBe(1n);
    // An active group (no ReInit committed) is not one a Welcome can reinitialize.
    expectMlsError(
      () => joinReInitGroup(group(['x', 'y']).state('y'), { ...join, welcome: good }),
      'reinit_not_committed',
    );
  });

  it('a reinit or branch PSK only in a new group first commit', () => {
    const w = group(['alice', 'bob']);
    const alice = w.state('alice');
    const id = {
      ...resumptionPskId(alice, { usage: ResumptionPSKUsage.reinit }),
      pskGroupId: new Uint8Array(16),
    };
    expectMlsError(
      () => createCommit(alice, { resumption: { id, psk: new Uint8Array(32) } }),
      'psk_usage_invalid',
    );
    expectMlsError(
      () =>
        createCommit(alice, { proposals: [{ proposalType: ProposalType.psk, psk: { psk: id } }] }),
      'psk_usage_invalid',
    );
  });
});

describe('subgroup branching (§11.3)', () => {
  it('3 of 5 members branch off; the branch and the old group both go on', () => {
    const w = group(FIVE);
    const branchEpoch = w.state('bob').epoch;
    const br = new World(1);
    const created = branchGroup(w.state('bob'), {
      keyPackages: keyPackages(br, ['carol', 'erin']),
      signatureKeyPair: br.client('bob').signature,
    });
    br.states.set('bob', created.staged.merge());
    // Meanwhile the old group moves on; carol's kept PSK of the branch epoch still serves.
    w.commit('alice', { path: 'always' });
    const welcome = welcomeOf(created.welcome);
    for (const n of ['carol', 'erin']) {
      br.states.set(n, joinBranch(w.state(n), { welcome, keyPackages: [br.pending.get(n)!] }));
    }
    br.expectAgreement();
    const bob = br.state('bob');
    expect(bob.epoch).toBe(1n);
    expect(bob.memberCount).toBe(3);
    expect(bob.suite.id).toBe(w.suite.id);
    expect(toHex(bob.groupId)).not.toBe(toHex(w.state('bob').groupId));
    expect(created.staged.psks).toEqual([
      expect.objectContaining({ usage: ResumptionPSKUsage.branch, pskEpoch: branchEpoch }),
    ]);
    everyoneSends(br);
    everyoneSends(w);
    expect(toHex(bob.epochAuthenticator())).not.toBe(toHex(w.state('bob').epochAuthenticator()));
  });

  it('refuses outsiders and a branch that changes the suite', () => {
    const w = group(FIVE);
    const bob = w.state('bob');
    const br = new World(1);
    const leaf = { signatureKeyPair: br.client('bob').signature };
    expectMlsError(
      () => branchGroup(bob, { ...leaf, keyPackages: keyPackages(br, ['carol', 'mallory']) }),
      'resumption_member_mismatch',
    );
    expectMlsError(() => branchGroup(bob, { ...leaf, keyPackages: [] }), 'invalid_argument');
    expectMlsError(
      () =>
        branchGroup(bob, {
          ...leaf,
          keyPackages: keyPackages(br, ['carol']),
          pskEpoch: bob.epoch - 5n,
        }),
      'psk_not_found',
    );
    const kps = keyPackages(br, ['carol', 'mallory']);
    const base: ResumedGroupParams = {
      suite: w.suite,
      groupId: new Uint8Array(32).fill(1),
      extensions: [],
      usage: ResumptionPSKUsage.branch,
      pskEpoch: bob.epoch,
      keyPackages: kps,
      signatureKeyPair: br.client('bob').signature,
    };
    const join = { keyPackages: [br.pending.get('carol')!] };
    const carol = w.state('carol');
    const before = snapshot(carol);
    const withOutsider = welcomeOf(createResumedGroup(bob, base).welcome);
    expectMlsError(
      () => joinBranch(carol, { ...join, welcome: withOutsider }),
      'resumption_member_mismatch',
    );
    const reinitPsk = welcomeOf(
      createResumedGroup(bob, {
        ...base,
        keyPackages: kps.slice(0, 1),
        usage: ResumptionPSKUsage.reinit,
      }).welcome,
    );
    expectMlsError(() => joinBranch(carol, { ...join, welcome: reinitPsk }), 'branch_mismatch');
    // Another suite: carol's KeyPackage for it, and a Welcome that names that suite.
    const other = new World(3);
    const carol3 = other.keyPackage('carol');
    const suiteChanged = welcomeOf(
      createResumedGroup(bob, {
        ...base,
        suite: other.suite,
        keyPackages: [carol3.keyPackage],
        signatureKeyPair: other.client('bob').signature,
      }).welcome,
    );
    expectMlsError(
      () => joinBranch(carol, { keyPackages: [carol3], welcome: suiteChanged }),
      'branch_mismatch',
    );
    expect(snapshot(carol)).toBe(before);
  });
});

describe('resumption PSKs (§8.6)', () => {
  it('a commit injects the resumption PSK of two epochs back', () => {
    const w = group(['alice', 'bob', 'carol'], { resumptionPskEpochs: 3 });
    // Dan keeps only the current epoch's PSK.
    const kp = w.keyPackage('dan');
    const add = w.prepare('alice', {
      proposals: [{ proposalType: ProposalType.add, add: { keyPackage: kp.keyPackage } }],
    });
    w.deliver('alice', add);
    w.states.set(
      'dan',
      joinFromWelcome({
        welcome: wire(add.welcome!),
        keyPackages: [kp],
        config: { resumptionPskEpochs: 1 },
      }),
    );
    const e0 = w.state('alice').epoch;
    w.commit('bob', { path: 'always' });
    w.commit('carol', { path: 'always' });
    expectMlsError(() => resumptionPskId(w.state('alice'), { epoch: e0 - 1n }), 'psk_not_found');
    const psk = resumptionPskId(w.state('alice'), { epoch: e0 });
    expect(w.state('alice').epoch - psk.pskEpoch).toBe(2n);
    const created = w.prepare('alice', {
      proposals: [{ proposalType: ProposalType.psk, psk: { psk } }],
    });
    const dan = w.state('dan');
    const before = snapshot(dan);
    expectMlsError(() => processMessage(dan, wire(created.commit)), 'psk_not_found');
    expect(snapshot(dan)).toBe(before);
    w.states.delete('dan');
    const staged = w.deliver('alice', created);
    expect(staged.get('bob')!.psks).toEqual([psk]);
    everyoneSends(w);
  });

  it("another group's resumption PSK, found through resumptionPskLookup", () => {
    const a = group(['alice', 'bob']);
    const b = group(['alice', 'bob'], {
      resumptionPsk: resumptionPskLookup(() => a.states.values()),
    });
    const psk = resumptionPskId(a.state('alice'), { suite: b.suite });
    b.commit('alice', { proposals: [{ proposalType: ProposalType.psk, psk: { psk } }] });
    everyoneSends(b);
    // Destroyed (superseded) states are not searched: once A moves on past the window, gone.
    a.commit('bob', { path: 'always' });
    a.commit('bob', { path: 'always' });
    const stale = { ...psk, pskNonce: newPskNonce(b.suite) };
    expectMlsError(
      () =>
        b.prepare('alice', {
          proposals: [{ proposalType: ProposalType.psk, psk: { psk: stale } }],
        }),
      'psk_not_found',
    );
  });
});
