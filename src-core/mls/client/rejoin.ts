/**
 * Rejoining a group we can no longer follow (RFC 9420 §12.4.3.2, "resync"): a member whose state
 * is stuck at an epoch whose commit it cannot process, or on a branch of the group that lost,
 * asks a member for a GroupInfo of the group's current epoch and joins again by an external
 * commit that also removes its old leaf. It keeps its credential and leaf signature key: the
 * others see the same member (same key) replace its own leaf, and nobody needs to add it.
 *
 * The other side: a member hands out `groupInfoFor(group)` (signed by it, with `external_pub`
 * and the tree). Who may have it is the caller's rule (the GroupInfo reveals the roster).
 *
 * Like any commit, nothing is adopted until the group ordered it: `PendingRejoin.merge()` once
 * it was, `discard()` when another commit took the epoch.
 */
import { equalBytes } from '../../crypto/bytes.js';
import { MlsError } from '../errors.js';
import { WireFormat } from '../framing/framedContent.js';
import { decodeMlsMessage, encodeMlsMessage } from '../framing/mlsMessage.js';
import type { StagedExternalJoin } from '../group/externalCommit.js';
import { createExternalCommit } from '../group/externalCommit.js';
import type { GroupInfoOptions } from '../group/groupInfo.js';
import { createGroupInfo } from '../group/groupInfo.js';
import type { LeafIndex } from '../treeMath.js';
import type { GroupMember } from './events.js';
import { Group } from './group.js';

/**
 * A GroupInfo of `group`'s current epoch as MLSMessage bytes, signed by us, with `external_pub`
 * and the ratchet tree by default: what a member needs to rejoin by external commit.
 */
export function groupInfoFor(group: Group, options: GroupInfoOptions = {}): Uint8Array {
  return encodeMlsMessage(createGroupInfo(group.state, options));
}

export interface RejoinOptions {
  /**
   * Whether to believe the GroupInfo's signer. Default: a member of the group we hold (its
   * signature key is in our tree), since anyone can make up a GroupInfo with a tree of its own.
   */
  readonly acceptSigner?: (signer: GroupMember) => boolean;
  readonly authenticatedData?: Uint8Array;
}

/** Our external commit: what to send, and the rejoin to merge once the group ordered it. */
export interface OutgoingRejoin {
  /** The commit (a PublicMessage from a new member), as MLSMessage bytes. */
  readonly commit: Uint8Array;
  readonly pending: PendingRejoin;
}

/** Our new epoch in the group, computed but not adopted. */
export class PendingRejoin {
  /** @internal Made by `rejoinGroup`. */
  constructor(private readonly staged: StagedExternalJoin) {}

  get groupId(): Uint8Array {
    return this.staged.groupContext.groupId;
  }

  /** The epoch the commit was made in (the GroupInfo's): the group must order it there. */
  get commitEpoch(): bigint {
    return this.staged.epoch - 1n;
  }

  /** The epoch the commit starts. */
  get epoch(): bigint {
    return this.staged.epoch;
  }

  /** The leaf we take in the new epoch. */
  get ownLeaf(): LeafIndex {
    return this.staged.ownLeaf;
  }

  /** Our old leaf, which the commit removes. */
  get removed(): LeafIndex | undefined {
    return this.staged.removed;
  }

  /** The new epoch's tree hash, equal for every member once merged. */
  get treeHash(): Uint8Array {
    return this.staged.groupContext.treeHash;
  }

  /** The member at `leaf` in the tree of the commit's epoch (e.g. to check who ordered it). */
  memberBefore(leaf: LeafIndex): GroupMember | undefined {
    const tree = this.staged.baseTree;
    const node = leaf < tree.leafCount ? tree.leafNode(leaf) : undefined;
    return node === undefined
      ? undefined
      : { leafIndex: leaf, credential: node.credential, signatureKey: node.signatureKey };
  }

  /** The new epoch's authenticator (§8.7). */
  epochAuthenticator(): Uint8Array {
    return this.staged.epochAuthenticator();
  }

  /** Our group at the new epoch, once the group ordered the commit. */
  merge(): Group {
    return new Group(this.staged.merge());
  }

  /** Another commit took the epoch: wipes the new epoch's secrets. Idempotent. */
  discard(): void {
    this.staged.discard();
  }
}

/**
 * Creates the external commit that brings us back into `group`'s group from `groupInfo` (bytes
 * of a GroupInfo MLSMessage of the same group, any epoch), removing our old leaf (found by our
 * signature key). Our state in `group` is not changed: destroy it once the rejoin is merged.
 * Throws MlsError: 'wrong_group', 'untrusted_signer', 'own_leaf_not_found' (we are not in that
 * epoch's tree: removed, so a resync cannot bring us back), and whatever the GroupInfo breaks.
 */
export function rejoinGroup(
  group: Group,
  groupInfo: Uint8Array,
  options: RejoinOptions = {},
): OutgoingRejoin {
  const state = group.state;
  state.requireActive();
  const message = decodeMlsMessage(groupInfo);
  if (message.wireFormat !== WireFormat.groupInfo) {
    throw new MlsError('invalid_wire_format', 'not a GroupInfo');
  }
  if (!equalBytes(message.groupInfo.groupContext.groupId, state.groupId)) {
    throw new MlsError('wrong_group', 'the GroupInfo is for another group');
  }
  const own = state.ownLeafNode;
  const known = group.members();
  const accept =
    options.acceptSigner ??
    ((m: GroupMember) => known.some((k) => equalBytes(k.signatureKey, m.signatureKey)));
  const created = createExternalCommit({
    groupInfo: message,
    credential: own.credential,
    signatureKeyPair: { publicKey: own.signatureKey, privateKey: state.signaturePrivateKey },
    capabilities: own.capabilities,
    leafExtensions: own.extensions,
    resync: { signatureKey: own.signatureKey },
    acceptSigner: (leaf, leafIndex) =>
      // Our own old leaf vouching for the group we are locked out of proves nothing.
      !equalBytes(leaf.signatureKey, own.signatureKey) &&
      accept({ leafIndex, credential: leaf.credential, signatureKey: leaf.signatureKey }),
    resolvedConfig: state.config,
    suite: state.suite,
    ...(options.authenticatedData === undefined
      ? {}
      : { authenticatedData: options.authenticatedData }),
  });
  return { commit: encodeMlsMessage(created.commit), pending: new PendingRejoin(created.staged) };
}
