import { describe, expect, it } from 'vitest';
import { encode } from '../../src-core/codec/index.js';
import { cipherSuite } from '../../src-core/crypto/index.js';
import type { Capabilities } from '../../src-core/mls/capabilities.js';
import { requiredCapabilitiesCodec } from '../../src-core/mls/capabilities.js';
import type { Group, GroupEvent, PendingCommit } from '../../src-core/mls/client/index.js';
import { MlsClient } from '../../src-core/mls/client/index.js';
import { CredentialType } from '../../src-core/mls/credential.js';
import type { Extension } from '../../src-core/mls/extension.js';
import { ExtensionType } from '../../src-core/mls/extension.js';
import { SenderType } from '../../src-core/mls/framing/sender.js';
import type { GroupConfig } from '../../src-core/mls/group/index.js';
import { defaultCapabilities } from '../../src-core/mls/group/index.js';
import { ProposalType } from '../../src-core/mls/proposal.js';
import { toHex } from '../support/shared.js';
import { basicCredential, expectMlsError } from './groupHarness.js';

const suite = cipherSuite(1);
const APP_EXT = 0xf0a7;
const OTHER_EXT = 0xf0a8;
const supporting = {
  ...defaultCapabilities(suite, CredentialType.basic),
  extensions: [APP_EXT],
};

const ext = (type: number, data: number[]): Extension => ({
  extensionType: type,
  extensionData: new Uint8Array(data),
});

function client(name: string, config?: GroupConfig): MlsClient {
  return new MlsClient({
    suite,
    credential: basicCredential(name),
    signatureKeyPair: suite.generateSignatureKeyPair(),
    ...(config === undefined ? {} : { config }),
  });
}

function pendingOf(e: GroupEvent): PendingCommit {
  if (e.kind !== 'commit') throw new Error(`expected a commit, got ${e.kind}`);
  return e.commit;
}

function settle(by: Group, out: { commit: Uint8Array; pending: PendingCommit }, others: Group[]) {
  for (const g of others) g.merge(pendingOf(g.process(out.commit)));
  by.merge(out.pending);
}

/**
 * Alice, Bob and Carol; Carol's capabilities list APP_EXT unless `carolSupports` is false. A
 * rogue Bob joins without the policy (his client lets him make what the others refuse).
 */
function threeMembers(carolSupports = true, config?: GroupConfig, rogueBob = false) {
  const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((n) => client(n, config));
  const kp = (c: MlsClient, caps: Capabilities = supporting) =>
    c.createKeyPackages({ count: 1, lastResort: false, capabilities: caps }).oneTime[0]!.message;
  const a = alice!.createGroup({ capabilities: supporting, ...(config ? { config } : {}) });
  const out = a.add([
    kp(bob!),
    kp(carol!, carolSupports ? supporting : defaultCapabilities(suite, CredentialType.basic)),
  ]);
  a.merge(out.pending);
  const b = bob!.joinGroup(out.welcome!, config && !rogueBob ? { config } : { config: {} });
  const c = carol!.joinGroup(out.welcome!, config ? { config } : {});
  return { a, b, c };
}

const extensionsOf = (g: Group) => g.state.groupContext.extensions.map((e) => e.extensionType);

describe('Group.setExtensions: GroupContextExtensions commits (RFC 9420 §12.1.7)', () => {
  it('replaces the extensions for every member, with a path that renews the committer', () => {
    const { a, b, c } = threeMembers();
    const aliceKey = toHex(a.state.ownLeafNode.encryptionKey);
    const out = a.setExtensions([ext(APP_EXT, [1, 2, 3])]);
    const pending = out.pending;
    expect(pending.groupContextExtensions.map((e) => e.extensionType)).toEqual([APP_EXT]);
    expect(a.epoch).toBe(1n); // nothing changes before the merge
    settle(a, out, [b, c]);
    for (const g of [a, b, c]) {
      expect(g.epoch).toBe(2n);
      expect(extensionsOf(g)).toEqual([APP_EXT]);
      expect([...g.state.groupContext.extensions[0]!.extensionData]).toEqual([1, 2, 3]);
      expect(toHex(g.epochAuthenticator())).toBe(toHex(a.epochAuthenticator()));
    }
    // §12.4: a GroupContextExtensions commit carries a path; Alice's leaf key is new.
    expect(toHex(a.state.ownLeafNode.encryptionKey)).not.toBe(aliceKey);
    expect(toHex(b.state.tree.leafNode(0)!.encryptionKey)).toBe(
      toHex(a.state.ownLeafNode.encryptionKey),
    );
    // Replacing again with an empty list removes it.
    settle(b, b.setExtensions([]), [a, c]);
    for (const g of [a, b, c]) expect(extensionsOf(g)).toEqual([]);
  });

  it('refuses an extension a member does not support, and a duplicate type', () => {
    const { a, b, c } = threeMembers(false);
    expectMlsError(() => a.setExtensions([ext(APP_EXT, [1])]), 'unsupported_extension');
    expectMlsError(
      () => a.setExtensions([ext(APP_EXT, [1]), ext(APP_EXT, [2])]),
      'duplicate_extension',
    );
    // A proposal naming it is accepted on its own (its members are checked when committed) ...
    const proposal = b.proposeGroupContextExtensions([ext(APP_EXT, [1])]);
    expect(a.process(proposal.message).kind).toBe('proposal');
    // ... and the commit that would apply it is refused.
    expectMlsError(() => a.commit(), 'unsupported_extension');
    expect(extensionsOf(a)).toEqual([]);
    expect(c.epoch).toBe(1n);
  });

  it('required_capabilities: all members must list them, and later joiners too', () => {
    const { a, b, c } = threeMembers(true);
    const required = {
      extensionType: ExtensionType.requiredCapabilities,
      extensionData: encode(requiredCapabilitiesCodec, {
        extensionTypes: [OTHER_EXT],
        proposalTypes: [],
        credentialTypes: [],
      }),
    };
    // Nobody lists OTHER_EXT.
    expectMlsError(() => a.setExtensions([required]), 'missing_required_capability');
    const requireApp = {
      ...required,
      extensionData: encode(requiredCapabilitiesCodec, {
        extensionTypes: [APP_EXT],
        proposalTypes: [],
        credentialTypes: [],
      }),
    };
    settle(a, a.setExtensions([requireApp, ext(APP_EXT, [7])]), [b, c]);
    // A newcomer without APP_EXT can no longer be added; one with it can.
    const dave = client('dave');
    const plain = dave.createKeyPackages({ count: 1, lastResort: false }).oneTime[0]!.message;
    expectMlsError(() => a.add([plain]), 'missing_required_capability');
    const erin = client('erin');
    const good = erin.createKeyPackages({ count: 1, lastResort: false, capabilities: supporting })
      .oneTime[0]!.message;
    const added = a.add([good]);
    settle(a, added, [b, c]);
    const e = erin.joinGroup(added.welcome!);
    expect(extensionsOf(e)).toEqual([ExtensionType.requiredCapabilities, APP_EXT]);
  });

  it("a proposal committed by reference; the application's policy is run by every member", () => {
    // Only leaf 0 may change the extensions.
    const config: GroupConfig = {
      proposalPolicy: (p, sender) =>
        p.proposalType !== ProposalType.groupContextExtensions ||
        (sender.senderType === SenderType.member && sender.leafIndex === 0),
    };
    const { a, b, c } = threeMembers(true, config);
    const byAlice = a.proposeGroupContextExtensions([ext(APP_EXT, [9])]);
    b.process(byAlice.message);
    c.process(byAlice.message);
    settle(b, b.commit(), [a, c]);
    for (const g of [a, b, c]) expect(extensionsOf(g)).toEqual([APP_EXT]);
    // Bob's own client refuses; a rogue Bob (joined without the policy) is refused by the others.
    expectMlsError(() => b.setExtensions([]), 'proposal_rejected_by_policy');
    const rogue = threeMembers(true, config, true);
    const commit = rogue.b.setExtensions([ext(APP_EXT, [6])]);
    const proposal = rogue.b.proposeGroupContextExtensions([ext(APP_EXT, [5])]);
    for (const g of [rogue.a, rogue.c]) {
      expectMlsError(() => g.process(commit.commit), 'proposal_rejected_by_policy');
      expectMlsError(() => g.process(proposal.message), 'proposal_rejected_by_policy');
      expect(g.epoch).toBe(1n);
      expect(extensionsOf(g)).toEqual([]);
    }
  });
});
