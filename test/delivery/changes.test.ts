import { describe, expect, it } from 'vitest';
import { decode, encode } from '../../src-core/codec/index.js';
import type { Change, ExtensionsEdit } from '../../src-core/delivery/changes.js';
import { outstanding, planCommit } from '../../src-core/delivery/changes.js';
import type { RequiredCapabilities } from '../../src-core/mls/capabilities.js';
import { requiredCapabilitiesCodec } from '../../src-core/mls/capabilities.js';
import type { Group } from '../../src-core/mls/client/index.js';
import type { Extension } from '../../src-core/mls/extension.js';
import { ExtensionType } from '../../src-core/mls/extension.js';
import { toHex } from '../support/shared.js';
import { groupOf, newClient } from './support/groupFixture.js';
import type { Fixture } from './support/groupFixture.js';

/*
 * The GroupContext extension every member supports without listing it (RFC 9420 §7.2):
 * required_capabilities. Its lists name default types only (proposal types 1..7, the basic
 * credential), so any edit of them stays valid for every member.
 */
const EMPTY: RequiredCapabilities = { extensionTypes: [], proposalTypes: [], credentialTypes: [] };

function requiredOf(exts: readonly Extension[]): RequiredCapabilities | undefined {
  const e = exts.find((x) => x.extensionType === ExtensionType.requiredCapabilities);
  return e === undefined ? undefined : decode(requiredCapabilitiesCodec, e.extensionData);
}

/** An edit that adds `proposalType` to required_capabilities (making the extension if absent). */
function requireProposal(proposalType: number): ExtensionsEdit {
  return (current) => {
    const now = requiredOf(current) ?? EMPTY;
    if (now.proposalTypes.includes(proposalType)) return current;
    const next = { ...now, proposalTypes: [...now.proposalTypes, proposalType].sort() };
    const ext = {
      extensionType: ExtensionType.requiredCapabilities,
      extensionData: encode(requiredCapabilitiesCodec, next),
    };
    return [...current.filter((e) => e.extensionType !== ext.extensionType), ext];
  };
}

const proposalTypes = (g: Group): readonly number[] =>
  requiredOf(g.state.groupContext.extensions)?.proposalTypes ?? [];

function converged(f: Fixture): void {
  const first = f.members[0]!.session;
  for (const m of f.members) {
    expect(m.session.epoch, m.name).toBe(first.epoch);
    expect(toHex(m.session.group.epochAuthenticator()), m.name).toBe(
      toHex(first.group.epochAuthenticator()),
    );
  }
}

describe('changes: GroupContext extension edits as intents', () => {
  it('drops edits that change nothing, orders removals, extensions, adds, update', () => {
    const f = groupOf(['alice', 'bob', 'carol']);
    const g = f.members[0]!.session.group;
    const carolKey = g.members()[2]!.signatureKey;
    const dave = newClient(f.suite, 'dave');
    const add: Change = {
      kind: 'add',
      keyPackage: dave.client.createKeyPackages({ count: 1 }).oneTime[0]!.keyPackage,
    };
    const update: Change = { kind: 'update' };
    const edit: Change = { kind: 'extensions', edit: requireProposal(1) };
    const noop: Change = { kind: 'extensions', edit: (c) => c };
    const gives: Change = { kind: 'extensions', edit: () => undefined };
    const throws: Change = {
      kind: 'extensions',
      edit: () => {
        throw new Error('the rules do not read');
      },
    };
    const remove: Change = { kind: 'remove', signatureKey: carolKey };
    const todo = outstanding(g, [update, add, noop, edit, gives, throws, remove]);
    expect(todo).toEqual([remove, edit, add, update]);

    // Without the removal, the next commit is the extensions one; it covers the update too.
    const planned = planCommit(g, [update, add, edit])!;
    expect(planned.covers).toEqual([edit, update]);
    expect(proposalTypes(g)).toEqual([]);
    expect(requiredOf(planned.outgoing.pending.groupContextExtensions)?.proposalTypes).toEqual([1]);
    g.discard(planned.outgoing.pending);
  });

  it('several edits make one commit, applied in order on the current extensions', () => {
    const f = groupOf(['alice', 'bob']);
    const [alice] = f.members;
    alice!.session.changeExtensions(requireProposal(3));
    alice!.session.changeExtensions(requireProposal(2));
    f.run(2_000);
    converged(f);
    // The first edit went out alone (its commit was in flight); the second in the next epoch.
    for (const m of f.members) expect(proposalTypes(m.session.group)).toEqual([2, 3]);
    // An edit that changes nothing now makes no commit.
    const epoch = alice!.session.epoch;
    alice!.session.changeExtensions(requireProposal(2));
    f.run(2_000);
    expect(alice!.session.epoch).toBe(epoch);
  });

  it("two members edit in one epoch: the loser's edit is made again on top of the winner's", () => {
    const f = groupOf(['alice', 'bob', 'carol']);
    const [, bob, carol] = f.members;
    // Both commits leave before either is ordered.
    bob!.session.changeExtensions(requireProposal(4));
    carol!.session.changeExtensions(requireProposal(5));
    f.run(2_000);
    converged(f);
    expect(f.members[0]!.session.epoch).toBe(3n);
    for (const m of f.members) expect(proposalTypes(m.session.group)).toEqual([4, 5]);
    const lost = [bob!, carol!].filter((m) => (m.seen.commitLost ?? []).length > 0);
    expect(lost).toHaveLength(1);
  });

  it('an edit MLS refuses fails alone; the add asked for before it still happens', () => {
    const f = groupOf(['alice', 'bob']);
    const [, bob] = f.members;
    const dave = newClient(f.suite, 'dave');
    // Nobody's capabilities list extension 0xF0A9: MLS refuses the commit.
    const unsupported: ExtensionsEdit = (c) => [
      ...c,
      { extensionType: 0xf0a9, extensionData: new Uint8Array([1]) },
    ];
    // Bob is not the leader: his update stays in flight until the network runs; the add and
    // the edit wait for the next epoch, where the edit is tried first (extensions before adds), fails, and only it is dropped.
    bob!.session.update();
    bob!.session.add([dave.client.createKeyPackages({ count: 1 }).oneTime[0]!.message]);
    bob!.session.changeExtensions(unsupported);
    f.run(2_000);
    converged(f);
    const failed = bob!.seen.changeFailed ?? [];
    expect(failed.map((x) => x.change)).toEqual(['extensions']);
    expect((failed[0]!.error as { code?: string }).code).toBe('unsupported_extension');
    expect(bob!.session.group.members()).toHaveLength(3);
    expect(bob!.seen.welcome).toHaveLength(1);
  });
});
