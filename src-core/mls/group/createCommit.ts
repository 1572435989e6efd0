/**
 * Creating a Commit (RFC 9420 §12.4.1) with its Welcome (§12.4.3.1), as a staged commit: the
 * current state is not changed (§14), except that a PrivateMessage commit uses the next key of
 * our handshake ratchet — a key and nonce must never be used twice, whichever commit wins.
 */
import type { KeyPair } from '../../crypto/types.js';
import type { Capabilities } from '../capabilities.js';
import type { Commit, ProposalOrRef } from '../commit.js';
import { ProposalOrRefType } from '../commit.js';
import type { Credential } from '../credential.js';
import type { Extension } from '../extension.js';
import { authenticateCommit } from '../framing/authenticatedContent.js';
import type { FramedContent, FramingWireFormat } from '../framing/framedContent.js';
import { ContentType, WireFormat } from '../framing/framedContent.js';
import type { FramedMlsMessage, MlsMessage } from '../framing/mlsMessage.js';
import { protectAuthenticated } from '../framing/protect.js';
import { memberSender } from '../framing/sender.js';
import { updateInterimTranscriptHash } from '../framing/transcriptHash.js';
import type { GroupContext } from '../groupContext.js';
import { zeroSecret } from '../keySchedule.js';
import type { Proposal } from '../proposal.js';
import { ProposalType } from '../proposal.js';
import type { PskInput } from '../psk.js';
import { PSKType, ResumptionPSKUsage, checkPskNonce, computePskSecret } from '../psk.js';
import type { RatchetTree } from '../ratchetTree/ratchetTree.js';
import { MlsError } from '../errors.js';
import {
  checkRequiredCapabilities,
  requiredCapabilitiesOf,
} from '../ratchetTree/leafValidation.js';
import { createUpdatePath } from '../treekem/createUpdatePath.js';
import type { CreatedUpdatePath, LeafNodeTemplate } from '../treekem/createUpdatePath.js';
import type { PrivatePath } from '../treekem/privatePath.js';
import { commonAncestor } from '../treeMath.js';
import { requireCredential } from './config.js';
import type { NextEpoch } from './epochTransition.js';
import { epochReceiver, nextEpoch, wipeNewEpoch } from './epochTransition.js';
import type { GroupInfoOptions } from './groupInfo.js';
import { buildGroupInfo, groupInfoMessage } from './groupInfo.js';
import type { GroupState } from './groupState.js';
import { checkLeafSupportsExtensions } from './leafChecks.js';
import type { AppliedProposals } from './proposals/apply.js';
import { applyProposals } from './proposals/apply.js';
import { selectProposals } from './proposals/select.js';
import type { ListEntry } from './proposals/validate.js';
import { checkProposal, validateProposalList } from './proposals/validate.js';
import { resolvePsks } from './psks.js';
import { StagedCommit, commitOutcome } from './stagedCommit.js';
import { createWelcome } from './welcome.js';

/** Changes to our own leaf, carried by the commit's UpdatePath. */
export interface LeafNodeChanges {
  readonly credential?: Credential;
  readonly capabilities?: Capabilities;
  readonly extensions?: readonly Extension[];
  /** A new signature key pair for our leaf (the commit itself is signed with the old key). */
  readonly signatureKeyPair?: KeyPair;
}

export interface CommitOptions {
  /** Our own proposals, sent by value in the commit. */
  readonly proposals?: readonly Proposal[];
  /**
   * Cached proposals to include by reference: 'all' (default) takes every one that fits
   * (§12.4 SHOULD), 'none' none, or the listed refs exactly.
   */
  readonly byReference?: 'all' | 'none' | readonly Uint8Array[];
  /**
   * 'auto' (default) sends an UpdatePath only when the proposals require one (§12.4); 'always'
   * always does (post-compromise security for us at O(log n) public-key cost).
   */
  readonly path?: 'auto' | 'always';
  readonly authenticatedData?: Uint8Array;
  /** Changes to our leaf (forces a path). */
  readonly leafNode?: LeafNodeChanges;
  /** GroupInfo options for the Welcome; the tree is included unless the config says otherwise. */
  readonly welcomeGroupInfo?: Pick<GroupInfoOptions, 'ratchetTree' | 'extensions'>;
  /** Also return a GroupInfo of the new epoch for external joins (with external_pub). */
  readonly groupInfo?: GroupInfoOptions;
  /**
   * The reinit or branch PSK (§11.2, §11.3) with its value, sent by value after `proposals`. Only
   * in a new group's first commit: an ordinary commit may not carry these usages (§12.1.4).
   * `createReInitGroup` and `branchGroup` set it.
   */
  readonly resumption?: PskInput;
}

export interface CreatedCommit {
  /** To send to the group. */
  readonly commit: FramedMlsMessage;
  /** For the new members: deliver only once the commit is accepted (§14). */
  readonly welcome: MlsMessage | undefined;
  /** The new epoch's GroupInfo, when asked for. */
  readonly groupInfo: MlsMessage | undefined;
  /** Merge when the commit is accepted, discard otherwise. */
  readonly staged: StagedCommit;
}

function listFor(state: GroupState, options: CommitOptions): ListEntry[] {
  const me = memberSender(state.ownLeaf);
  const extra: ListEntry[] = (options.proposals ?? []).map((proposal) => {
    checkProposal(state, proposal, me);
    return { proposal, sender: me };
  });
  if (options.resumption !== undefined) extra.push(resumptionEntry(state, options.resumption));
  const byRef = options.byReference ?? 'all';
  if (byRef === 'all') return selectProposals(state, state.ownLeaf, extra);
  const refs: ListEntry[] = (byRef === 'none' ? [] : byRef).map((ref) => {
    const cached = state.proposals.get(ref);
    if (cached === undefined) throw new MlsError('proposal_not_found', 'no cached proposal');
    return { proposal: cached.proposal, sender: cached.sender, cached };
  });
  const list = [...refs, ...extra];
  validateProposalList(state, list, { kind: 'member', leafIndex: state.ownLeaf });
  return list;
}

/** The reinit or branch PSK proposal, allowed only in the first commit of a new group. */
function resumptionEntry(state: GroupState, resumption: PskInput): ListEntry {
  const { id } = resumption;
  if (id.pskType !== PSKType.resumption || id.usage === ResumptionPSKUsage.application) {
    throw new MlsError('invalid_argument', 'not a reinit or branch PSK');
  }
  if (state.epoch !== 0n || state.memberCount !== 1) {
    throw new MlsError('psk_usage_invalid', 'a reinit or branch PSK outside a new group');
  }
  checkPskNonce(state.suite, id);
  return {
    proposal: { proposalType: ProposalType.psk, psk: { psk: id } },
    sender: memberSender(state.ownLeaf),
  };
}

function leafTemplate(
  state: GroupState,
  applied: AppliedProposals,
  changes: LeafNodeChanges | undefined,
): LeafNodeTemplate {
  const current = state.ownLeafNode;
  const template: LeafNodeTemplate = {
    signatureKey: changes?.signatureKeyPair?.publicKey ?? current.signatureKey,
    credential: changes?.credential ?? current.credential,
    capabilities: changes?.capabilities ?? current.capabilities,
    extensions: changes?.extensions ?? current.extensions,
  };
  // Our new leaf must fit the group as any member's would.
  const probe = { ...current, ...template };
  checkRequiredCapabilities(probe, requiredCapabilitiesOf(applied.extensions));
  checkLeafSupportsExtensions(probe, applied.extensions, 'our leaf');
  if (changes?.credential !== undefined || changes?.signatureKeyPair !== undefined) {
    requireCredential(state.config, template.credential, template.signatureKey, {
      kind: 'commit',
      groupId: state.groupId,
      leafIndex: state.ownLeaf,
      previous: current.credential,
    });
  }
  return template;
}

interface SettledTree {
  readonly tree: RatchetTree;
  readonly provisional: GroupContext;
  readonly commitSecret: Uint8Array;
  readonly privatePath: PrivatePath;
  readonly path: CreatedUpdatePath | undefined;
}

function settleTree(
  state: GroupState,
  applied: AppliedProposals,
  withPath: boolean,
  changes: LeafNodeChanges | undefined,
): SettledTree {
  const provisional: Omit<GroupContext, 'treeHash'> = {
    version: state.groupContext.version,
    cipherSuite: state.groupContext.cipherSuite,
    groupId: state.groupId,
    epoch: state.epoch + 1n,
    confirmedTranscriptHash: state.groupContext.confirmedTranscriptHash,
    extensions: applied.extensions,
  };
  const treeAfterProposals = applied.diff.commit();
  if (!withPath) {
    return {
      tree: treeAfterProposals,
      provisional: { ...provisional, treeHash: treeAfterProposals.treeHash() },
      commitSecret: zeroSecret(state.suite),
      privatePath: state.privatePath.consistentWith(treeAfterProposals),
      path: undefined,
    };
  }
  const path = createUpdatePath({
    tree: treeAfterProposals,
    leafIndex: state.ownLeaf,
    excludedLeaves: applied.added.map((a) => a.leafIndex),
    groupContext: provisional,
    leafNode: leafTemplate(state, applied, changes),
    signaturePrivateKey: changes?.signatureKeyPair?.privateKey ?? state.signaturePrivateKey,
  });
  return {
    tree: path.tree,
    provisional: path.groupContext,
    commitSecret: path.commitSecret,
    privatePath: path.privatePath,
    path,
  };
}

/**
 * Creates a commit of our pending proposals (see `CommitOptions`) and, if it adds members, their
 * Welcome. Throws MlsError naming the rule if the proposal list is not valid.
 */
export function createCommit(state: GroupState, options: CommitOptions = {}): CreatedCommit {
  state.requireActive();
  const { suite, config } = state;
  const list = listFor(state, options);
  const applied = applyProposals(state, list, { kind: 'member', leafIndex: state.ownLeaf });
  const withPath =
    options.path === 'always' || options.leafNode !== undefined || applied.pathRequired;
  const psks = resolvePsks(
    {
      config,
      own: { groupId: state.groupId, resumptionPsk: (e) => state.resumptionPsk(e) },
      ...(options.resumption === undefined ? {} : { given: options.resumption }),
    },
    applied.psks,
  );
  const newSignatureKey = options.leafNode?.signatureKeyPair?.privateKey;
  let next: NextEpoch | undefined;
  let settled: SettledTree | undefined;
  const pskSecret = computePskSecret(suite, psks);
  try {
    settled = settleTree(state, applied, withPath, options.leafNode);
    const { tree, provisional, commitSecret, path } = settled;
    const commit: Commit = {
      proposals: list.map((e): ProposalOrRef =>
        e.cached !== undefined
          ? { type: ProposalOrRefType.reference, reference: e.cached.ref }
          : { type: ProposalOrRefType.proposal, proposal: e.proposal },
      ),
      path: path?.updatePath,
    };
    const wireFormat: FramingWireFormat =
      config.handshakeWireFormat === 'private'
        ? WireFormat.privateMessage
        : WireFormat.publicMessage;
    const content: FramedContent = {
      groupId: state.groupId,
      epoch: state.epoch,
      sender: memberSender(state.ownLeaf),
      authenticatedData: options.authenticatedData ?? new Uint8Array(0),
      contentType: ContentType.commit,
      commit,
    };
    const authenticated = authenticateCommit(
      suite,
      {
        signaturePrivateKey: state.signaturePrivateKey,
        wireFormat,
        content,
        groupContext: state.groupContext,
      },
      (signature) => {
        next = nextEpoch({
          suite,
          interimTranscriptHash: state.interimTranscriptHash,
          provisional,
          initSecret: state.epochSecrets().initSecret,
          commitSecret,
          pskSecret,
          wireFormat,
          content,
          signature,
        });
        return next.keys.epoch.confirmationTag(next.groupContext.confirmedTranscriptHash);
      },
    );
    const { groupContext, keys } = next!;
    const confirmationTag = authenticated.auth.confirmationTag!;
    const message = protectAuthenticated(state.framing(), authenticated, {
      padding: config.padding,
    });
    const signer = newSignatureKey ?? state.signaturePrivateKey;

    let welcome: MlsMessage | undefined;
    if (applied.added.length > 0) {
      const groupInfo = buildGroupInfo(
        {
          suite,
          groupContext,
          tree,
          confirmationTag,
          signer: state.ownLeaf,
          signaturePrivateKey: signer,
        },
        {
          ratchetTree: options.welcomeGroupInfo?.ratchetTree ?? config.ratchetTreeInWelcome,
          ...(options.welcomeGroupInfo?.extensions === undefined
            ? {}
            : { extensions: options.welcomeGroupInfo.extensions }),
        },
      );
      welcome = createWelcome({
        suite,
        groupInfo,
        joinerSecret: keys.joinerSecret,
        welcomeSecret: keys.welcomeSecret,
        psks: applied.psks,
        newMembers: applied.added.map((a) => ({
          keyPackage: a.keyPackage,
          pathSecret: path?.pathSecrets.get(commonAncestor(2 * a.leafIndex, 2 * state.ownLeaf)),
        })),
      });
    }
    let groupInfo: MlsMessage | undefined;
    if (options.groupInfo !== undefined) {
      const withPub = options.groupInfo.externalPub ?? true;
      groupInfo = groupInfoMessage(
        buildGroupInfo(
          {
            suite,
            groupContext,
            tree,
            confirmationTag,
            signer: state.ownLeaf,
            signaturePrivateKey: signer,
            ...(withPub ? { externalPub: keys.epoch.externalPub } : {}),
          },
          options.groupInfo,
        ),
      );
    }
    keys.joinerSecret.fill(0);
    keys.welcomeSecret.fill(0);
    const receiver = epochReceiver(suite, config, groupContext, tree, keys.epoch);
    const staged = new StagedCommit({
      base: state,
      committer: content.sender,
      groupContext,
      tree,
      privatePath: settled.privatePath,
      signaturePrivateKey: signer,
      interimTranscriptHash: updateInterimTranscriptHash(
        suite,
        groupContext.confirmedTranscriptHash,
        confirmationTag,
      ),
      confirmationTag,
      epochSecrets: keys.epoch,
      receiver,
      ...commitOutcome(applied, list),
      hasPath: path !== undefined,
    });
    return { commit: message, welcome, groupInfo, staged };
  } catch (e) {
    wipeNewEpoch(next?.keys);
    settled?.privatePath.retire(state.privatePath);
    throw e;
  } finally {
    pskSecret.fill(0);
    settled?.commitSecret.fill(0);
    if (settled?.path !== undefined) for (const s of settled.path.pathSecrets.values()) s.fill(0);
  }
}
