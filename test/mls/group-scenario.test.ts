import { describe, expect, it } from 'vitest';
import { encode } from '../../src-core/codec/index.js';
import type { CipherSuiteId } from '../../src-core/crypto/types.js';
import { ExtensionType } from '../../src-core/mls/extension.js';
import { externalSendersCodec } from '../../src-core/mls/externalSenders.js';
import { authenticateContent } from '../../src-core/mls/framing/authenticatedContent.js';
import { ContentType, WireFormat } from '../../src-core/mls/framing/framedContent.js';
import { PROTOCOL_VERSION_MLS10 } from '../../src-core/mls/groupContext.js';
import { SenderType } from '../../src-core/mls/framing/sender.js';
import type { GroupState } from '../../src-core/mls/group/index.js';
import {
  leaveGroup,
  processMessage,
  proposeAdd,
  proposeUpdate,
  sendApplicationMessage,
} from '../../src-core/mls/group/index.js';
import type { Proposal } from '../../src-core/mls/proposal.js';
import { ProposalType } from '../../src-core/mls/proposal.js';
import { PSKType, ResumptionPSKUsage } from '../../src-core/mls/psk.js';
import { toHex } from '../support/shared.js';
import { World, basicCredential, expectMlsError, text, wire } from './groupHarness.js';

const add = (w: World, name: string): Proposal => ({
  proposalType: ProposalType.add,
  add: { keyPackage: w.keyPackage(name).keyPackage },
});

/** Delivers a proposal message from `from` to every other member. */
function broadcast(w: World, from: string, message: Uint8Array): void {
  for (const [name, s] of w.states) {
    if (name === from) continue;
    expect(processMessage(s, message).kind).toBe('proposal');
  }
}

describe('a group of up to ten members', () => {
  it.each([1, 3] as CipherSuiteId[])(
    'suite %i: adds, updates, removes, PSKs, by reference and by value',
    (suiteId) => {
      const psk = new Uint8Array(32).fill(7);
      const pskId = text('shared secret #1');
      const w = new World(suiteId, {
        externalPsk: (id) => (toHex(id) === toHex(pskId) ? psk : undefined),
      });
      w.create('alice');

      // 1. Alice adds Bob and Carol in one commit (no path needed: Adds only).
      w.commit('alice', { proposals: [add(w, 'bob'), add(w, 'carol')] }, ['bob', 'carol']);
      expect(w.state('carol').memberCount).toBe(3);
      for (const n of ['alice', 'bob', 'carol']) w.send(n, `hello from ${n}`);

      // 2. Bob proposes adding Dave, Carol proposes an Update; Alice commits both by reference.
      broadcast(
        w,
        'bob',
        wire(proposeAdd(w.state('bob'), w.keyPackage('dave').keyPackage).message),
      );
      broadcast(w, 'carol', wire(proposeUpdate(w.state('carol')).message));
      const carolKeyBefore = toHex(w.state('carol').ownLeafNode.encryptionKey);
      const staged = w.commit('alice', {}, ['dave']);
      expect(staged.get('bob')!.added.map((a) => a.leafIndex)).toEqual([3]);
      expect(staged.get('bob')!.updated.map((u) => u.leafIndex)).toEqual([2]);
      expect(toHex(w.state('carol').ownLeafNode.encryptionKey)).not.toBe(carolKeyBefore);
      w.send('dave', 'dave here');
      w.send('carol', 'carol updated');

      // 3. Carol adds six more in one commit, with an UpdatePath: ten members.
      const names = ['eve', 'frank', 'grace', 'heidi', 'ivan', 'judy'];
      w.commit('carol', { proposals: names.map((n) => add(w, n)), path: 'always' }, names);
      expect(w.state('judy').memberCount).toBe(10);
      for (const n of w.states.keys()) w.send(n, `${n} in a group of ten`);

      // 4. Dave leaves: he proposes his own removal and Eve commits it.
      broadcast(w, 'dave', wire(leaveGroup(w.state('dave')).message));
      const daveLeaf = w.leafOf('dave');
      const s4 = w.commit('eve');
      expect(s4.get('dave')!.selfRemoved).toBe(true);
      expect(s4.get('frank')!.removed).toEqual([daveLeaf]);
      const daveAfter = w.removed.get('dave')!;
      expect(daveAfter.status).toBe('removed');
      expect(() => daveAfter.epochAuthenticator()).toThrow();
      expect(w.state('eve').tree.leafNode(daveLeaf)).toBeUndefined();
      // Dave cannot read what is sent now, and cannot send.
      const secret = w.send('frank', 'dave is gone');
      expectMlsError(() => processMessage(daveAfter, secret), 'wrong_epoch');
      expectMlsError(() => sendApplicationMessage(daveAfter, text('x')), 'group_inactive');

      // 5. Updates by reference from two members and a Remove by value in the same commit.
      broadcast(w, 'grace', wire(proposeUpdate(w.state('grace')).message));
      broadcast(w, 'heidi', wire(proposeUpdate(w.state('heidi')).message));
      const ivanLeaf = w.leafOf('ivan');
      const s5 = w.commit('judy', {
        proposals: [{ proposalType: ProposalType.remove, remove: { removed: ivanLeaf } }],
      });
      expect(
        s5
          .get('alice')!
          .updated.map((u) => u.leafIndex)
          .sort(),
      ).toEqual([w.leafOf('grace'), w.leafOf('heidi')].sort());
      expect(s5.get('alice')!.removed).toEqual([ivanLeaf]);
      const afterIvan = w.send('alice', 'ivan is gone');
      expectMlsError(() => processMessage(w.removed.get('ivan')!, afterIvan), 'wrong_epoch');

      // 6. A commit injecting an external PSK; a member without it cannot follow.
      w.commit('frank', {
        proposals: [
          {
            proposalType: ProposalType.psk,
            psk: {
              psk: {
                pskType: PSKType.external,
                pskId,
                pskNonce: w.suite.randomBytes(w.suite.kdf.size),
              },
            },
          },
        ],
      });
      w.send('bob', 'after the PSK');

      // 7. A resumption PSK of the previous epoch (usage application).
      const prev = w.state('bob').epoch - 1n;
      w.commit('bob', {
        proposals: [
          {
            proposalType: ProposalType.psk,
            psk: {
              psk: {
                pskType: PSKType.resumption,
                usage: ResumptionPSKUsage.application,
                pskGroupId: w.state('bob').groupId,
                pskEpoch: prev,
                pskNonce: w.suite.randomBytes(w.suite.kdf.size),
              },
            },
          },
        ],
      });

      // 8. An external sender is allowed by a GroupContextExtensions commit, then its Remove is
      //    committed by reference.
      const ds = w.suite.generateSignatureKeyPair();
      const senders = encode(externalSendersCodec, [
        { signatureKey: ds.publicKey, credential: basicCredential('delivery service') },
      ]);
      w.commit('alice', {
        proposals: [
          {
            proposalType: ProposalType.groupContextExtensions,
            groupContextExtensions: {
              extensions: [
                { extensionType: ExtensionType.externalSenders, extensionData: senders },
              ],
            },
          },
        ],
      });
      const alice = w.state('alice');
      const heidiLeaf = w.leafOf('heidi');
      const external = authenticateContent(w.suite, {
        signaturePrivateKey: ds.privateKey,
        wireFormat: WireFormat.publicMessage,
        content: {
          groupId: alice.groupId,
          epoch: alice.epoch,
          sender: { senderType: SenderType.external, senderIndex: 0 },
          authenticatedData: new Uint8Array(0),
          contentType: ContentType.proposal,
          proposal: { proposalType: ProposalType.remove, remove: { removed: heidiLeaf } },
        },
        groupContext: alice.groupContext,
      });
      const externalMessage = wire({
        version: PROTOCOL_VERSION_MLS10,
        wireFormat: WireFormat.publicMessage,
        publicMessage: { content: external.content, auth: external.auth },
      });
      broadcast(w, '', externalMessage);
      const s8 = w.commit('grace');
      expect(s8.get('alice')!.removed).toEqual([heidiLeaf]);
      expect(w.states.has('heidi')).toBe(false);
      for (const n of w.states.keys()) w.send(n, `${n} at the end`);
      expect(w.state('alice').memberCount).toBe(7);
    },
  );
});

describe('competing commits', () => {
  it('the losing committer discards its own commit and follows the winner', () => {
    const w = new World();
    w.create('alice');
    w.commit('alice', { proposals: [add(w, 'bob'), add(w, 'carol')] }, ['bob', 'carol']);
    const fromAlice = w.prepare('alice', { path: 'always' });
    const fromBob = w.prepare('bob', { path: 'always' });
    const carol: GroupState = w.state('carol');
    // Carol stages both; the sequencer picks Bob's.
    const a = processMessage(carol, wire(fromAlice.commit));
    const b = processMessage(carol, wire(fromBob.commit));
    if (a.kind !== 'commit' || b.kind !== 'commit') throw new Error('not commits');
    a.staged.discard();
    fromAlice.staged.discard();
    const aliceSees = processMessage(w.state('alice'), wire(fromBob.commit));
    if (aliceSees.kind !== 'commit') throw new Error('not a commit');
    w.states.set('alice', aliceSees.staged.merge());
    w.states.set('bob', fromBob.staged.merge());
    w.states.set('carol', b.staged.merge());
    w.expectAgreement();
    // Merging the discarded or a second staged commit of the same epoch fails.
    expectMlsError(() => a.staged.merge(), 'staged_commit_consumed');
    w.send('alice', 'on the winning branch');
  });
});
