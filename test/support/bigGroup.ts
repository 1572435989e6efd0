/**
 * A group of up to a hundred members driven step by step for the scenario test: members named
 * m00, m01, ... each with its own config (even numbers send handshakes as PublicMessages, odd ones
 * as PrivateMessages; all accept both), messages travelling as bytes, and after every commit the
 * checks the scenario asks for:
 *
 * - every member agrees on the epoch, tree hash, confirmed transcript and epoch authenticator;
 * - application messages from several members are read by every other current member;
 * - no removed member reads anything afterwards: its last state, and the state it had before the
 *   removing commit, refuse every later message with a typed error, and none of its private keys
 *   opens any path secret of the commit that removed it (while a remaining member's keys do).
 */
import { expect } from 'vitest';
import { encode } from '../../src-core/codec/index.js';
import { CryptoError } from '../../src-core/crypto/index.js';
import { cipherSuite } from '../../src-core/crypto/index.js';
import type { CipherSuite } from '../../src-core/crypto/types.js';
import type { Commit } from '../../src-core/mls/commit.js';
import { MlsError } from '../../src-core/mls/errors.js';
import type { MlsErrorCode } from '../../src-core/mls/errors.js';
import { ContentType, WireFormat } from '../../src-core/mls/framing/framedContent.js';
import type { FramedMlsMessage, MlsMessage } from '../../src-core/mls/framing/mlsMessage.js';
import { decodeMlsMessage, encodeMlsMessage } from '../../src-core/mls/framing/mlsMessage.js';
import { SenderType } from '../../src-core/mls/framing/sender.js';
import { unprotectPrivateMessage } from '../../src-core/mls/framing/unprotect.js';
import type {
  CommitOptions,
  GroupConfig,
  GroupState,
  KeyPackageBundle,
  StagedCommit,
} from '../../src-core/mls/group/index.js';
import {
  createCommit,
  createGroup,
  joinFromWelcome,
  processMessage,
  sendApplicationMessage,
} from '../../src-core/mls/group/index.js';
import { groupContextCodec } from '../../src-core/mls/groupContext.js';
import { UPDATE_PATH_NODE_LABEL } from '../../src-core/mls/treekem/index.js';
import type { Client } from '../mls/groupHarness.js';
import { keyPackageFor, newClient, text, untext } from '../mls/groupHarness.js';
import { toHex } from './shared.js';

/** A member removed from the group: its state after the removal, and the one before it. */
export interface RemovedMember {
  readonly name: string;
  readonly epoch: bigint;
  readonly last: GroupState;
  readonly before: GroupState;
}

/** Counts of what the scenario checked, for its final assertions and its log line. */
export interface ScenarioStats {
  commits: number;
  commitsProcessed: number;
  appMessagesSent: number;
  appMessagesRead: number;
  refusedToRemoved: number;
  pathSecretsTriedByRemoved: number;
}

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SENTINEL = new Error('commit read');

export class BigGroup {
  readonly suite: CipherSuite;
  readonly members = new Map<string, GroupState>();
  readonly clients = new Map<string, Client>();
  readonly removed: RemovedMember[] = [];
  readonly stats: ScenarioStats = {
    commits: 0,
    commitsProcessed: 0,
    appMessagesSent: 0,
    appMessagesRead: 0,
    refusedToRemoved: 0,
    pathSecretsTriedByRemoved: 0,
  };
  private counter = 0;

  constructor(
    readonly random: () => number,
    readonly externalPsks: ReadonlyMap<string, Uint8Array>,
  ) {
    this.suite = cipherSuite(1);
  }

  configOf(name: string): GroupConfig {
    return {
      handshakeWireFormat: Number(name.slice(1)) % 2 === 0 ? 'public' : 'private',
      externalPsk: (id) => this.externalPsks.get(toHex(id)),
    };
  }

  /** A new client's name. */
  newName(): string {
    const name = `m${String(this.counter++).padStart(2, '0')}`;
    this.clients.set(name, newClient(this.suite, name));
    return name;
  }

  client(name: string): Client {
    return this.clients.get(name)!;
  }

  state(name: string): GroupState {
    const s = this.members.get(name);
    if (s === undefined) throw new Error(`${name} is not a member`);
    return s;
  }

  keyPackage(name: string): KeyPackageBundle {
    return keyPackageFor(this.suite, this.client(name));
  }

  create(): string {
    const name = this.newName();
    const c = this.client(name);
    this.members.set(
      name,
      createGroup({
        suite: this.suite,
        credential: c.credential,
        signatureKeyPair: c.signature,
        config: this.configOf(name),
      }),
    );
    return name;
  }

  /** `k` distinct current members chosen at random, none of `except`. */
  pick(k: number, except: readonly string[] = []): string[] {
    const pool = [...this.members.keys()].filter((n) => !except.includes(n));
    const out: string[] = [];
    while (out.length < k && pool.length > 0) {
      out.push(pool.splice(Math.floor(this.random() * pool.length), 1)[0]!);
    }
    return out;
  }

  /** The member at `leaf`, if any. */
  atLeaf(leaf: number): string | undefined {
    for (const [name, s] of this.members) if (s.ownLeaf === leaf) return name;
    return undefined;
  }

  /** Delivers a proposal message from `from` to every other member. */
  broadcastProposal(from: string, message: MlsMessage): void {
    const bytes = encodeMlsMessage(message);
    for (const [name, s] of this.members) {
      if (name === from) continue;
      expect(processMessage(s, bytes).kind).toBe('proposal');
    }
  }

  /** `by` commits; new members join from the Welcome. Runs every check of a step. */
  commit(
    by: string,
    options: CommitOptions,
    joiners: ReadonlyMap<string, KeyPackageBundle> = new Map(),
  ): Map<string, StagedCommit> {
    const created = createCommit(this.state(by), options);
    const staged = this.deliver(created.commit, by);
    this.members.set(by, created.staged.merge());
    if (joiners.size > 0) {
      const welcome = encodeMlsMessage(created.welcome!);
      for (const [name, bundle] of joiners) {
        const s = joinFromWelcome({ welcome, keyPackages: [bundle], config: this.configOf(name) });
        this.members.set(name, s);
      }
    }
    this.afterCommit(created.commit);
    return staged;
  }

  /**
   * Every member but `committer` processes `message` and merges it. Members it removes are kept
   * (their last state and the one before) and must be unable to open any of its path secrets.
   */
  deliver(message: FramedMlsMessage, committer: string | undefined): Map<string, StagedCommit> {
    const bytes = encodeMlsMessage(message);
    const others = [...this.members].filter(([n]) => n !== committer);
    const commit = others.length === 0 ? undefined : this.readCommit(bytes, others[0]![1]);
    const staged = new Map<string, StagedCommit>();
    for (const [name, s] of others) {
      const got = processMessage(s, bytes);
      if (got.kind !== 'commit') throw new Error(`${name} read a ${got.kind}`);
      staged.set(name, got.staged);
      this.stats.commitsProcessed++;
    }
    const gone = [...staged].filter(([, st]) => st.selfRemoved).map(([n]) => n);
    if (gone.length > 0 && commit?.path !== undefined) {
      const control = others.find(([n]) => !gone.includes(n))?.[1];
      this.checkPathSecretsClosed(commit!, staged.get(gone[0]!)!, gone, control);
    }
    for (const [name, st] of staged) {
      const before = this.members.get(name)!;
      if (st.selfRemoved) {
        const last = st.merge({ keepPrevious: true });
        expect(last.status).toBe('removed');
        this.removed.push({ name, epoch: last.epoch, last, before });
        this.members.delete(name);
      } else {
        this.members.set(name, st.merge());
      }
    }
    return staged;
  }

  /** The Commit inside a commit message, read by `reader` without consuming its key. */
  private readCommit(bytes: Uint8Array, reader: GroupState): Commit {
    const m = decodeMlsMessage(bytes);
    if (m.wireFormat === WireFormat.publicMessage) {
      const c = m.publicMessage.content;
      if (c.contentType !== ContentType.commit) throw new Error('not a commit');
      return c.commit;
    }
    if (m.wireFormat !== WireFormat.privateMessage) throw new Error('not a framed message');
    let commit: Commit | undefined;
    const lookup = (sender: { senderType: number; leafIndex?: number }) =>
      sender.senderType === SenderType.member
        ? reader.tree.leafNode(sender.leafIndex!)?.signatureKey
        : undefined;
    try {
      // Throwing from the callback leaves the reader's key unconsumed.
      unprotectPrivateMessage(reader.framing(), m.privateMessage, lookup, (ac) => {
        if (ac.content.contentType === ContentType.commit) commit = ac.content.commit;
        throw SENTINEL;
      });
    } catch (e) {
      if (e !== SENTINEL) throw e;
    }
    if (commit === undefined) throw new Error('not a commit');
    return commit;
  }

  /**
   * TreeKEM forgets removed members: with the right HPKE context, none of their private keys
   * (leaf and path nodes, as held before the commit) opens any ciphertext of the commit's path,
   * while a remaining member's keys open at least one.
   */
  private checkPathSecretsClosed(
    commit: Commit,
    removedView: StagedCommit,
    gone: readonly string[],
    control: GroupState | undefined,
  ): void {
    const old = this.members.get(gone[0]!)!;
    const context = encode(groupContextCodec, {
      ...removedView.groupContext,
      confirmedTranscriptHash: old.groupContext.confirmedTranscriptHash,
    });
    const opened = (s: GroupState): number => {
      let n = 0;
      for (const x of s.privatePath.nodes()) {
        const key = s.privatePath.keyPair(x)!.privateKey;
        for (const node of commit.path!.nodes) {
          for (const ct of node.encryptedPathSecret) {
            try {
              this.suite.decryptWithLabel(
                key,
                UPDATE_PATH_NODE_LABEL,
                context,
                ct.kemOutput,
                ct.ciphertext,
              );
              n++;
            } catch (e) {
              if (!(e instanceof CryptoError)) throw e;
            }
          }
        }
      }
      return n;
    };
    for (const name of gone) {
      expect(opened(this.members.get(name)!), `${name} opened a path secret`).toBe(0);
      this.stats.pathSecretsTriedByRemoved++;
    }
    if (control !== undefined) expect(opened(control)).toBeGreaterThan(0);
  }

  /** The checks after a commit was merged by everyone. */
  afterCommit(message: FramedMlsMessage): void {
    this.stats.commits++;
    this.expectAgreement();
    const bytes = encodeMlsMessage(message);
    // Members removed by earlier commits cannot process this one either.
    for (const r of this.removed) {
      if (r.epoch === this.epoch) continue;
      this.expectRefused(r, bytes);
    }
  }

  get epoch(): bigint {
    return this.members.values().next().value!.epoch;
  }

  /** Everyone agrees on the epoch, tree hash, transcript and epoch authenticator. */
  expectAgreement(): void {
    let first: string | undefined;
    let firstName = '';
    for (const [name, s] of this.members) {
      const view = [
        s.epoch,
        toHex(s.tree.treeHash()),
        toHex(s.groupContext.confirmedTranscriptHash),
        toHex(s.epochAuthenticator()),
        s.memberCount,
      ].join('|');
      if (first === undefined) {
        first = view;
        firstName = name;
      } else if (view !== first) {
        expect(view, `${name} disagrees with ${firstName}`).toBe(first);
      }
      expect(s.ownLeafNode.signatureKey).toEqual(this.client(name).signature.publicKey);
    }
    expect(this.members.size).toBe(this.state(firstName).memberCount);
  }

  /** Each of `senders` sends a message; every other member reads it, no removed member does. */
  chatter(senders: readonly string[], tag: string): void {
    for (const from of senders) {
      const s = this.state(from);
      const body = `${tag} from ${from}`;
      const bytes = encodeMlsMessage(sendApplicationMessage(s, text(body)));
      this.stats.appMessagesSent++;
      for (const [name, r] of this.members) {
        if (name === from) continue;
        const got = processMessage(r, bytes);
        if (got.kind !== 'application') throw new Error(`${name} read a ${got.kind}`);
        expect(untext(got.data)).toBe(body);
        expect(got.sender).toBe(s.ownLeaf);
        this.stats.appMessagesRead++;
      }
      for (const r of this.removed) this.expectRefused(r, bytes);
    }
  }

  /** A removed member's states refuse `bytes` (of a later epoch, or of another group). */
  expectRefused(r: RemovedMember, bytes: Uint8Array, code?: MlsErrorCode): void {
    for (const s of [r.last, r.before]) {
      let caught: unknown;
      try {
        processMessage(s, bytes);
      } catch (e) {
        caught = e;
      }
      expect(caught, `${r.name} (removed in epoch ${r.epoch}) read a message`).toBeInstanceOf(
        MlsError,
      );
      const want =
        code ?? (toHex(groupIdOf(bytes)) === toHex(s.groupId) ? 'wrong_epoch' : 'wrong_group');
      expect((caught as MlsError).code).toBe(want);
      this.stats.refusedToRemoved++;
    }
  }
}

function groupIdOf(bytes: Uint8Array): Uint8Array {
  const m = decodeMlsMessage(bytes);
  if (m.wireFormat === WireFormat.privateMessage) return m.privateMessage.groupId;
  if (m.wireFormat === WireFormat.publicMessage) return m.publicMessage.content.groupId;
  throw new Error('not a framed message');
}
