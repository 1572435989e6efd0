import { describe, expect, it } from 'vitest';
import { decode, encode } from '../../src-core/codec/index.js';
import { RulesReplay } from '../../src-core/app/groups/rulesReplay.js';
import type { ExtensionsEdit } from '../../src-core/delivery/changes.js';
import type { RequiredCapabilities } from '../../src-core/mls/capabilities.js';
import { requiredCapabilitiesCodec } from '../../src-core/mls/capabilities.js';
import type { Group } from '../../src-core/mls/client/index.js';
import type { Extension } from '../../src-core/mls/extension.js';
import { ExtensionType } from '../../src-core/mls/extension.js';
import { toHex } from '../support/shared.js';
import { groupOf } from '../delivery/support/groupFixture.js';
import type { Fixture, Member } from '../delivery/support/groupFixture.js';

/*
 * The rules extension needs Parley credentials; the replay is generic over extension edits, so
 * this uses the GroupContext extension every member supports unlisted (required_capabilities,
 * naming default proposal types only) over the delivery layer's in-memory sessions.
 */
const EMPTY: RequiredCapabilities = { extensionTypes: [], proposalTypes: [], credentialTypes: [] };

function requiredOf(exts: readonly Extension[]): RequiredCapabilities {
  const e = exts.find((x) => x.extensionType === ExtensionType.requiredCapabilities);
  return e === undefined ? EMPTY : decode(requiredCapabilitiesCodec, e.extensionData);
}

function requireProposal(proposalType: number): ExtensionsEdit {
  return (current) => {
    const now = requiredOf(current);
    if (now.proposalTypes.includes(proposalType)) return undefined;
    const next = { ...now, proposalTypes: [...now.proposalTypes, proposalType].sort() };
    const ext = {
      extensionType: ExtensionType.requiredCapabilities,
      extensionData: encode(requiredCapabilitiesCodec, next),
    };
    return [...current.filter((e) => e.extensionType !== ext.extensionType), ext];
  };
}

const proposalTypes = (g: Group): readonly number[] =>
  requiredOf(g.state.groupContext.extensions).proposalTypes;

const named = (f: Fixture, name: string): Member => f.members.find((m) => m.name === name)!;

/** `edit` committed by `m`, and tracked by its replay once merged. */
function commitEdit(f: Fixture, m: Member, replay: RulesReplay, edit: ExtensionsEdit): void {
  const off = m.session.on('epoch', (ev) => {
    if (edit(m.session.group.state.groupContext.extensions) !== undefined) return;
    replay.merged(edit, ev.epoch);
    off();
  });
  m.session.changeExtensions(edit);
  f.run(1_000);
}

describe('rules edits after a fork', () => {
  it("the losing side's edit is made again on the winning branch, on top of the winner's", () => {
    const all = ['alice', 'bob', 'carol', 'dave', 'erin'];
    const f = groupOf(all);
    f.run(1_500);
    const [alice, dave] = [named(f, 'alice'), named(f, 'dave')];
    const deferred: (() => void)[] = [];
    const defer = (run: () => void): void => void deferred.push(run);
    const replays = [alice, dave].map((m) => new RulesReplay(m.session, 8, defer));

    f.net.partition(['alice', 'bob', 'carol'], ['dave', 'erin']);
    // Each side changes the extensions differently in epoch 1.
    commitEdit(f, alice, replays[0]!, requireProposal(4));
    expect(proposalTypes(alice.session.group)).toEqual([4]);
    f.run(6_000); // the smaller side elects dave
    expect(dave.session.term).toBe(1n);
    commitEdit(f, dave, replays[1]!, requireProposal(5));
    expect(proposalTypes(dave.session.group)).toEqual([5]);

    f.net.heal();
    f.run(10_000);
    // The larger side won; dave's side rolled back and lost its edit ...
    expect(dave.seen.fork?.map((x) => [x.forkEpoch, x.won])).toEqual([[1n, false]]);
    expect(proposalTypes(dave.session.group)).toEqual([4]);
    // ... until the replay makes it again, on top of the winner's.
    expect(deferred).toHaveLength(1);
    for (const run of deferred.splice(0)) run();
    f.run(5_000);
    const auth = toHex(alice.session.group.epochAuthenticator());
    for (const m of f.members) {
      expect(proposalTypes(m.session.group), m.name).toEqual([4, 5]);
      expect(toHex(m.session.group.epochAuthenticator()), m.name).toBe(auth);
    }
    // Alice's edit was on the winning branch: nothing to make again.
    expect(alice.seen.fork?.every((x) => x.won)).toBe(true);
    for (const r of replays) r.dispose();
  });
});
