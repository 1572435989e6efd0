/**
 * Processing a received Commit (RFC 9420 §12.4.2) into a staged commit: unprotect, check the
 * sender and epoch, resolve and validate the proposals, apply them on a staged tree, validate and
 * merge the UpdatePath and decrypt our path secret, run the key schedule and check the
 * confirmation tag.
 *
 * A commit that breaks any rule throws MlsError naming it, and the state is as before: the tree
 * changes were staged and are dropped, new keys are wiped, and a PrivateMessage's handshake key is
 * consumed only when the whole commit has verified.
 */
import type { KeyPair } from '../../crypto/types.js';
import type { AuthenticatedContent } from '../framing/authenticatedContent.js';
import { ContentType, WireFormat } from '../framing/framedContent.js';
import type { MlsMessage } from '../framing/mlsMessage.js';
import type { Sender } from '../framing/sender.js';
import { SenderType } from '../framing/sender.js';
import {
  updateConfirmedTranscriptHash,
  updateInterimTranscriptHash,
} from '../framing/transcriptHash.js';
import { unprotectPrivateMessage, unprotectPublicMessage } from '../framing/unprotect.js';
import { MlsError } from '../errors.js';
import type { GroupContext } from '../groupContext.js';
import type { Credential } from '../credential.js';
import { zeroSecret } from '../keySchedule.js';
import type { Commit } from '../commit.js';
import { ProposalOrRefType } from '../commit.js';
import { ProposalType, isCustomProposal } from '../proposal.js';
import { computePskSecret } from '../psk.js';
import type { RatchetTree } from '../ratchetTree/ratchetTree.js';
import { mergeUpdatePath, processUpdatePath } from '../treekem/processUpdatePath.js';
import type { PrivatePath } from '../treekem/privatePath.js';
import type { UpdatePath } from '../updatePath.js';
import type { LeafIndex } from '../treeMath.js';
import { requireCredential } from './config.js';
import type { NextEpoch } from './epochTransition.js';
import { epochReceiver, nextEpoch, wipeNewEpoch } from './epochTransition.js';
import type { GroupState } from './groupState.js';
import { checkHpkePublicKey, checkLeafSupportsExtensions } from './leafChecks.js';
import type { AppliedProposals } from './proposals/apply.js';
import { applyProposals } from './proposals/apply.js';
import type { Committer, ListEntry } from './proposals/validate.js';
import { checkProposal, validateProposalList } from './proposals/validate.js';
import { resolvePsks } from './psks.js';
import { checkHandshakeWireFormat, signatureKeyLookup } from './senders.js';
import { StagedCommit, commitOutcome } from './stagedCommit.js';

/**
 * Processes a commit of the current epoch sent by another member (or by a new member joining
 * with an external commit). Returns the staged commit; throws MlsError on any broken rule.
 */
export function processCommit(state: GroupState, message: MlsMessage): StagedCommit {
  state.requireActive();
  checkHandshakeWireFormat(state.config, message.wireFormat);
  const framing = state.framing();
  const lookup = signatureKeyLookup(state);
  if (message.wireFormat === WireFormat.publicMessage) {
    if (message.publicMessage.content.contentType !== ContentType.commit) {
      throw new MlsError('invalid_content_type', 'not a commit');
    }
    return stageCommit(state, unprotectPublicMessage(framing, message.publicMessage, lookup));
  }
  if (message.wireFormat !== WireFormat.privateMessage) {
    throw new MlsError('invalid_wire_format', 'a commit is a PublicMessage or a PrivateMessage');
  }
  if (message.privateMessage.contentType !== ContentType.commit) {
    throw new MlsError('invalid_content_type', 'not a commit');
  }
  return unprotectPrivateMessage(framing, message.privateMessage, lookup, (ac) =>
    stageCommit(state, ac),
  );
}

function committerOf(state: GroupState, ac: AuthenticatedContent): Committer {
  const sender = ac.content.sender;
  if (sender.senderType === SenderType.member) {
    if (sender.leafIndex === state.ownLeaf) {
      throw new MlsError('own_message', 'our own commit: merge the staged commit we created');
    }
    return { kind: 'member', leafIndex: sender.leafIndex };
  }
  if (sender.senderType === SenderType.newMemberCommit) return { kind: 'external' };
  throw new MlsError('invalid_sender', `sender type ${sender.senderType} cannot commit`);
}

function resolveList(state: GroupState, commit: Commit, sender: Sender): ListEntry[] {
  return commit.proposals.map((por): ListEntry => {
    if (por.type === ProposalOrRefType.reference) {
      const cached = state.proposals.get(por.reference);
      if (cached === undefined) {
        throw new MlsError('proposal_not_found', 'the commit references an unknown proposal');
      }
      return { proposal: cached.proposal, sender: cached.sender, cached };
    }
    checkProposal(state, por.proposal, sender);
    return { proposal: por.proposal, sender };
  });
}

/** Our key pair for our own committed Update (copied: the cache wipes its copy). */
function ownUpdateKey(state: GroupState, list: readonly ListEntry[]): KeyPair | undefined {
  const mine = list.find(
    (e) =>
      !isCustomProposal(e.proposal) &&
      e.proposal.proposalType === ProposalType.update &&
      e.sender.senderType === SenderType.member &&
      e.sender.leafIndex === state.ownLeaf,
  );
  if (mine === undefined) return undefined;
  const kp = mine.cached?.updateKeyPair;
  if (kp === undefined) {
    throw new MlsError('no_private_key_for_path', 'our Update was committed but we lack its key');
  }
  return { publicKey: kp.publicKey, privateKey: kp.privateKey.slice() };
}

/** The checks on the committer's new leaf and path keys that the tree module leaves to us. */
function checkPathKeys(
  state: GroupState,
  path: UpdatePath,
  applied: AppliedProposals,
  committerLeaf: LeafIndex,
  previous: Credential | undefined,
  external: boolean,
): void {
  const leaf = path.leafNode;
  checkHpkePublicKey(state.suite, leaf.encryptionKey, 'UpdatePath leaf encryption_key');
  path.nodes.forEach((n, i) =>
    checkHpkePublicKey(state.suite, n.encryptionKey, `UpdatePath node ${i} key`),
  );
  checkLeafSupportsExtensions(leaf, applied.extensions, `leaf ${committerLeaf}`);
  requireCredential(state.config, leaf.credential, leaf.signatureKey, {
    kind: external ? 'external_commit' : 'commit',
    groupId: state.groupId,
    leafIndex: committerLeaf,
    ...(previous === undefined ? {} : { previous }),
  });
}

interface SettledTree {
  readonly tree: RatchetTree;
  readonly provisional: GroupContext;
  /** Undefined when the commit removes us. */
  readonly commitSecret: Uint8Array | undefined;
  readonly privatePath: PrivatePath;
}

function stageCommit(state: GroupState, ac: AuthenticatedContent): StagedCommit {
  const { suite, config } = state;
  if (ac.content.contentType !== ContentType.commit) {
    throw new MlsError('invalid_content_type', 'not a commit');
  }
  const { commit, sender } = ac.content;
  const committer = committerOf(state, ac);
  const list = resolveList(state, commit, sender);
  validateProposalList(state, list, committer);
  const applied = applyProposals(state, list, committer);
  const path = commit.path;
  if (applied.pathRequired && path === undefined) {
    throw new MlsError('path_required', 'the proposals require an UpdatePath');
  }
  const external = committer.kind === 'external';
  const committerLeaf = external ? applied.joinerLeaf! : committer.leafIndex;
  const selfRemoved = applied.removed.includes(state.ownLeaf);
  const psks = resolvePsks(
    { config, own: { groupId: state.groupId, resumptionPsk: (e) => state.resumptionPsk(e) } },
    applied.psks,
  );
  // The credential the committer's new leaf replaces (§5.3.1): its own, or for a resync the
  // removed leaf's.
  const previous = external
    ? applied.removed.length > 0
      ? state.tree.leafNode(applied.removed[0]!)?.credential
      : undefined
    : state.tree.leafNode(committerLeaf)?.credential;

  const updateKey = selfRemoved ? undefined : ownUpdateKey(state, list);
  let mine = state.privatePath;
  if (updateKey !== undefined) mine = mine.with([[2 * state.ownLeaf, updateKey]]);
  let settled: SettledTree | undefined;
  let next: NextEpoch | undefined;
  let initSecret: Uint8Array | undefined;
  let pskSecret: Uint8Array | undefined;
  try {
    const treeAfterProposals = applied.diff.commit();
    const provisional: Omit<GroupContext, 'treeHash'> = {
      version: state.groupContext.version,
      cipherSuite: state.groupContext.cipherSuite,
      groupId: state.groupId,
      epoch: state.epoch + 1n,
      confirmedTranscriptHash: state.groupContext.confirmedTranscriptHash,
      extensions: applied.extensions,
    };
    if (path === undefined) {
      settled = {
        tree: treeAfterProposals,
        provisional: { ...provisional, treeHash: treeAfterProposals.treeHash() },
        commitSecret: zeroSecret(suite),
        privatePath: mine.consistentWith(treeAfterProposals),
      };
    } else {
      checkPathKeys(state, path, applied, committerLeaf, previous, external);
      const input = {
        tree: treeAfterProposals,
        sender: committerLeaf,
        updatePath: path,
        excludedLeaves: applied.added.map((a) => a.leafIndex),
        groupContext: provisional,
      };
      if (selfRemoved) {
        const merged = mergeUpdatePath(input);
        settled = {
          tree: merged.tree,
          provisional: { ...provisional, treeHash: merged.tree.treeHash() },
          commitSecret: undefined,
          privatePath: mine.consistentWith(merged.tree),
        };
      } else {
        const processed = processUpdatePath({ ...input, privatePath: mine });
        settled = {
          tree: processed.tree,
          provisional: processed.groupContext,
          commitSecret: processed.commitSecret,
          privatePath: processed.privatePath,
        };
      }
    }

    const confirmationTag = ac.auth.confirmationTag;
    if (confirmationTag === undefined) {
      throw new MlsError('invalid_confirmation_tag', 'the commit has no confirmation tag');
    }
    let groupContext: GroupContext;
    if (settled.commitSecret === undefined) {
      // Removed: the new epoch's secrets are out of our reach, so the tag cannot be checked.
      const confirmedTranscriptHash = updateConfirmedTranscriptHash(
        suite,
        state.interimTranscriptHash,
        { wireFormat: ac.wireFormat, content: ac.content, signature: ac.auth.signature },
      );
      groupContext = { ...settled.provisional, confirmedTranscriptHash };
    } else {
      pskSecret = computePskSecret(suite, psks);
      const secrets = state.epochSecrets();
      initSecret = external
        ? secrets.externalInitSecret(applied.externalInit!.kemOutput)
        : secrets.initSecret;
      next = nextEpoch({
        suite,
        interimTranscriptHash: state.interimTranscriptHash,
        provisional: settled.provisional,
        initSecret,
        commitSecret: settled.commitSecret,
        pskSecret,
        wireFormat: ac.wireFormat,
        content: ac.content,
        signature: ac.auth.signature,
      });
      groupContext = next.groupContext;
      if (
        !next.keys.epoch.verifyConfirmationTag(
          groupContext.confirmedTranscriptHash,
          confirmationTag,
        )
      ) {
        throw new MlsError('invalid_confirmation_tag', 'confirmation tag does not match');
      }
      next.keys.joinerSecret.fill(0);
      next.keys.welcomeSecret.fill(0);
    }
    const receiver =
      next === undefined
        ? undefined
        : epochReceiver(suite, config, groupContext, settled.tree, next.keys.epoch);
    return new StagedCommit({
      base: state,
      committer: ac.content.sender,
      groupContext,
      tree: settled.tree,
      privatePath: settled.privatePath,
      signaturePrivateKey: state.signaturePrivateKey,
      interimTranscriptHash: updateInterimTranscriptHash(
        suite,
        groupContext.confirmedTranscriptHash,
        confirmationTag,
      ),
      confirmationTag,
      epochSecrets: next?.keys.epoch,
      receiver,
      ...commitOutcome(applied, list),
      hasPath: path !== undefined,
    });
  } catch (e) {
    wipeNewEpoch(next?.keys);
    settled?.privatePath.retire(state.privatePath);
    mine.retire(state.privatePath);
    throw e;
  } finally {
    settled?.commitSecret?.fill(0);
    pskSecret?.fill(0);
    if (external) initSecret?.fill(0);
  }
}
