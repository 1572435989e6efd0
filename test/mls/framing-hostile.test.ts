import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cipherSuite } from '../../src-core/crypto/index.js';
import { MlsError } from '../../src-core/mls/errors.js';
import type { SignatureKeyLookup } from '../../src-core/mls/framing/index.js';
import {
  SenderType,
  WireFormat,
  decodeMlsMessage,
  encodeMlsMessage,
  protectApplicationData,
  protectProposal,
  unprotectMessage,
} from '../../src-core/mls/framing/index.js';
import { ProposalType } from '../../src-core/mls/proposal.js';
import { SecretTree } from '../../src-core/mls/secretTree.js';

/**
 * Bytes from the network: any mutation of a genuine message either decodes and unprotects to
 * exactly the genuine content (a no-op mutation) or fails with an MlsError, never another
 * exception, and a failure consumes no secret-tree key.
 */
describe('framing: hostile bytes', () => {
  const suite = cipherSuite(1);
  const keys = [suite.generateSignatureKeyPair(), suite.generateSignatureKeyPair()];
  const groupContext = {
    version: 1,
    cipherSuite: 1,
    groupId: suite.randomBytes(16),
    epoch: 3n,
    treeHash: suite.randomBytes(32),
    confirmedTranscriptHash: suite.randomBytes(32),
    extensions: [],
  };
  const encryptionSecret = suite.randomBytes(32);
  const membershipKey = suite.randomBytes(32);
  const senderDataSecret = suite.randomBytes(32);
  const view = () => ({
    suite,
    groupContext,
    membershipKey,
    senderDataSecret,
    secretTree: new SecretTree(suite, encryptionSecret.slice(), 2),
  });
  const lookup: SignatureKeyLookup = (s) =>
    s.senderType === SenderType.member ? keys[s.leafIndex]?.publicKey : undefined;
  const me = { leafIndex: 1, signaturePrivateKey: keys[1]!.privateKey };

  const sender = view();
  const messages = [
    protectApplicationData(sender, me, new TextEncoder().encode('hi there')),
    protectProposal(
      sender,
      me,
      { proposalType: ProposalType.remove, remove: { removed: 0 } },
      WireFormat.publicMessage,
    ),
    protectProposal(
      sender,
      me,
      { proposalType: ProposalType.remove, remove: { removed: 0 } },
      WireFormat.privateMessage,
    ),
  ].map((p) => ({ bytes: encodeMlsMessage(p.message), authenticated: p.authenticated }));

  const mutation = fc.record({
    which: fc.integer({ min: 0, max: messages.length - 1 }),
    edits: fc.array(fc.record({ at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }), {
      minLength: 1,
      maxLength: 3,
    }),
    cut: fc.option(fc.nat(), { nil: undefined }),
  });

  it('mutated messages fail with an MlsError and consume nothing', () => {
    fc.assert(
      fc.property(mutation, ({ which, edits, cut }) => {
        const { bytes, authenticated } = messages[which]!;
        let b = bytes.slice();
        for (const e of edits) b[e.at % b.length] ^= e.xor;
        if (cut !== undefined) b = b.subarray(0, cut % b.length);
        const receiver = view();
        const before = receiver.secretTree.stats();
        try {
          const got = unprotectMessage(receiver, decodeMlsMessage(b), lookup);
          // Only a mutation the signature does not cover could pass: there is none.
          expect(got).toEqual(authenticated);
        } catch (e) {
          if (!(e instanceof MlsError)) throw e;
          expect(receiver.secretTree.stats()).toEqual(before);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('random bytes fail with an MlsError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        try {
          decodeMlsMessage(b);
        } catch (e) {
          if (!(e instanceof MlsError)) throw e;
        }
      }),
      { numRuns: 3000 },
    );
  });
});
