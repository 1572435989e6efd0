/**
 * A malicious (or broken) committer for negative tests: it builds commits the way an honest
 * member does — proposals applied to a staged tree, an UpdatePath from the TreeKEM primitives,
 * the key schedule, a correct signature, membership tag and confirmation tag — but skips every
 * check of §12.2 and §12.4.1, and lets a test change one thing at a time (a proposal list that
 * breaks a rule, a path whose leaf or keys are wrong, a foreign signer, another epoch).
 *
 * So a rejected commit is rejected for the one rule the test broke: everything else about it is
 * what a valid commit would carry. `forgeCommit` with no options gives a commit that members
 * accept (the control case in the rule tests shows it).
 *
 * Test-only: it reuses the library's building blocks and never touches production code paths
 * beyond calling them.
 */
import { encode } from '../../src-core/codec/index.js';
import type { KeyPair } from '../../src-core/crypto/types.js';
import type { ProposalOrRef } from '../../src-core/mls/commit.js';
import type { Credential } from '../../src-core/mls/credential.js';
import { ProposalOrRefType } from '../../src-core/mls/commit.js';
import type { Extension } from '../../src-core/mls/extension.js';
import type { AuthenticatedContent } from '../../src-core/mls/framing/authenticatedContent.js';
import { authenticateCommit } from '../../src-core/mls/framing/authenticatedContent.js';
import type { FramedContent, FramingWireFormat } from '../../src-core/mls/framing/framedContent.js';
import { ContentType, WireFormat } from '../../src-core/mls/framing/framedContent.js';
import type { FramedMlsMessage } from '../../src-core/mls/framing/mlsMessage.js';
import { encodeMlsMessage } from '../../src-core/mls/framing/mlsMessage.js';
import { protectAuthenticated } from '../../src-core/mls/framing/protect.js';
import { toPublicMessage } from '../../src-core/mls/framing/publicMessage.js';
import type { Sender } from '../../src-core/mls/framing/sender.js';
import { SenderType, memberSender } from '../../src-core/mls/framing/sender.js';
import type { GroupState } from '../../src-core/mls/group/index.js';
import { nextEpoch } from '../../src-core/mls/group/epochTransition.js';
import type { GroupContext } from '../../src-core/mls/groupContext.js';
import { PROTOCOL_VERSION_MLS10, groupContextCodec } from '../../src-core/mls/groupContext.js';
import { externalInitSend, zeroSecret } from '../../src-core/mls/keySchedule.js';
import type { LeafNode, LeafNodeContent } from '../../src-core/mls/leafNode.js';
import { LeafNodeSource, signLeafNode } from '../../src-core/mls/leafNode.js';
import type { Proposal } from '../../src-core/mls/proposal.js';
import { ProposalType, isCustomProposal } from '../../src-core/mls/proposal.js';
import type { PreSharedKeyID, PskInput } from '../../src-core/mls/psk.js';
import { PSKType, computePskSecret } from '../../src-core/mls/psk.js';
import type { RatchetTree } from '../../src-core/mls/ratchetTree/index.js';
import {
  applyAdd,
  applyRemove,
  applyUpdate,
  filteredDirectPath,
  resolutionExcluding,
} from '../../src-core/mls/ratchetTree/index.js';
import type { TreeDiff } from '../../src-core/mls/ratchetTree/index.js';
import {
  UPDATE_PATH_NODE_LABEL,
  mergePathPublic,
  nextPathSecret,
  nodeKeyPair,
} from '../../src-core/mls/treekem/index.js';
import type { LeafIndex } from '../../src-core/mls/treeMath.js';
import type { UpdatePath, UpdatePathNode } from '../../src-core/mls/updatePath.js';

/** How the UpdatePath departs from an honest one. Every hook defaults to the honest value. */
export interface ForgePathOptions {
  /** The committer's new leaf content before it is signed (source, keys, capabilities, ...). */
  readonly leaf?: (honest: LeafNodeContent) => LeafNodeContent;
  /** Sign the leaf with this key instead of the committer's. */
  readonly leafSigner?: Uint8Array;
  /** The LeafNodeTBS binding (group id, leaf index) the leaf is signed over. */
  readonly leafBinding?: { groupId: Uint8Array; leafIndex: LeafIndex };
  /**
   * The public keys published for the filtered direct path. Parent hashes and the tree follow
   * the published keys; the encrypted path secrets stay those of the honest chain.
   */
  readonly publicKeys?: (honest: readonly Uint8Array[]) => Uint8Array[];
  /** The leaf's parent_hash, after it was computed from the published keys. */
  readonly parentHash?: (honest: Uint8Array) => Uint8Array;
  /** What is encrypted for path node `i` (honest: the i-th path secret). */
  readonly encryptedSecret?: (i: number, honest: Uint8Array) => Uint8Array;
  /** The final nodes, after encryption (drop, add or reorder ciphertexts). */
  readonly nodes?: (honest: UpdatePathNode[]) => UpdatePathNode[];
}

export interface ForgeCommitOptions {
  /** The proposals exactly as sent (by value or by reference). Default: none. */
  readonly proposals?: readonly ProposalOrRef[];
  /** 'none' sends no UpdatePath. Default: an UpdatePath, shaped by the hooks given. */
  readonly path?: 'none' | ForgePathOptions;
  readonly wireFormat?: FramingWireFormat;
  /** Default: the forger's own leaf (or new_member_commit with `external`). */
  readonly sender?: Sender;
  /** The key that signs the FramedContent (default: the forger's leaf key). */
  readonly signer?: Uint8Array;
  /** Header fields, for commits of another group or epoch (PublicMessage only). */
  readonly groupId?: Uint8Array;
  readonly epoch?: bigint;
  /** The confirmation tag sent, given the correct one. */
  readonly confirmationTag?: (honest: Uint8Array) => Uint8Array;
  /** The membership key for the PublicMessage's tag (default: the epoch's). */
  readonly membershipKey?: Uint8Array;
  /** PSK values the forger uses (default: its own config and resumption PSKs, else zeros). */
  readonly psk?: (id: PreSharedKeyID) => Uint8Array | undefined;
  /**
   * An external commit (§12.4.3.2) by a new member with this signature key pair and leaf: the
   * init secret comes from external_pub, the joiner takes the leftmost blank leaf.
   */
  readonly external?: {
    readonly signature: KeyPair;
    readonly credential: Credential;
    readonly kemOutput?: Uint8Array;
    /** How many ExternalInit proposals to send (default 1). */
    readonly externalInits?: number;
  };
}

export interface ForgedCommit {
  readonly message: FramedMlsMessage;
  readonly bytes: Uint8Array;
  readonly authenticated: AuthenticatedContent;
  /** The epoch authenticator of the epoch the commit would start (for the control case). */
  readonly epochAuthenticator: Uint8Array;
  /** The committer's leaf in the new tree. */
  readonly committerLeaf: LeafIndex;
  /** The tree of the epoch the commit would start, as the forger computed it. */
  readonly tree: RatchetTree;
  /** The GroupContext of that epoch (with the commit in its transcript). */
  readonly groupContext: GroupContext;
}

/** Proposals by value, for `proposals`. */
export function byValue(...proposals: Proposal[]): ProposalOrRef[] {
  return proposals.map((proposal) => ({ type: ProposalOrRefType.proposal, proposal }));
}

/** Proposals by reference, for `proposals`. */
export function byRef(...refs: Uint8Array[]): ProposalOrRef[] {
  return refs.map((reference) => ({ type: ProposalOrRefType.reference, reference }));
}

interface Applied {
  readonly diff: TreeDiff;
  readonly extensions: readonly Extension[];
  readonly added: LeafIndex[];
  readonly psks: PreSharedKeyID[];
}

/**
 * The proposals applied in the RFC's order (§12.3), as far as they can be: an operation the tree
 * refuses (a Remove of a blank leaf) is skipped. No rule of §12.2 is checked.
 */
function applyLoosely(
  state: GroupState,
  proposals: readonly ProposalOrRef[],
  sender: Sender,
): Applied {
  const entries: { p: Proposal; from: Sender }[] = [];
  for (const por of proposals) {
    if (por.type === ProposalOrRefType.proposal) {
      entries.push({ p: por.proposal, from: sender });
    } else {
      const cached = state.proposals.get(por.reference);
      if (cached !== undefined) entries.push({ p: cached.proposal, from: cached.sender });
    }
  }
  const diff = state.tree.stage();
  let extensions = state.groupContext.extensions;
  const psks: PreSharedKeyID[] = [];
  const tryDo = (f: () => unknown): void => {
    try {
      f();
    } catch {
      // The honest checks would refuse this; the forger applies what it can.
    }
  };
  const updates: [LeafIndex, LeafNode][] = [];
  const removes: LeafIndex[] = [];
  const adds: LeafNode[] = [];
  for (const { p, from } of entries) {
    if (isCustomProposal(p)) continue;
    switch (p.proposalType) {
      case ProposalType.groupContextExtensions:
        extensions = p.groupContextExtensions.extensions;
        break;
      case ProposalType.update:
        if (from.senderType === SenderType.member)
          updates.push([from.leafIndex, p.update.leafNode]);
        break;
      case ProposalType.remove:
        removes.push(p.remove.removed);
        break;
      case ProposalType.add:
        adds.push(p.add.keyPackage.leafNode);
        break;
      case ProposalType.psk:
        psks.push(p.psk.psk);
        break;
      default:
        break;
    }
  }
  for (const [leaf, node] of updates) tryDo(() => applyUpdate(diff, leaf, node));
  for (const leaf of removes) tryDo(() => applyRemove(diff, leaf));
  const added: LeafIndex[] = [];
  for (const node of adds) tryDo(() => added.push(applyAdd(diff, node)));
  return { diff, extensions, added, psks };
}

function pskValues(
  state: GroupState,
  ids: readonly PreSharedKeyID[],
  lookup: ForgeCommitOptions['psk'],
): PskInput[] {
  const size = state.suite.kdf.size;
  return ids.map((id) => {
    let psk = lookup?.(id);
    if (psk === undefined) {
      psk =
        id.pskType === PSKType.external
          ? state.config.externalPsk(id.pskId)
          : state.resumptionPsk(id.pskEpoch);
    }
    return { id, psk: psk ?? new Uint8Array(size) };
  });
}

interface ForgedPath {
  readonly updatePath: UpdatePath;
  readonly tree: RatchetTree;
  readonly treeHash: Uint8Array;
  readonly commitSecret: Uint8Array;
}

/** An UpdatePath for `leafIndex` of `tree`, built from the TreeKEM primitives with the hooks. */
function forgePath(
  tree: RatchetTree,
  leafIndex: LeafIndex,
  excluded: readonly LeafIndex[],
  provisional: Omit<GroupContext, 'treeHash'>,
  leafBase: Pick<LeafNodeContent, 'signatureKey' | 'credential' | 'capabilities' | 'extensions'>,
  signer: Uint8Array,
  o: ForgePathOptions,
): ForgedPath {
  const suite = tree.suite;
  const steps = filteredDirectPath(tree, leafIndex);
  const secrets: Uint8Array[] = [];
  let secret = suite.randomBytes(suite.kdf.size);
  for (let i = 0; i < steps.length; i++) {
    if (i > 0) secret = nextPathSecret(suite, secret);
    secrets.push(secret);
  }
  const commitSecret = steps.length === 0 ? secret : nextPathSecret(suite, secret);
  const honestKeys = secrets.map((s) => nodeKeyPair(suite, s).publicKey);
  const published = o.publicKeys?.(honestKeys) ?? honestKeys;
  const diff = tree.stage();
  const parentHash = mergePathPublic(tree, diff, leafIndex, steps, published);
  const content: LeafNodeContent = {
    encryptionKey: suite.generateHpkeKeyPair().publicKey,
    signatureKey: leafBase.signatureKey,
    credential: leafBase.credential,
    capabilities: leafBase.capabilities,
    extensions: leafBase.extensions,
    leafNodeSource: LeafNodeSource.commit,
    parentHash: o.parentHash?.(parentHash) ?? parentHash,
  };
  const leafNode = signLeafNode(
    suite,
    o.leaf?.(content) ?? content,
    o.leafSigner ?? signer,
    o.leafBinding ?? { groupId: provisional.groupId, leafIndex },
  );
  diff.setLeaf(leafIndex, leafNode);
  const next = diff.commit();
  const treeHash = next.treeHash();
  const context = encode(groupContextCodec, { ...provisional, treeHash });
  const skip = new Set(excluded);
  const nodes: UpdatePathNode[] = steps.map((step, i) => ({
    encryptionKey: published[i]!,
    encryptedPathSecret: resolutionExcluding(tree, step.copathChild, skip).map((y) =>
      suite.encryptWithLabel(
        tree.encryptionKey(y)!,
        UPDATE_PATH_NODE_LABEL,
        context,
        o.encryptedSecret?.(i, secrets[i]!) ?? secrets[i]!,
      ),
    ),
  }));
  return {
    updatePath: { leafNode, nodes: o.nodes?.(nodes) ?? nodes },
    tree: next,
    treeHash,
    commitSecret,
  };
}

/**
 * A commit by `state`'s member (or by an outsider with `external`) in `state`'s epoch, as
 * described by `options`. Whatever is not overridden is computed as an honest committer would.
 */
export function forgeCommit(state: GroupState, options: ForgeCommitOptions = {}): ForgedCommit {
  const suite = state.suite;
  const wireFormat = options.wireFormat ?? WireFormat.publicMessage;
  const ext = options.external;
  const sender: Sender =
    options.sender ??
    (ext !== undefined ? { senderType: SenderType.newMemberCommit } : memberSender(state.ownLeaf));
  const signer = options.signer ?? ext?.signature.privateKey ?? state.signaturePrivateKey;
  const proposals: ProposalOrRef[] = [...(options.proposals ?? [])];
  let initSecret = state.epochSecrets().initSecret;
  if (ext !== undefined) {
    const sent = externalInitSend(suite, state.externalPub());
    initSecret = sent.initSecret;
    const init: Proposal = {
      proposalType: ProposalType.externalInit,
      externalInit: { kemOutput: ext.kemOutput ?? sent.kemOutput },
    };
    proposals.unshift(...byValue(...Array.from({ length: ext.externalInits ?? 1 }, () => init)));
  }
  const applied = applyLoosely(state, proposals, sender);
  let committerLeaf: LeafIndex;
  if (ext !== undefined) {
    committerLeaf = applied.diff.leftmostBlankLeaf() ?? applied.diff.leafCount;
    if (committerLeaf === applied.diff.leafCount) applied.diff.extend();
  } else {
    committerLeaf = sender.senderType === SenderType.member ? sender.leafIndex : state.ownLeaf;
  }
  const afterProposals = applied.diff.commit();
  const provisional: Omit<GroupContext, 'treeHash'> = {
    version: PROTOCOL_VERSION_MLS10,
    cipherSuite: state.groupContext.cipherSuite,
    groupId: state.groupId,
    epoch: state.epoch + 1n,
    confirmedTranscriptHash: state.groupContext.confirmedTranscriptHash,
    extensions: applied.extensions,
  };
  let path: ForgedPath | undefined;
  if (options.path !== 'none') {
    const own = state.ownLeafNode;
    const leafBase =
      ext === undefined
        ? own
        : {
            signatureKey: ext.signature.publicKey,
            credential: ext.credential,
            capabilities: own.capabilities,
            extensions: [],
          };
    path = forgePath(
      afterProposals,
      committerLeaf,
      applied.added,
      provisional,
      leafBase,
      signer,
      options.path ?? {},
    );
  }
  const content: FramedContent = {
    groupId: options.groupId ?? state.groupId,
    epoch: options.epoch ?? state.epoch,
    sender,
    authenticatedData: new Uint8Array(0),
    contentType: ContentType.commit,
    commit: { proposals, path: path?.updatePath },
  };
  // A PSK id the key schedule refuses (a short nonce) leaves no honest tag to compute: the tag is
  // then random, which a receiver never gets to check (it rejects the id first).
  let pskSecret: Uint8Array | undefined;
  try {
    pskSecret = computePskSecret(suite, pskValues(state, applied.psks, options.psk));
  } catch {
    pskSecret = undefined;
  }
  let epochAuthenticator = new Uint8Array(0);
  const treeHash = path?.treeHash ?? afterProposals.treeHash();
  let groupContext: GroupContext = { ...provisional, treeHash };
  const authenticated = authenticateCommit(
    suite,
    { signaturePrivateKey: signer, wireFormat, content, groupContext: state.groupContext },
    (signature) => {
      if (pskSecret === undefined) return suite.randomBytes(suite.hash.size);
      const next = nextEpoch({
        suite,
        interimTranscriptHash: state.interimTranscriptHash,
        provisional: { ...provisional, treeHash },
        initSecret,
        commitSecret: path?.commitSecret ?? zeroSecret(suite),
        pskSecret,
        wireFormat,
        content,
        signature,
      });
      epochAuthenticator = next.keys.epoch.epochAuthenticator.slice();
      groupContext = next.groupContext;
      const tag = next.keys.epoch.confirmationTag(next.groupContext.confirmedTranscriptHash);
      next.keys.epoch.destroy();
      return options.confirmationTag?.(tag) ?? tag;
    },
  );
  let message: FramedMlsMessage;
  if (wireFormat === WireFormat.publicMessage) {
    const framing = state.framing();
    message = {
      version: PROTOCOL_VERSION_MLS10,
      wireFormat: WireFormat.publicMessage,
      publicMessage: toPublicMessage(
        suite,
        authenticated,
        options.membershipKey ?? framing.membershipKey,
        state.groupContext,
      ),
    };
  } else {
    message = protectAuthenticated(state.framing(), authenticated);
  }
  return {
    message,
    bytes: encodeMlsMessage(message),
    authenticated,
    epochAuthenticator,
    committerLeaf,
    tree: path?.tree ?? afterProposals,
    groupContext,
  };
}
