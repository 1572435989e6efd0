/**
 * Joining by external commit, the joiner's side (RFC 9420 §12.4.3.2): from a GroupInfo with
 * `external_pub`, the joiner verifies the GroupInfo and the whole tree, encapsulates an init secret
 * to external_pub (the ExternalInit proposal, §8.3), takes the leftmost blank leaf (the tree
 * growing by one if full), and commits with an UpdatePath from that leaf, signed with its own key
 * as a `new_member_commit` PublicMessage. A resync commit also removes the joiner's old leaf, for a
 * member that lost its state.
 *
 * As for any commit (§14), nothing is adopted until the commit is accepted: the result is staged
 * and merged into a group state once the group took the commit, or discarded.
 */
import { decode, encode } from '../../codec/index.js';
import { equalBytes } from '../../crypto/bytes.js';
import { cipherSuite, isCipherSuiteId } from '../../crypto/index.js';
import type { CipherSuite, KeyPair } from '../../crypto/types.js';
import type { Capabilities } from '../capabilities.js';
import type { Commit } from '../commit.js';
import { ProposalOrRefType } from '../commit.js';
import type { Credential } from '../credential.js';
import { MlsError } from '../errors.js';
import type { Extension } from '../extension.js';
import { ExtensionType } from '../extension.js';
import { authenticateCommit } from '../framing/authenticatedContent.js';
import type { FramedContent } from '../framing/framedContent.js';
import { ContentType, WireFormat } from '../framing/framedContent.js';
import type { FramedMlsMessage, MlsMessage } from '../framing/mlsMessage.js';
import { decodeMlsMessage } from '../framing/mlsMessage.js';
import { SenderType } from '../framing/sender.js';
import { updateInterimTranscriptHash } from '../framing/transcriptHash.js';
import type { GroupContext } from '../groupContext.js';
import { PROTOCOL_VERSION_MLS10 } from '../groupContext.js';
import type { GroupInfo } from '../groupInfo.js';
import { verifyGroupInfoSignature } from '../groupInfo.js';
import type { EpochSecrets } from '../keySchedule.js';
import { externalInitSend } from '../keySchedule.js';
import type { LeafNode } from '../leafNode.js';
import { checkDistinctExtensions, checkLeafNodeCapabilities } from '../leafNode.js';
import type { Proposal } from '../proposal.js';
import { ProposalType } from '../proposal.js';
import type { PreSharedKeyID } from '../psk.js';
import { computePskSecret, preSharedKeyIdCodec } from '../psk.js';
import { keyString } from '../ratchetTree/keyIndex.js';
import type { RatchetTree } from '../ratchetTree/ratchetTree.js';
import { applyRemove } from '../ratchetTree/treeOperations.js';
import type { RatchetTreeNodes } from '../ratchetTreeExtension.js';
import type { CreatedUpdatePath } from '../treekem/createUpdatePath.js';
import { createUpdatePath } from '../treekem/createUpdatePath.js';
import type { PrivatePath } from '../treekem/privatePath.js';
import type { LeafIndex } from '../treeMath.js';
import type { GroupConfig, ResolvedGroupConfig } from './config.js';
import { resolveGroupConfig } from './config.js';
import type { EpochReceiver } from './epochReceiver.js';
import type { NextEpoch } from './epochTransition.js';
import { epochReceiver, keptResumptionPsks, nextEpoch, wipeNewEpoch } from './epochTransition.js';
import type { GroupInfoOptions } from './groupInfo.js';
import { buildGroupInfo, externalPubCodec, groupInfoMessage } from './groupInfo.js';
import { GroupState } from './groupState.js';
import { defaultCapabilities } from './keyPackages.js';
import { checkHpkePublicKey, checkLeafAgainstGroup } from './leafChecks.js';
import { treeOf, validateTree } from './join.js';
import { checkGroupContextExtensions } from './proposals/validate.js';
import { checkPskProposalId, resolvePsks } from './psks.js';

export interface ExternalCommitOptions {
  /** The group's GroupInfo (with external_pub), as an MLSMessage (decoded or not) or bare. */
  readonly groupInfo: MlsMessage | GroupInfo | Uint8Array;
  /** The tree, when the GroupInfo does not carry it (§12.4.3.3). Validated whole either way. */
  readonly ratchetTree?: RatchetTreeNodes;
  readonly credential: Credential;
  /** The key pair our leaf will sign with (the commit is signed with it too). */
  readonly signatureKeyPair: KeyPair;
  /** Our leaf's capabilities (default: `defaultCapabilities`). */
  readonly capabilities?: Capabilities;
  readonly leafExtensions?: readonly Extension[];
  /**
   * Resync (§12.4.3.2): our old leaf, removed in the same commit, by index or by the signature
   * key it holds in the GroupInfo's tree (a member whose state fell behind knows its key, not
   * what index its leaf has now). The members' credential validator sees it as the credential
   * ours replaces and decides whether we may take its place.
   */
  readonly resync?: LeafIndex | { readonly signatureKey: Uint8Array };
  /**
   * Whether to believe the GroupInfo's signer (verified against its leaf in the GroupInfo's own
   * tree, which anyone can make up): e.g. a resync accepts only a member it knew. Refused:
   * 'untrusted_signer'. Default: any signer in the tree.
   */
  readonly acceptSigner?: (signer: LeafNode, leafIndex: LeafIndex) => boolean;
  /** PreSharedKey proposals to include (external, or resumption with usage application). */
  readonly psks?: readonly PreSharedKeyID[];
  readonly authenticatedData?: Uint8Array;
  /** Also return a GroupInfo of the new epoch, signed by us (with external_pub by default). */
  readonly newGroupInfo?: GroupInfoOptions;
  readonly config?: GroupConfig;
  /** @internal A config already resolved (a member resyncing keeps its group's), over `config`. */
  readonly resolvedConfig?: ResolvedGroupConfig;
  /** The suite implementation to use (default `cipherSuite(group_context.cipher_suite)`). */
  readonly suite?: CipherSuite;
  /** The group_id must differ from those of our other groups (a resync rejoins one we lost). */
  readonly isGroupIdInUse?: (groupId: Uint8Array) => boolean;
}

export interface CreatedExternalCommit {
  /** A PublicMessage to send to the group. */
  readonly commit: FramedMlsMessage;
  /** The new epoch's GroupInfo, when asked for (`newGroupInfo`). */
  readonly groupInfo: MlsMessage | undefined;
  /** Merge once the group accepted the commit, discard otherwise. */
  readonly staged: StagedExternalJoin;
}

interface JoinParts {
  readonly suite: CipherSuite;
  readonly config: ResolvedGroupConfig;
  readonly groupContext: GroupContext;
  readonly tree: RatchetTree;
  readonly ownLeaf: LeafIndex;
  readonly privatePath: PrivatePath;
  readonly signaturePrivateKey: Uint8Array;
  readonly interimTranscriptHash: Uint8Array;
  readonly confirmationTag: Uint8Array;
  readonly epochSecrets: EpochSecrets;
  readonly receiver: EpochReceiver;
  readonly removed: LeafIndex | undefined;
  /** The GroupInfo's tree: the epoch the commit was made in. */
  readonly baseTree: RatchetTree;
}

/** The joiner's new epoch, computed but not adopted. */
export class StagedExternalJoin {
  private done = false;

  /** Internal: made by `createExternalCommit`. */
  constructor(private readonly parts: JoinParts) {}

  get epoch(): bigint {
    return this.parts.groupContext.epoch;
  }

  get groupContext(): GroupContext {
    return this.parts.groupContext;
  }

  get tree(): RatchetTree {
    return this.parts.tree;
  }

  /** The leaf we take. */
  get ownLeaf(): LeafIndex {
    return this.parts.ownLeaf;
  }

  /** The tree of the epoch the commit was made in (the GroupInfo's, verified). */
  get baseTree(): RatchetTree {
    return this.parts.baseTree;
  }

  /** Our old leaf that the commit removes (resync). */
  get removed(): LeafIndex | undefined {
    return this.parts.removed;
  }

  /** The new epoch's authenticator (§8.7). */
  epochAuthenticator(): Uint8Array {
    this.checkPending();
    return this.parts.epochSecrets.epochAuthenticator.slice();
  }

  private checkPending(): void {
    if (this.done) {
      throw new MlsError('staged_commit_consumed', 'this external join was merged or discarded');
    }
  }

  /** Our state in the group, once the commit was accepted. */
  merge(): GroupState {
    this.checkPending();
    const p = this.parts;
    const state = GroupState.fromParts({
      suite: p.suite,
      config: p.config,
      groupContext: p.groupContext,
      tree: p.tree,
      ownLeaf: p.ownLeaf,
      privatePath: p.privatePath,
      signaturePrivateKey: p.signaturePrivateKey,
      interimTranscriptHash: p.interimTranscriptHash,
      confirmationTag: p.confirmationTag,
      epochSecrets: p.epochSecrets,
      receiver: p.receiver,
      pastReceivers: [],
      resumptionPsks: keptResumptionPsks(p.config, p.groupContext.epoch, p.epochSecrets),
      status: 'active',
    });
    this.done = true;
    return state;
  }

  /** Drops the join (the group took another commit): wipes the new epoch's secrets and keys. */
  discard(): void {
    if (this.done) return;
    this.done = true;
    this.parts.epochSecrets.destroy();
    this.parts.receiver.release();
    this.parts.privatePath.retire();
  }
}

function groupInfoOf(input: ExternalCommitOptions['groupInfo']): GroupInfo {
  const m = input instanceof Uint8Array ? decodeMlsMessage(input) : input;
  if ('wireFormat' in m) {
    if (m.wireFormat !== WireFormat.groupInfo) {
      throw new MlsError('invalid_wire_format', 'not a GroupInfo');
    }
    return m.groupInfo;
  }
  return m;
}

function suiteOf(gc: GroupContext, given: CipherSuite | undefined): CipherSuite {
  if (gc.version !== PROTOCOL_VERSION_MLS10) {
    throw new MlsError('unsupported_version', `GroupContext version ${gc.version}`);
  }
  if (given !== undefined) {
    if (given.id !== gc.cipherSuite) {
      throw new MlsError('unsupported_cipher_suite', `GroupInfo for suite ${gc.cipherSuite}`);
    }
    return given;
  }
  if (!isCipherSuiteId(gc.cipherSuite)) {
    throw new MlsError('unsupported_cipher_suite', `GroupInfo for suite ${gc.cipherSuite}`);
  }
  return cipherSuite(gc.cipherSuite);
}

function externalPubOf(suite: CipherSuite, gi: GroupInfo): Uint8Array {
  const ext = gi.extensions.find((e) => e.extensionType === ExtensionType.externalPub);
  if (ext === undefined) {
    throw new MlsError('missing_external_pub', 'the GroupInfo does not allow external joins');
  }
  let externalPub: Uint8Array;
  try {
    externalPub = decode(externalPubCodec, ext.extensionData).externalPub;
  } catch (e) {
    throw new MlsError('decode_failed', 'external_pub extension does not decode', { cause: e });
  }
  checkHpkePublicKey(suite, externalPub, 'external_pub');
  return externalPub;
}

/** The GroupInfo, verified: signature by a member of the tree, tree valid whole (§12.4.3.1). */
function verifiedGroup(
  suite: CipherSuite,
  config: ResolvedGroupConfig,
  gi: GroupInfo,
  outOfBand: RatchetTreeNodes | undefined,
  acceptSigner: ExternalCommitOptions['acceptSigner'],
): RatchetTree {
  const gc = gi.groupContext;
  checkDistinctExtensions(gi.extensions, 'GroupInfo');
  checkGroupContextExtensions(config, gc.groupId, gc.extensions);
  const tree = treeOf(suite, gi, outOfBand);
  const signer = gi.signer < tree.leafCount ? tree.leafNode(gi.signer) : undefined;
  if (signer === undefined) {
    throw new MlsError('invalid_signature', `GroupInfo signer ${gi.signer} is not a member`);
  }
  verifyGroupInfoSignature(suite, gi, signer.signatureKey);
  if (acceptSigner !== undefined && !acceptSigner(signer, gi.signer)) {
    throw new MlsError('untrusted_signer', `GroupInfo signer ${gi.signer} is not trusted`);
  }
  validateTree(suite, config, tree, gc);
  return tree;
}

/** The leaf a resync removes: given, or the one holding the given signature key. */
function resyncLeaf(
  tree: RatchetTree,
  resync: ExternalCommitOptions['resync'],
): LeafIndex | undefined {
  if (resync === undefined || typeof resync === 'number') return resync;
  for (let i = 0; i < tree.leafCount; i++) {
    const leaf = tree.leafNode(i);
    if (leaf !== undefined && equalBytes(leaf.signatureKey, resync.signatureKey)) return i;
  }
  throw new MlsError('own_leaf_not_found', 'resync: no leaf holds our signature key');
}

/** §12.2 on the joiner's own list: one Remove of a member leaf, PSKs once each. */
function checkOwnProposals(
  suite: CipherSuite,
  tree: RatchetTree,
  r: LeafIndex | undefined,
  options: ExternalCommitOptions,
) {
  if (r !== undefined) {
    if (!Number.isInteger(r) || r < 0 || r >= tree.leafCount) {
      throw new MlsError('leaf_out_of_range', `resync: leaf ${r} outside the tree`);
    }
    if (tree.leafNode(r) === undefined) {
      throw new MlsError('blank_leaf', `resync: leaf ${r} is blank`);
    }
  }
  const seen = new Set<string>();
  for (const id of options.psks ?? []) {
    checkPskProposalId(suite, id);
    const k = keyString(encode(preSharedKeyIdCodec, id));
    if (seen.has(k)) throw new MlsError('duplicate_psk', 'the same PSK twice');
    seen.add(k);
  }
}

/**
 * Creates an external commit joining the group of `options.groupInfo` (or, with `resync`,
 * rejoining it). Throws MlsError naming the rule a bad GroupInfo or tree breaks; nothing the
 * caller passed is changed.
 */
export function createExternalCommit(options: ExternalCommitOptions): CreatedExternalCommit {
  const config = options.resolvedConfig ?? resolveGroupConfig(options.config);
  const gi = groupInfoOf(options.groupInfo);
  const gc = gi.groupContext;
  const suite = suiteOf(gc, options.suite);
  if (options.isGroupIdInUse?.(gc.groupId) === true) {
    throw new MlsError('duplicate_group_id', 'we are already in a group with this id');
  }
  const externalPub = externalPubOf(suite, gi);
  const tree = verifiedGroup(suite, config, gi, options.ratchetTree, options.acceptSigner);
  const resync = resyncLeaf(tree, options.resync);
  checkOwnProposals(suite, tree, resync, options);

  const diff = tree.stage();
  if (resync !== undefined) applyRemove(diff, resync);
  let ownLeaf = diff.leftmostBlankLeaf();
  if (ownLeaf === undefined) {
    ownLeaf = diff.leafCount;
    diff.extend();
  }
  const treeAfterProposals = diff.commit();

  const psks = resolvePsks({ config }, options.psks ?? []);
  const pskSecret = computePskSecret(suite, psks);
  const init = externalInitSend(suite, externalPub);
  let path: CreatedUpdatePath | undefined;
  let next: NextEpoch | undefined;
  try {
    path = createUpdatePath({
      tree: treeAfterProposals,
      leafIndex: ownLeaf,
      groupContext: { ...gc, epoch: gc.epoch + 1n },
      leafNode: {
        signatureKey: options.signatureKeyPair.publicKey,
        credential: options.credential,
        capabilities:
          options.capabilities ?? defaultCapabilities(suite, options.credential.credentialType),
        extensions: options.leafExtensions ?? [],
      },
      signaturePrivateKey: options.signatureKeyPair.privateKey,
    });
    // Our leaf must fit the group as any member's would (§7.3, §13.4).
    const leaf = path.updatePath.leafNode;
    checkLeafNodeCapabilities(leaf);
    checkLeafAgainstGroup(treeAfterProposals, leaf, ownLeaf, gc.extensions);

    const proposals: Proposal[] = [
      { proposalType: ProposalType.externalInit, externalInit: { kemOutput: init.kemOutput } },
    ];
    if (resync !== undefined) {
      proposals.push({ proposalType: ProposalType.remove, remove: { removed: resync } });
    }
    for (const psk of options.psks ?? [])
      proposals.push({ proposalType: ProposalType.psk, psk: { psk } });
    const commit: Commit = {
      proposals: proposals.map((proposal) => ({ type: ProposalOrRefType.proposal, proposal })),
      path: path.updatePath,
    };
    const content: FramedContent = {
      groupId: gc.groupId,
      epoch: gc.epoch,
      sender: { senderType: SenderType.newMemberCommit },
      authenticatedData: options.authenticatedData ?? new Uint8Array(0),
      contentType: ContentType.commit,
      commit,
    };
    const created = path;
    const interim = updateInterimTranscriptHash(
      suite,
      gc.confirmedTranscriptHash,
      gi.confirmationTag,
    );
    const ac = authenticateCommit(
      suite,
      {
        signaturePrivateKey: options.signatureKeyPair.privateKey,
        wireFormat: WireFormat.publicMessage,
        content,
        groupContext: gc,
      },
      (signature) => {
        next = nextEpoch({
          suite,
          interimTranscriptHash: interim,
          provisional: created.groupContext,
          initSecret: init.initSecret,
          commitSecret: created.commitSecret,
          pskSecret,
          wireFormat: WireFormat.publicMessage,
          content,
          signature,
        });
        return next.keys.epoch.confirmationTag(next.groupContext.confirmedTranscriptHash);
      },
    );
    const { groupContext, keys } = next!;
    const confirmationTag = ac.auth.confirmationTag!;
    keys.joinerSecret.fill(0);
    keys.welcomeSecret.fill(0);
    let groupInfo: MlsMessage | undefined;
    if (options.newGroupInfo !== undefined) {
      const withPub = options.newGroupInfo.externalPub ?? true;
      groupInfo = groupInfoMessage(
        buildGroupInfo(
          {
            suite,
            groupContext,
            tree: path.tree,
            confirmationTag,
            signer: ownLeaf,
            signaturePrivateKey: options.signatureKeyPair.privateKey,
            ...(withPub ? { externalPub: keys.epoch.externalPub } : {}),
          },
          options.newGroupInfo,
        ),
      );
    }
    const staged = new StagedExternalJoin({
      suite,
      config,
      groupContext,
      tree: path.tree,
      ownLeaf,
      privatePath: path.privatePath,
      signaturePrivateKey: options.signatureKeyPair.privateKey,
      interimTranscriptHash: updateInterimTranscriptHash(
        suite,
        groupContext.confirmedTranscriptHash,
        confirmationTag,
      ),
      confirmationTag,
      epochSecrets: keys.epoch,
      receiver: epochReceiver(suite, config, groupContext, path.tree, keys.epoch),
      removed: resync,
      baseTree: tree,
    });
    const message: FramedMlsMessage = {
      version: PROTOCOL_VERSION_MLS10,
      wireFormat: WireFormat.publicMessage,
      publicMessage: { content: ac.content, auth: ac.auth },
    };
    return { commit: message, groupInfo, staged };
  } catch (e) {
    wipeNewEpoch(next?.keys);
    path?.privatePath.retire();
    throw e;
  } finally {
    init.initSecret.fill(0);
    pskSecret.fill(0);
    path?.commitSecret.fill(0);
    if (path !== undefined) for (const s of path.pathSecrets.values()) s.fill(0);
  }
}
