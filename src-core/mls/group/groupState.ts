/**
 * A member's state of a group in one epoch (RFC 9420 §8, §12).
 *
 * What defines the epoch is immutable: GroupContext, ratchet tree version, our leaf and private
 * keys, epoch secrets, transcript hashes. A commit never changes a state; it is staged
 * (`StagedCommit`) and merged into a new state. The new state shares the unchanged parts of the
 * tree with this one (tree versions are persistent), so keeping an older state as a snapshot costs
 * only what changed.
 *
 * Two things do change within an epoch, as messages arrive: the secret tree (each message key is
 * consumed once) and the cache of proposals received. Both change only when a message has been
 * fully verified.
 *
 * Deletion (§9.2, §7.5): a state's secrets are wiped when the caller says it is superseded —
 * `StagedCommit.merge()` does so unless asked to keep the previous state, and `destroy()` does
 * so for a kept snapshot. Nothing is wiped while a staged commit may still be discarded. The
 * leaf's signature private key is the caller's (the identity layer made it) and is never wiped
 * here.
 */
import { decode } from '../../codec/index.js';
import type { CipherSuite } from '../../crypto/types.js';
import { MlsError } from '../errors.js';
import type { Extension } from '../extension.js';
import { ExtensionType } from '../extension.js';
import type { ExternalSender } from '../externalSenders.js';
import { externalSendersCodec } from '../externalSenders.js';
import type { EpochFramingState } from '../framing/rules.js';
import type { GroupContext } from '../groupContext.js';
import type { EpochSecrets } from '../keySchedule.js';
import type { LeafNode } from '../leafNode.js';
import type { ReInit } from '../proposal.js';
import type { RatchetTree } from '../ratchetTree/ratchetTree.js';
import type { PrivatePath } from '../treekem/privatePath.js';
import type { LeafIndex } from '../treeMath.js';
import type { ResolvedGroupConfig } from './config.js';
import type { EpochReceiver } from './epochReceiver.js';
import { ProposalCache } from './proposals/cache.js';

/**
 * - `active`: a member of the current epoch.
 * - `removed`: a commit removed us; only late application messages of past epochs still decrypt.
 * - `reinit`: a commit carried a ReInit (§11.2); the group MUST NOT be used to send any more.
 */
export type GroupStatus = 'active' | 'removed' | 'reinit';

/** Everything a state is made of (for the group module and, later, storage). */
export interface GroupStateParts {
  readonly suite: CipherSuite;
  readonly config: ResolvedGroupConfig;
  readonly groupContext: GroupContext;
  readonly tree: RatchetTree;
  readonly ownLeaf: LeafIndex;
  /** Owned by this state: no other state holds the same key objects. */
  readonly privatePath: PrivatePath;
  readonly signaturePrivateKey: Uint8Array;
  readonly interimTranscriptHash: Uint8Array;
  readonly confirmationTag: Uint8Array;
  /** Absent once removed. Owned. */
  readonly epochSecrets: EpochSecrets | undefined;
  /** This epoch's receiver (absent once removed); this state is one of its holders. */
  readonly receiver: EpochReceiver | undefined;
  /** Past epochs, newest first; this state is one holder of each. */
  readonly pastReceivers: readonly EpochReceiver[];
  /** resumption_psk by epoch, this epoch's included when known. Owned copies. */
  readonly resumptionPsks: ReadonlyMap<bigint, Uint8Array>;
  readonly status: GroupStatus;
  /** The ReInit committed in the commit that started this epoch (status 'reinit'). */
  readonly reInit?: ReInit;
}

/** A member of the group as the tree shows it. */
export interface Member {
  readonly leafIndex: LeafIndex;
  readonly leafNode: LeafNode;
}

export class GroupState {
  readonly suite: CipherSuite;
  readonly config: ResolvedGroupConfig;
  readonly groupContext: GroupContext;
  readonly tree: RatchetTree;
  readonly ownLeaf: LeafIndex;
  readonly interimTranscriptHash: Uint8Array;
  readonly confirmationTag: Uint8Array;
  readonly status: GroupStatus;
  readonly reInit: ReInit | undefined;
  /** Proposals received (and sent) in this epoch, by reference. */
  readonly proposals: ProposalCache;
  private readonly parts: GroupStateParts;
  private externalSendersCache: readonly ExternalSender[] | undefined;
  private destroyed = false;

  private constructor(parts: GroupStateParts) {
    this.parts = parts;
    this.suite = parts.suite;
    this.config = parts.config;
    this.groupContext = parts.groupContext;
    this.tree = parts.tree;
    this.ownLeaf = parts.ownLeaf;
    this.interimTranscriptHash = parts.interimTranscriptHash;
    this.confirmationTag = parts.confirmationTag;
    this.status = parts.status;
    this.reInit = parts.reInit;
    this.proposals = new ProposalCache(parts.config.maxStoredProposals);
  }

  /**
   * Assembles a state; the new state takes ownership of the parts as `GroupStateParts` describes.
   * Used by group creation, joining and merging (and by storage to restore a state).
   */
  static fromParts(parts: GroupStateParts): GroupState {
    if (parts.status !== 'removed' && (parts.epochSecrets === undefined || !parts.receiver)) {
      throw new MlsError('invalid_argument', 'a member state needs its epoch secrets');
    }
    return new GroupState(parts);
  }

  get epoch(): bigint {
    return this.groupContext.epoch;
  }

  get groupId(): Uint8Array {
    return this.groupContext.groupId;
  }

  get isActive(): boolean {
    return !this.destroyed && this.status === 'active';
  }

  /** Whether `destroy()` (or a merge that superseded it) wiped this state. */
  get isDestroyed(): boolean {
    return this.destroyed;
  }

  get ownLeafNode(): LeafNode {
    const leaf = this.tree.leafNode(this.ownLeaf);
    if (leaf === undefined) throw new MlsError('group_inactive', 'we are not in the tree');
    return leaf;
  }

  /** The members, in leaf order. O(n). */
  members(): Member[] {
    const out: Member[] = [];
    this.tree.forEachMember((leafNode, leafIndex) => out.push({ leafIndex, leafNode }));
    return out;
  }

  get memberCount(): number {
    return this.tree.memberCount;
  }

  /**
   * The epoch authenticator (§8.7): equal for all members of the epoch, shown to users for an
   * out-of-band check. A copy.
   */
  epochAuthenticator(): Uint8Array {
    return this.epochSecrets().epochAuthenticator.slice();
  }

  /** MLS-Exporter(label, context, length) (§8.5) of this epoch. */
  exporter(label: string, context: Uint8Array, length: number): Uint8Array {
    return this.epochSecrets().exporter(label, context, length);
  }

  /** external_pub of this epoch (§8), for a GroupInfo that allows external joins. */
  externalPub(): Uint8Array {
    return this.epochSecrets().externalPub;
  }

  /** The external senders allowed by the GroupContext (§12.1.8.1), decoded once. */
  externalSenders(): readonly ExternalSender[] {
    if (this.externalSendersCache === undefined) {
      this.externalSendersCache = decodeExternalSenders(this.groupContext.extensions);
    }
    return this.externalSendersCache;
  }

  // ---- Internal to the group module: secrets and keys -------------------------------------

  /** @internal This epoch's secrets. Throws once removed or destroyed. */
  epochSecrets(): EpochSecrets {
    this.checkLive();
    const s = this.parts.epochSecrets;
    if (s === undefined) throw new MlsError('group_inactive', 'no epoch secrets: we were removed');
    return s;
  }

  /** @internal Our private keys for this tree. */
  get privatePath(): PrivatePath {
    this.checkLive();
    return this.parts.privatePath;
  }

  /** @internal The signature private key of our leaf. */
  get signaturePrivateKey(): Uint8Array {
    this.checkLive();
    return this.parts.signaturePrivateKey;
  }

  /** @internal The framing view of the current epoch. */
  framing(): EpochFramingState {
    const secrets = this.epochSecrets();
    return this.parts.receiver!.framing(secrets.membershipKey);
  }

  /** @internal The receiver of the current epoch (if still a member), then of past ones. */
  receivers(): readonly EpochReceiver[] {
    this.checkLive();
    const r = this.parts.receiver;
    return r === undefined ? this.parts.pastReceivers : [r, ...this.parts.pastReceivers];
  }

  /** @internal The receiver for a past epoch within the window. */
  pastReceiver(epoch: bigint): EpochReceiver | undefined {
    this.checkLive();
    return this.parts.pastReceivers.find((r) => r.epoch === epoch);
  }

  /** @internal resumption_psk of `epoch` if still kept. */
  resumptionPsk(epoch: bigint): Uint8Array | undefined {
    this.checkLive();
    return this.parts.resumptionPsks.get(epoch);
  }

  /** @internal All kept resumption PSKs (newest epochs). */
  resumptionPsks(): ReadonlyMap<bigint, Uint8Array> {
    this.checkLive();
    return this.parts.resumptionPsks;
  }

  /**
   * @internal The parts, secrets included, for the state codec (storage encrypts them at rest).
   * Throws 'state_superseded' once destroyed.
   */
  storageParts(): GroupStateParts {
    this.checkLive();
    return this.parts;
  }

  /**
   * @internal The receivers this state holds or held (current first, then past epochs), also
   * after it was destroyed: storage needs to know which epochs' records a merge dropped.
   */
  heldReceivers(): readonly EpochReceiver[] {
    const r = this.parts.receiver;
    return r === undefined ? this.parts.pastReceivers : [r, ...this.parts.pastReceivers];
  }

  /** Throws MlsError('state_superseded') once the state was destroyed. */
  checkLive(): void {
    if (this.destroyed) {
      throw new MlsError('state_superseded', `the state of epoch ${this.epoch} was destroyed`);
    }
  }

  /** Throws unless we may send and process handshake messages in this epoch. */
  requireActive(): void {
    this.checkLive();
    if (this.status === 'removed') {
      throw new MlsError('group_inactive', 'we were removed from the group');
    }
    if (this.status === 'reinit') {
      throw new MlsError('group_inactive', 'the group was reinitialized (ReInit committed)');
    }
  }

  /**
   * Wipes this state's secrets: epoch secrets, private keys, its hold on this and past epochs'
   * receive keys, resumption PSKs, cached proposals. For a state kept as a snapshot once it is no
   * longer needed; afterwards every use throws 'state_superseded'. Idempotent.
   */
  destroy(): void {
    this.supersede(undefined);
  }

  /**
   * @internal Destroys this state in favour of `next`, which may share private keys with it
   * (those are kept).
   */
  supersede(next: GroupState | undefined): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.parts.privatePath.retire(next?.parts.privatePath);
    this.parts.epochSecrets?.destroy();
    this.parts.receiver?.release();
    for (const r of this.parts.pastReceivers) r.release();
    for (const psk of this.parts.resumptionPsks.values()) psk.fill(0);
    this.proposals.clear();
  }
}

/** The `external_senders` GroupContext extension, decoded; empty if absent. */
export function decodeExternalSenders(extensions: readonly Extension[]): readonly ExternalSender[] {
  const ext = extensions.find((e) => e.extensionType === ExtensionType.externalSenders);
  if (ext === undefined) return [];
  try {
    return decode(externalSendersCodec, ext.extensionData);
  } catch (e) {
    throw new MlsError('decode_failed', 'external_senders extension does not decode', {
      cause: e,
    });
  }
}
