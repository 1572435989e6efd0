/**
 * A handle on one group for the layers above MLS: create, add, remove, update, leave, commit,
 * process, send, export. Pure and synchronous; no I/O.
 *
 * The staged-commit rule: a commit (ours or received) never changes the group by itself. It is
 * returned as a `PendingCommit`; the caller merges it once the delivery layer's sequencer has
 * ordered it, or discards it when another commit won the epoch (RFC 9420 §14). Merging deletes
 * the previous epoch's secrets (§9.2) unless the caller keeps the previous state as a fork point.
 */
import type { KeyPair } from '../../crypto/types.js';
import type { Credential } from '../credential.js';
import { ParleyError } from '../../errors.js';
import { MlsError } from '../errors.js';
import { WireFormat } from '../framing/framedContent.js';
import type { MlsMessage } from '../framing/mlsMessage.js';
import type { PrivateMessage } from '../framing/privateMessage.js';
import { decodeMlsMessage, encodeMlsMessage } from '../framing/mlsMessage.js';
import type { CommitOptions } from '../group/createCommit.js';
import { createCommit } from '../group/createCommit.js';
import type { GroupState } from '../group/groupState.js';
import { batchableApplication, receiveApplicationBatch } from '../group/receiveBatch.js';
import type { SendOptions } from '../group/messages.js';
import {
  leaveGroup,
  processMessage,
  proposeAdd,
  proposeGroupContextExtensions,
  proposeRemove,
  proposeUpdate,
  sendApplicationMessage,
} from '../group/messages.js';
import type { Extension } from '../extension.js';
import type { KeyPackage } from '../keyPackage.js';
import type { LeafNode } from '../leafNode.js';
import type { Proposal } from '../proposal.js';
import { ProposalType } from '../proposal.js';
import type { LeafIndex } from '../treeMath.js';
import type { GroupEvent, GroupMember, OutgoingCommit, OutgoingProposal } from './events.js';
import { PendingCommit } from './events.js';

/** A KeyPackage as an object or as the MLSMessage bytes a contact handed over. */
export type KeyPackageInput = KeyPackage | Uint8Array;

export interface GroupCommitOptions {
  /** Send an UpdatePath even when the proposals do not need one (fresh keys for us). */
  readonly path?: 'auto' | 'always';
  readonly authenticatedData?: Uint8Array;
  /** Commit only these cached proposals (by ref) rather than all that fit. */
  readonly byReference?: readonly Uint8Array[];
}

export interface UpdateOptions {
  /** A new signature key pair for our leaf (the commit is signed with the old one). */
  readonly signatureKeyPair?: KeyPair;
  /** A new credential for our leaf (§5.3.1: the application decides whether it may replace ours). */
  readonly credential?: Credential;
}

/** One message's outcome in `processBatch`. */
export type BatchOutcome =
  | { readonly ok: true; readonly event: GroupEvent }
  | { readonly ok: false; readonly error: ParleyError };

function keyPackageOf(input: KeyPackageInput): KeyPackage {
  if (!(input instanceof Uint8Array)) return input;
  const m = decodeMlsMessage(input);
  if (m.wireFormat !== WireFormat.keyPackage) {
    throw new MlsError('invalid_wire_format', 'not a KeyPackage message');
  }
  return m.keyPackage;
}

function memberOf(leafIndex: LeafIndex, leaf: LeafNode): GroupMember {
  return { leafIndex, credential: leaf.credential, signatureKey: leaf.signatureKey };
}

function bytesOf(m: MlsMessage | undefined): Uint8Array | undefined {
  return m === undefined ? undefined : encodeMlsMessage(m);
}

export class Group {
  private current: GroupState;
  private readonly pending = new Set<PendingCommit>();

  /** A handle on a state (new, joined, or decoded from storage). */
  constructor(state: GroupState) {
    this.current = state;
  }

  /** The state of the current epoch, for storage (`src-core/mls/storage`). */
  get state(): GroupState {
    return this.current;
  }

  get groupId(): Uint8Array {
    return this.current.groupId;
  }

  get epoch(): bigint {
    return this.current.epoch;
  }

  get ownLeaf(): LeafIndex {
    return this.current.ownLeaf;
  }

  /** False once we were removed, the group was reinitialized, or the handle was destroyed. */
  get isActive(): boolean {
    return this.current.isActive;
  }

  members(): GroupMember[] {
    return this.current.members().map((m) => memberOf(m.leafIndex, m.leafNode));
  }

  /** The epoch authenticator (§8.7): equal for all members; compare it out of band. */
  epochAuthenticator(): Uint8Array {
    return this.current.epochAuthenticator();
  }

  /** MLS-Exporter(label, context, length) (§8.5) of the current epoch. */
  export(label: string, context: Uint8Array, length: number): Uint8Array {
    return this.current.exporter(label, context, length);
  }

  /** Encrypts application data for the group (a PrivateMessage). */
  send(data: Uint8Array, options: SendOptions = {}): Uint8Array {
    return encodeMlsMessage(sendApplicationMessage(this.current, data, options));
  }

  // ---- Proposals -----------------------------------------------------------------------------

  proposeAdd(keyPackage: KeyPackageInput, options?: SendOptions): OutgoingProposal {
    return outgoing(proposeAdd(this.current, keyPackageOf(keyPackage), options));
  }

  proposeRemove(leaf: LeafIndex, options?: SendOptions): OutgoingProposal {
    return outgoing(proposeRemove(this.current, leaf, options));
  }

  /** An Update of our leaf with a fresh encryption key, for another member to commit. */
  proposeUpdate(options?: SendOptions): OutgoingProposal {
    return outgoing(proposeUpdate(this.current, options));
  }

  /**
   * A GroupContextExtensions proposal (§12.1.7): the complete new list, for another member to
   * commit. Every member must support each extension type (checked when a commit applies it).
   */
  proposeGroupContextExtensions(
    extensions: readonly Extension[],
    options?: SendOptions,
  ): OutgoingProposal {
    return outgoing(proposeGroupContextExtensions(this.current, extensions, options));
  }

  /**
   * Leaving: a Remove proposal for our own leaf (§12.2 forbids removing ourselves in our own
   * commit). Another member commits it; processing that commit then tells us `removesUs`.
   */
  leave(options?: SendOptions): OutgoingProposal {
    return outgoing(leaveGroup(this.current, options));
  }

  // ---- Commits -------------------------------------------------------------------------------

  /** Commits the proposals received in this epoch (all that fit, or those listed). */
  commit(options: GroupCommitOptions = {}): OutgoingCommit {
    return this.createCommit(this.base(options));
  }

  /** Adds members by their KeyPackages (together with any pending proposals). */
  add(keyPackages: readonly KeyPackageInput[], options: GroupCommitOptions = {}): OutgoingCommit {
    const proposals: Proposal[] = keyPackages.map((kp) => ({
      proposalType: ProposalType.add,
      add: { keyPackage: keyPackageOf(kp) },
    }));
    return this.createCommit({ ...this.base(options), proposals });
  }

  /** Removes members (not ourselves: use `leave`). */
  remove(leaves: readonly LeafIndex[], options: GroupCommitOptions = {}): OutgoingCommit {
    const proposals: Proposal[] = leaves.map((removed) => ({
      proposalType: ProposalType.remove,
      remove: { removed },
    }));
    return this.createCommit({ ...this.base(options), proposals });
  }

  /**
   * Replaces the GroupContext extensions (§12.1.7) by a commit carrying a GroupContextExtensions
   * proposal by value (with any pending proposals). The commit has an UpdatePath (§12.4), so it
   * also renews our keys. MLS refuses it when a member lacks support for an extension type or the
   * group's `required_capabilities` (`missing_required_capability`, `unsupported_extension`), or
   * when the application's proposal policy says no (`proposal_rejected_by_policy`).
   */
  setExtensions(
    extensions: readonly Extension[],
    options: GroupCommitOptions = {},
  ): OutgoingCommit {
    const proposals: Proposal[] = [
      {
        proposalType: ProposalType.groupContextExtensions,
        groupContextExtensions: { extensions: [...extensions] },
      },
    ];
    return this.createCommit({ ...this.base(options), proposals });
  }

  /** Fresh keys for our leaf and path (post-compromise security), by a commit with a path. */
  update(options: UpdateOptions = {}): OutgoingCommit {
    return this.createCommit({
      path: 'always',
      ...(options.signatureKeyPair === undefined && options.credential === undefined
        ? {}
        : {
            leafNode: {
              ...(options.signatureKeyPair === undefined
                ? {}
                : { signatureKeyPair: options.signatureKeyPair }),
              ...(options.credential === undefined ? {} : { credential: options.credential }),
            },
          }),
    });
  }

  private base(options: GroupCommitOptions): CommitOptions {
    return {
      ...(options.path === undefined ? {} : { path: options.path }),
      ...(options.authenticatedData === undefined
        ? {}
        : { authenticatedData: options.authenticatedData }),
      ...(options.byReference === undefined ? {} : { byReference: options.byReference }),
    };
  }

  private createCommit(options: CommitOptions): OutgoingCommit {
    const created = createCommit(this.current, options);
    const pending = new PendingCommit(created.staged, true);
    this.pending.add(pending);
    return {
      commit: encodeMlsMessage(created.commit),
      welcome: bytesOf(created.welcome),
      pending,
    };
  }

  // ---- Incoming ------------------------------------------------------------------------------

  /**
   * Processes a message for this group: application data (this epoch or a kept past one), a
   * proposal (verified and cached), or a commit (returned pending). Throws MlsError naming the
   * broken rule; the group is then unchanged.
   */
  process(message: Uint8Array): GroupEvent {
    return this.processDecoded(decodeMlsMessage(message));
  }

  /**
   * Processes several messages in order, with the same outcome as `process` on each: one result
   * per message, the event or the error that rejected it (the group unchanged by that message).
   * Runs of application messages of the current epoch are decrypted here and their signatures
   * verified on worker threads (see framing/unprotectBatch.ts), the rest one by one. Do not call
   * `merge` while a batch is pending: its messages belong to the epoch it started in.
   */
  async processBatch(messages: readonly Uint8Array[]): Promise<BatchOutcome[]> {
    const out = new Array<BatchOutcome>(messages.length);
    let run: { readonly at: number; readonly message: PrivateMessage }[] = [];
    const flush = async (): Promise<void> => {
      if (run.length === 0) return;
      const taken = run;
      run = [];
      try {
        const results = await receiveApplicationBatch(
          this.current,
          taken.map((r) => r.message),
        );
        results.forEach((r, k) => {
          out[taken[k]!.at] = r.ok
            ? {
                ok: true,
                event: {
                  kind: 'application',
                  data: r.value.data,
                  sender: memberOf(r.value.sender, r.value.senderLeaf),
                  epoch: r.value.epoch,
                  authenticatedData: r.value.authenticatedData,
                },
              }
            : r;
        });
      } catch (e) {
        if (!(e instanceof ParleyError)) throw e;
        for (const r of taken) out[r.at] = { ok: false, error: e };
      }
    };
    for (let i = 0; i < messages.length; i++) {
      try {
        const m = decodeMlsMessage(messages[i]!);
        const app = this.current.isActive ? batchableApplication(this.current, m) : undefined;
        if (app !== undefined) {
          run.push({ at: i, message: app });
          continue;
        }
        await flush();
        out[i] = { ok: true, event: this.processDecoded(m) };
      } catch (e) {
        if (!(e instanceof ParleyError)) throw e;
        out[i] = { ok: false, error: e };
      }
    }
    await flush();
    return out;
  }

  private processDecoded(message: MlsMessage): GroupEvent {
    const got = processMessage(this.current, message);
    switch (got.kind) {
      case 'application': {
        const tree =
          got.epoch === this.current.epoch
            ? this.current.tree
            : this.current.pastReceiver(got.epoch)?.tree;
        const leaf = tree?.leafNode(got.sender);
        if (leaf === undefined) throw new MlsError('invalid_sender', 'sender leaf is blank');
        return {
          kind: 'application',
          data: got.data,
          sender: memberOf(got.sender, leaf),
          epoch: got.epoch,
          authenticatedData: got.authenticatedData,
        };
      }
      case 'proposal':
        return { kind: 'proposal', ref: got.ref, proposal: got.proposal, sender: got.sender };
      case 'commit': {
        const pending = new PendingCommit(got.staged, false);
        this.pending.add(pending);
        return { kind: 'commit', commit: pending };
      }
    }
  }

  /**
   * Adopts a pending commit of this epoch: the group moves to the new epoch and the other pending
   * commits of the old one are discarded. With `keepPrevious`, the old epoch's state lives on as
   * a separate `Group` (a fork point to roll back to; `destroy()` it when the window passes),
   * with the other pending commits still pending on it; otherwise its secrets are deleted now.
   */
  merge(
    commit: PendingCommit,
    options: { readonly keepPrevious?: boolean } = {},
  ): Group | undefined {
    if (!this.pending.has(commit)) {
      throw new MlsError('staged_commit_consumed', 'not a pending commit of this group');
    }
    const previous = this.current;
    const next = commit.staged.merge({ keepPrevious: options.keepPrevious === true });
    this.pending.delete(commit);
    const others = [...this.pending];
    this.pending.clear();
    this.current = next;
    if (options.keepPrevious !== true) {
      for (const other of others) other.staged.discard();
      return undefined;
    }
    // The epoch's other commits stay pending on the kept state: MLS cannot process a commit
    // twice (its handshake key is spent), and a fork resolved later may need one of them.
    const kept = new Group(previous);
    for (const other of others) kept.pending.add(other);
    return kept;
  }

  /** Drops a pending commit (another commit won the epoch): wipes the keys only it held. */
  discard(commit: PendingCommit): void {
    if (this.pending.delete(commit)) commit.staged.discard();
  }

  /** Wipes the group's secrets (leaving for good, or a fork point no longer needed). */
  destroy(): void {
    for (const p of this.pending) p.staged.discard();
    this.pending.clear();
    this.current.destroy();
  }
}

function outgoing(sent: { message: MlsMessage; ref: Uint8Array }): OutgoingProposal {
  return { message: encodeMlsMessage(sent.message), ref: sent.ref };
}
