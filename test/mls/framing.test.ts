import { describe, expect, it } from 'vitest';
import { cipherSuite } from '../../src-core/crypto/index.js';
import type { CipherSuite } from '../../src-core/crypto/types.js';
import { MlsError } from '../../src-core/mls/errors.js';
import type { MlsErrorCode } from '../../src-core/mls/errors.js';
import type {
  AuthenticatedContent,
  EpochFramingState,
  FramedMlsMessage,
  PrivateMessage,
  PublicMessage,
  SignatureKeyLookup,
} from '../../src-core/mls/framing/index.js';
import {
  ContentType,
  SenderType,
  WireFormat,
  authenticateContent,
  computeMembershipTag,
  decodeMlsMessage,
  encodeMlsMessage,
  encodePrivateMessageContentUnpadded,
  applyReuseGuard,
  encryptSenderData,
  privateContentAAD,
  protectApplicationData,
  protectAuthenticated,
  protectCommit,
  protectProposal,
  unprotectMessage,
  unprotectPrivateMessage,
  unprotectPublicMessage,
} from '../../src-core/mls/framing/index.js';
import type { GroupContext } from '../../src-core/mls/groupContext.js';
import type { Proposal } from '../../src-core/mls/proposal.js';
import { ProposalType } from '../../src-core/mls/proposal.js';
import { SecretTree } from '../../src-core/mls/secretTree.js';

const LEAVES = 4;
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A four-member group in one epoch: each member's view has its own secret tree. */
function group(suiteId: 1 | 2 | 3 = 1) {
  const suite: CipherSuite = cipherSuite(suiteId);
  const groupContext: GroupContext = {
    version: 1,
    cipherSuite: suiteId,
    groupId: suite.randomBytes(16),
    epoch: 7n,
    treeHash: suite.randomBytes(suite.hash.size),
    confirmedTranscriptHash: suite.randomBytes(suite.hash.size),
    extensions: [],
  };
  const encryptionSecret = suite.randomBytes(suite.kdf.size);
  const membershipKey = suite.randomBytes(suite.kdf.size);
  const senderDataSecret = suite.randomBytes(suite.kdf.size);
  const keys = Array.from({ length: LEAVES }, () => suite.generateSignatureKeyPair());
  // Leaf 3 is blank.
  const lookup: SignatureKeyLookup = (s) =>
    s.senderType === SenderType.member && s.leafIndex < 3
      ? keys[s.leafIndex]!.publicKey
      : undefined;
  const view = (over: Partial<EpochFramingState> = {}): EpochFramingState => ({
    suite,
    groupContext,
    membershipKey,
    senderDataSecret,
    // SecretTree takes ownership of (and later wipes) the secret it is given.
    secretTree: new SecretTree(suite, encryptionSecret.slice(), LEAVES),
    ...over,
  });
  const member = (leafIndex: number) => ({
    leafIndex,
    signaturePrivateKey: keys[leafIndex]!.privateKey,
  });
  return { suite, groupContext, keys, lookup, view, member, membershipKey, senderDataSecret };
}

const removeProposal: Proposal = { proposalType: ProposalType.remove, remove: { removed: 2 } };

function codeOf(f: () => unknown): MlsErrorCode | string {
  try {
    f();
  } catch (e) {
    if (e instanceof MlsError) return e.code;
    return `not an MlsError: ${String(e)}`;
  }
  return 'no error';
}

function priv(m: FramedMlsMessage): PrivateMessage {
  if (m.wireFormat !== WireFormat.privateMessage) throw new Error('expected a PrivateMessage');
  return m.privateMessage;
}

function pub(m: FramedMlsMessage): PublicMessage {
  if (m.wireFormat !== WireFormat.publicMessage) throw new Error('expected a PublicMessage');
  return m.publicMessage;
}

function appData(ac: AuthenticatedContent): string {
  if (ac.content.contentType !== ContentType.application) throw new Error('not application data');
  return new TextDecoder().decode(ac.content.applicationData);
}

function flip(b: Uint8Array, at: number): Uint8Array {
  const out = b.slice();
  const i = at < 0 ? out.length + at : at;
  out[i] = out[i]! ^ 0x01;
  return out;
}

describe('framing: round trips', () => {
  for (const id of [1, 2, 3] as const) {
    it(`suite ${id}: application, proposal and commit as Private and Public messages`, () => {
      const g = group(id);
      const alice = g.view();
      const bob = g.view();
      const a = g.member(0);

      const m1 = protectApplicationData(alice, a, text('hello'), { authenticatedData: text('ad') });
      const got = unprotectMessage(bob, decodeMlsMessage(encodeMlsMessage(m1.message)), g.lookup);
      expect(appData(got)).toBe('hello');
      expect(got.content.authenticatedData).toEqual(text('ad'));
      expect(got.content.sender).toEqual({ senderType: SenderType.member, leafIndex: 0 });

      for (const wf of [WireFormat.publicMessage, WireFormat.privateMessage] as const) {
        const p = protectProposal(alice, a, removeProposal, wf);
        const back = unprotectMessage(bob, decodeMlsMessage(encodeMlsMessage(p.message)), g.lookup);
        expect(back).toEqual(p.authenticated);

        const tag = g.suite.randomBytes(g.suite.hash.size);
        const c = protectCommit(alice, a, { proposals: [], path: undefined }, wf, () => tag);
        const cBack = unprotectMessage(
          bob,
          decodeMlsMessage(encodeMlsMessage(c.message)),
          g.lookup,
        );
        expect(cBack.auth.confirmationTag).toEqual(tag);
        expect(cBack).toEqual(c.authenticated);
      }
    });
  }

  it('application messages out of order within the window decrypt; a replay does not', () => {
    const g = group();
    const alice = g.view();
    const bob = g.view();
    const sent = [0, 1, 2, 3, 4].map((i) =>
      protectApplicationData(alice, g.member(1), text(`m${i}`)),
    );
    for (const i of [4, 2, 0, 3, 1]) {
      expect(appData(unprotectMessage(bob, sent[i]!.message, g.lookup))).toBe(`m${i}`);
    }
    expect(codeOf(() => unprotectMessage(bob, sent[2]!.message, g.lookup))).toBe(
      'key_already_used',
    );
  });

  it('application data is never sent or accepted as a PublicMessage', () => {
    const g = group();
    const alice = g.view();
    const content = {
      groupId: g.groupContext.groupId,
      epoch: g.groupContext.epoch,
      sender: { senderType: SenderType.member, leafIndex: 0 },
      authenticatedData: new Uint8Array(0),
      contentType: ContentType.application,
      applicationData: text('x'),
    } as const;
    const ac = authenticateContent(g.suite, {
      signaturePrivateKey: g.member(0).signaturePrivateKey,
      wireFormat: WireFormat.publicMessage,
      content,
      groupContext: g.groupContext,
    });
    expect(codeOf(() => protectAuthenticated(alice, ac))).toBe('invalid_content_type');
    // Built by hand, as a hostile sender would.
    const membershipTag = computeMembershipTag(
      g.suite,
      g.membershipKey,
      content,
      ac.auth,
      g.groupContext,
    );
    const forged: PublicMessage = { content, auth: ac.auth, membershipTag };
    expect(codeOf(() => unprotectPublicMessage(g.view(), forged, g.lookup))).toBe(
      'invalid_content_type',
    );
  });
});

describe('framing: rejected PrivateMessages change no secret-tree state', () => {
  /**
   * Each case: a receiver sees the damaged message first (and must reject it with the given
   * code), then the genuine one, which must still decrypt: the damaged attempt consumed no key.
   */
  function rejectsThenAcceptsGenuine(
    damage: (m: PrivateMessage, g: ReturnType<typeof group>) => PrivateMessage,
    code: MlsErrorCode,
  ): void {
    const g = group();
    const bob = g.view();
    const genuine = priv(protectApplicationData(g.view(), g.member(0), text('genuine')).message);
    const before = bob.secretTree.stats();
    expect(codeOf(() => unprotectPrivateMessage(bob, damage(genuine, g), g.lookup))).toBe(code);
    expect(bob.secretTree.stats()).toEqual(before);
    expect(appData(unprotectPrivateMessage(bob, genuine, g.lookup))).toBe('genuine');
  }

  it('tampered ciphertext (past the sender-data sample) -> decryption_failed', () => {
    rejectsThenAcceptsGenuine(
      (m) => ({ ...m, ciphertext: flip(m.ciphertext, -1) }),
      'decryption_failed',
    );
  });

  it('tampered ciphertext sample -> sender_data_decryption_failed', () => {
    rejectsThenAcceptsGenuine(
      (m) => ({ ...m, ciphertext: flip(m.ciphertext, 0) }),
      'sender_data_decryption_failed',
    );
  });

  it('tampered sender data -> sender_data_decryption_failed', () => {
    rejectsThenAcceptsGenuine(
      (m) => ({ ...m, encryptedSenderData: flip(m.encryptedSenderData, 2) }),
      'sender_data_decryption_failed',
    );
  });

  it('tampered authenticated_data -> decryption_failed', () => {
    rejectsThenAcceptsGenuine(
      (m) => ({ ...m, authenticatedData: text('injected') }),
      'decryption_failed',
    );
  });

  it('wrong epoch -> wrong_epoch', () => {
    rejectsThenAcceptsGenuine((m) => ({ ...m, epoch: m.epoch + 1n }), 'wrong_epoch');
  });

  it('wrong group -> wrong_group', () => {
    rejectsThenAcceptsGenuine((m) => ({ ...m, groupId: flip(m.groupId, 0) }), 'wrong_group');
  });

  it('content type changed in the header -> sender_data_decryption_failed', () => {
    rejectsThenAcceptsGenuine(
      (m) => ({ ...m, contentType: ContentType.proposal }),
      'sender_data_decryption_failed',
    );
  });
});

describe('framing: messages from a sender holding the keys', () => {
  /**
   * These forgeries need the epoch's keys (a member, or a sender state copied from one), so they
   * are encrypted with a second copy of the sender's secret tree: the same generation as the
   * genuine message, which the receiver must still accept afterwards.
   */
  function sealRaw(
    g: ReturnType<typeof group>,
    leafIndex: number,
    plaintext: Uint8Array,
    contentType: ContentType,
  ): PrivateMessage {
    const sender = g.view();
    const header = {
      groupId: g.groupContext.groupId,
      epoch: g.groupContext.epoch,
      contentType,
      authenticatedData: new Uint8Array(0),
    };
    const kind = contentType === ContentType.application ? 'application' : 'handshake';
    const { generation, key, nonce } = sender.secretTree.nextSendKey(leafIndex, kind);
    const reuseGuard = g.suite.randomBytes(4);
    const ciphertext = g.suite.aead.seal(
      key,
      applyReuseGuard(nonce, reuseGuard),
      privateContentAAD(header),
      plaintext,
    );
    const encryptedSenderData = encryptSenderData(g.suite, g.senderDataSecret, ciphertext, header, {
      leafIndex,
      generation,
      reuseGuard,
    });
    return { ...header, encryptedSenderData, ciphertext };
  }

  function signed(
    g: ReturnType<typeof group>,
    leafIndex: number,
    data: string,
  ): AuthenticatedContent {
    return authenticateContent(g.suite, {
      signaturePrivateKey: g.member(leafIndex).signaturePrivateKey,
      wireFormat: WireFormat.privateMessage,
      content: {
        groupId: g.groupContext.groupId,
        epoch: g.groupContext.epoch,
        sender: { senderType: SenderType.member, leafIndex },
        authenticatedData: new Uint8Array(0),
        contentType: ContentType.application,
        applicationData: text(data),
      },
      groupContext: g.groupContext,
    });
  }

  function plaintextOf(ac: AuthenticatedContent, padding: Uint8Array): Uint8Array {
    const body = encodePrivateMessageContentUnpadded({ body: ac.content, auth: ac.auth });
    const out = new Uint8Array(body.length + padding.length);
    out.set(body, 0);
    out.set(padding, body.length);
    return out;
  }

  function thenGenuine(g: ReturnType<typeof group>, bob: EpochFramingState): void {
    const genuine = priv(protectApplicationData(g.view(), g.member(0), text('genuine')).message);
    expect(appData(unprotectPrivateMessage(bob, genuine, g.lookup))).toBe('genuine');
  }

  it('zero padding of any length is accepted (the construction itself is sound)', () => {
    const g = group();
    const m = sealRaw(
      g,
      0,
      plaintextOf(signed(g, 0, 'ok'), new Uint8Array(37)),
      ContentType.application,
    );
    expect(appData(unprotectPrivateMessage(g.view(), m, g.lookup))).toBe('ok');
  });

  it('non-zero padding -> invalid_padding, no key consumed', () => {
    const g = group();
    const bob = g.view();
    const padding = new Uint8Array(37);
    padding[36] = 1;
    const m = sealRaw(g, 0, plaintextOf(signed(g, 0, 'covert'), padding), ContentType.application);
    const before = bob.secretTree.stats();
    expect(codeOf(() => unprotectPrivateMessage(bob, m, g.lookup))).toBe('invalid_padding');
    expect(bob.secretTree.stats()).toEqual(before);
    thenGenuine(g, bob);
  });

  it('bad signature -> invalid_signature, no key consumed', () => {
    const g = group();
    const bob = g.view();
    const ac = signed(g, 0, 'forged');
    const bad = { ...ac, auth: { signature: flip(ac.auth.signature, 5) } };
    const m = sealRaw(g, 0, plaintextOf(bad, new Uint8Array(0)), ContentType.application);
    expect(codeOf(() => unprotectPrivateMessage(bob, m, g.lookup))).toBe('invalid_signature');
    thenGenuine(g, bob);
  });

  it('signed by another member than the sender data names -> invalid_signature', () => {
    const g = group();
    const bob = g.view();
    // Leaf 1 signs, but the content and sender data say leaf 0.
    const ac = authenticateContent(g.suite, {
      signaturePrivateKey: g.member(1).signaturePrivateKey,
      wireFormat: WireFormat.privateMessage,
      content: signed(g, 0, 'x').content,
      groupContext: g.groupContext,
    });
    const m = sealRaw(g, 0, plaintextOf(ac, new Uint8Array(0)), ContentType.application);
    expect(codeOf(() => unprotectPrivateMessage(bob, m, g.lookup))).toBe('invalid_signature');
    thenGenuine(g, bob);
  });

  it('a blank leaf as sender -> invalid_sender', () => {
    const g = group();
    const m = sealRaw(
      g,
      3,
      plaintextOf(signed(g, 3, 'x'), new Uint8Array(0)),
      ContentType.application,
    );
    expect(codeOf(() => unprotectPrivateMessage(g.view(), m, g.lookup))).toBe('invalid_sender');
  });

  it('a plaintext that is not a PrivateMessageContent -> decode_failed', () => {
    const g = group();
    const m = sealRaw(g, 0, Uint8Array.of(0xff, 0xff), ContentType.application);
    expect(codeOf(() => unprotectPrivateMessage(g.view(), m, g.lookup))).toBe('decode_failed');
  });
});

describe('framing: PublicMessage checks', () => {
  function proposalMessage(g: ReturnType<typeof group>): PublicMessage {
    return pub(
      protectProposal(g.view(), g.member(1), removeProposal, WireFormat.publicMessage).message,
    );
  }

  it('tampered membership tag -> invalid_membership_tag', () => {
    const g = group();
    const m = proposalMessage(g);
    const bad = { ...m, membershipTag: flip(m.membershipTag!, 0) };
    expect(codeOf(() => unprotectPublicMessage(g.view(), bad, g.lookup))).toBe(
      'invalid_membership_tag',
    );
  });

  it('tampered content under a valid membership tag -> invalid_signature', () => {
    const g = group();
    const m = proposalMessage(g);
    const content = { ...m.content, authenticatedData: text('changed') };
    // A member knows the membership key and can recompute the tag, but not forge the signature.
    const membershipTag = computeMembershipTag(
      g.suite,
      g.membershipKey,
      content,
      m.auth,
      g.groupContext,
    );
    expect(
      codeOf(() => unprotectPublicMessage(g.view(), { ...m, content, membershipTag }, g.lookup)),
    ).toBe('invalid_signature');
  });

  it('tampered content without the membership key -> invalid_membership_tag', () => {
    const g = group();
    const m = proposalMessage(g);
    const content = { ...m.content, authenticatedData: text('changed') };
    expect(codeOf(() => unprotectPublicMessage(g.view(), { ...m, content }, g.lookup))).toBe(
      'invalid_membership_tag',
    );
  });

  it('wrong group and wrong epoch', () => {
    const g = group();
    const m = proposalMessage(g);
    const otherGroup = { ...m, content: { ...m.content, groupId: flip(m.content.groupId, 0) } };
    expect(codeOf(() => unprotectPublicMessage(g.view(), otherGroup, g.lookup))).toBe(
      'wrong_group',
    );
    const otherEpoch = { ...m, content: { ...m.content, epoch: 6n } };
    expect(codeOf(() => unprotectPublicMessage(g.view(), otherEpoch, g.lookup))).toBe(
      'wrong_epoch',
    );
  });

  it('a PublicMessage signed for the GroupContext of another epoch does not verify', () => {
    const g = group();
    const m = proposalMessage(g);
    const ctx = { ...g.groupContext, treeHash: flip(g.groupContext.treeHash, 0) };
    const view = g.view({ groupContext: ctx });
    const membershipTag = computeMembershipTag(g.suite, g.membershipKey, m.content, m.auth, ctx);
    expect(codeOf(() => unprotectPublicMessage(view, { ...m, membershipTag }, g.lookup))).toBe(
      'invalid_signature',
    );
  });

  it('an external sender may not send a commit, a new member may not propose a Remove', () => {
    const g = group();
    const m = proposalMessage(g);
    const asNewMember: PublicMessage = {
      content: { ...m.content, sender: { senderType: SenderType.newMemberProposal } },
      auth: m.auth,
    };
    expect(codeOf(() => unprotectPublicMessage(g.view(), asNewMember, g.lookup))).toBe(
      'invalid_sender',
    );
    const commit = pub(
      protectCommit(
        g.view(),
        g.member(1),
        { proposals: [], path: undefined },
        WireFormat.publicMessage,
        () => new Uint8Array(32),
      ).message,
    );
    const asExternal: PublicMessage = {
      content: { ...commit.content, sender: { senderType: SenderType.external, senderIndex: 0 } },
      auth: commit.auth,
    };
    expect(codeOf(() => unprotectPublicMessage(g.view(), asExternal, g.lookup))).toBe(
      'invalid_sender',
    );
  });

  it('an external sender proposal verifies against the key the lookup gives', () => {
    const g = group();
    const ext = g.suite.generateSignatureKeyPair();
    const content = {
      groupId: g.groupContext.groupId,
      epoch: g.groupContext.epoch,
      sender: { senderType: SenderType.external, senderIndex: 0 },
      authenticatedData: new Uint8Array(0),
      contentType: ContentType.proposal,
      proposal: removeProposal,
    } as const;
    const ac = authenticateContent(g.suite, {
      signaturePrivateKey: ext.privateKey,
      wireFormat: WireFormat.publicMessage,
      content,
      groupContext: g.groupContext,
    });
    const m = pub(protectAuthenticated(g.view(), ac));
    expect(m.membershipTag).toBeUndefined();
    const lookup: SignatureKeyLookup = (s) =>
      s.senderType === SenderType.external && s.senderIndex === 0 ? ext.publicKey : undefined;
    expect(unprotectPublicMessage(g.view(), m, lookup)).toEqual(ac);
    expect(codeOf(() => unprotectPublicMessage(g.view(), m, g.lookup))).toBe('invalid_sender');
    // An external sender cannot encrypt: it has no place in the secret tree.
    const acPriv = { ...ac, wireFormat: WireFormat.privateMessage } as const;
    expect(codeOf(() => protectAuthenticated(g.view(), acPriv))).toBe('invalid_sender');
  });
});

describe('framing: MLSMessage decoding', () => {
  it('rejects an unknown version, an unknown wire format, truncation and trailing bytes', () => {
    const g = group();
    const bytes = encodeMlsMessage(
      protectApplicationData(g.view(), g.member(0), text('x')).message,
    );
    expect(decodeMlsMessage(bytes).wireFormat).toBe(WireFormat.privateMessage);
    const v2 = bytes.slice();
    v2[1] = 2;
    expect(codeOf(() => decodeMlsMessage(v2))).toBe('unsupported_version');
    const wf = bytes.slice();
    wf[3] = 9;
    expect(codeOf(() => decodeMlsMessage(wf))).toBe('invalid_wire_format');
    expect(codeOf(() => decodeMlsMessage(bytes.subarray(0, bytes.length - 1)))).toBe(
      'decode_failed',
    );
    expect(codeOf(() => decodeMlsMessage(Uint8Array.of(0, 1)))).toBe('decode_failed');
    const trailing = new Uint8Array(bytes.length + 1);
    trailing.set(bytes);
    expect(codeOf(() => decodeMlsMessage(trailing))).toBe('decode_failed');
  });

  it('rejects an unknown content type in a PrivateMessage header', () => {
    const g = group();
    const m = priv(protectApplicationData(g.view(), g.member(0), text('x')).message);
    const bytes = encodeMlsMessage({
      version: 1,
      wireFormat: WireFormat.privateMessage,
      privateMessage: m,
    });
    // version(2) wire_format(2) group_id<V>(1 + 16) epoch(8) content_type(1)
    const at = 4 + 1 + 16 + 8;
    expect(bytes[at]).toBe(ContentType.application);
    const bad = bytes.slice();
    bad[at] = 4;
    expect(codeOf(() => decodeMlsMessage(bad))).toBe('decode_failed');
  });
});
