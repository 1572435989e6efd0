/**
 * A small in-memory "delivery service" for group tests: clients with their own signature keys and
 * KeyPackages, messages that travel as encoded MLSMessage bytes, and checks that every member
 * agrees on the epoch after each step.
 */
import { expect } from 'vitest';
import { cipherSuite } from '../../src-core/crypto/index.js';
import type { CipherSuite, CipherSuiteId, KeyPair } from '../../src-core/crypto/types.js';
import { CredentialType } from '../../src-core/mls/credential.js';
import type { Credential } from '../../src-core/mls/credential.js';
import { MlsError } from '../../src-core/mls/errors.js';
import type { MlsErrorCode } from '../../src-core/mls/errors.js';
import { authenticateCommit } from '../../src-core/mls/framing/authenticatedContent.js';
import type { Commit } from '../../src-core/mls/commit.js';
import { ContentType, WireFormat } from '../../src-core/mls/framing/framedContent.js';
import type { FramedContent, FramingWireFormat } from '../../src-core/mls/framing/framedContent.js';
import { decodeMlsMessage, encodeMlsMessage } from '../../src-core/mls/framing/mlsMessage.js';
import type { FramedMlsMessage, MlsMessage } from '../../src-core/mls/framing/mlsMessage.js';
import { protectAuthenticated } from '../../src-core/mls/framing/protect.js';
import { memberSender } from '../../src-core/mls/framing/sender.js';
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
  createKeyPackage,
  joinFromWelcome,
  processMessage,
  sendApplicationMessage,
} from '../../src-core/mls/group/index.js';
import { toHex } from '../support/shared.js';

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const untext = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Encodes and decodes a message, as the network would carry it. */
export function wire(m: MlsMessage): Uint8Array {
  return encodeMlsMessage(m);
}

export function basicCredential(name: string): Credential {
  return { credentialType: CredentialType.basic, identity: text(name) };
}

export interface Client {
  readonly name: string;
  readonly signature: KeyPair;
  readonly credential: Credential;
}

export function newClient(suite: CipherSuite, name: string): Client {
  return { name, signature: suite.generateSignatureKeyPair(), credential: basicCredential(name) };
}

export function keyPackageFor(
  suite: CipherSuite,
  c: Client,
  extra: Partial<Parameters<typeof createKeyPackage>[0]> = {},
): KeyPackageBundle {
  return createKeyPackage({
    suite,
    credential: c.credential,
    signatureKeyPair: c.signature,
    ...extra,
  });
}

/** Expects `f` to throw MlsError with `code`. */
export function expectMlsError(f: () => unknown, code: MlsErrorCode): MlsError {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected MlsError ${code}`).toBeInstanceOf(MlsError);
  expect((caught as MlsError).code).toBe(code);
  return caught as MlsError;
}

/**
 * A group and its members' states by name. `commit` delivers a commit to every other member
 * (they process and merge it) and the Welcome to the new members; `send` delivers an application
 * message to everyone else and checks they read it.
 */
export class World {
  readonly suite: CipherSuite;
  readonly states = new Map<string, GroupState>();
  readonly clients = new Map<string, Client>();
  /** The final states of members a commit removed. */
  readonly removed = new Map<string, GroupState>();
  /** KeyPackages not yet used, by client name. */
  readonly pending = new Map<string, KeyPackageBundle>();

  constructor(
    suiteId: CipherSuiteId = 1,
    readonly config: GroupConfig = {},
  ) {
    this.suite = cipherSuite(suiteId);
  }

  client(name: string): Client {
    let c = this.clients.get(name);
    if (c === undefined) {
      c = newClient(this.suite, name);
      this.clients.set(name, c);
    }
    return c;
  }

  state(name: string): GroupState {
    const s = this.states.get(name);
    if (s === undefined) throw new Error(`${name} is not in the group`);
    return s;
  }

  create(name: string): GroupState {
    const c = this.client(name);
    const s = createGroup({
      suite: this.suite,
      credential: c.credential,
      signatureKeyPair: c.signature,
      config: this.config,
    });
    this.states.set(name, s);
    return s;
  }

  /** A fresh KeyPackage for `name`, remembered for its join. */
  keyPackage(name: string): KeyPackageBundle {
    const kp = keyPackageFor(this.suite, this.client(name));
    this.pending.set(name, kp);
    return kp;
  }

  /** Creates a commit by `by`; does not deliver it. */
  prepare(by: string, options: CommitOptions = {}) {
    return createCommit(this.state(by), options);
  }

  /**
   * Delivers a created commit: the committer merges, the others process (as bytes) and merge,
   * the new members join from the Welcome. Returns the others' staged commits.
   */
  deliver(
    by: string,
    created: ReturnType<typeof createCommit>,
    joiners: readonly string[] = [],
  ): Map<string, StagedCommit> {
    const bytes = wire(created.commit);
    const staged = new Map<string, StagedCommit>();
    for (const [name, s] of this.states) {
      if (name === by) continue;
      const got = processMessage(s, bytes);
      if (got.kind !== 'commit') throw new Error(`${name} read the commit as ${got.kind}`);
      staged.set(name, got.staged);
    }
    this.states.set(by, created.staged.merge());
    for (const [name, st] of staged) {
      const next = st.merge();
      if (next.isActive) {
        this.states.set(name, next);
      } else {
        this.states.delete(name);
        this.removed.set(name, next);
      }
    }
    if (joiners.length > 0) {
      if (created.welcome === undefined) throw new Error('no Welcome');
      const welcome = wire(created.welcome);
      for (const j of joiners) {
        const kp = this.pending.get(j);
        if (kp === undefined) throw new Error(`no KeyPackage for ${j}`);
        this.states.set(j, joinFromWelcome({ welcome, keyPackages: [kp], config: this.config }));
        this.pending.delete(j);
      }
    }
    this.expectAgreement();
    return staged;
  }

  commit(
    by: string,
    options: CommitOptions = {},
    joiners: readonly string[] = [],
  ): Map<string, StagedCommit> {
    return this.deliver(by, this.prepare(by, options), joiners);
  }

  /** Sends application data from `from`; every other member reads it. */
  send(from: string, message: string): Uint8Array {
    const bytes = wire(sendApplicationMessage(this.state(from), text(message)));
    for (const [name, s] of this.states) {
      if (name === from) continue;
      const got = processMessage(s, bytes);
      if (got.kind !== 'application') throw new Error(`${name} read ${got.kind}`);
      expect(untext(got.data)).toBe(message);
      expect(got.sender).toBe(this.state(from).ownLeaf);
    }
    return bytes;
  }

  /** Every member has the same epoch, tree, transcript and epoch authenticator. */
  expectAgreement(): void {
    const views = [...this.states.entries()].map(([name, s]) => ({
      name,
      epoch: s.epoch,
      treeHash: toHex(s.tree.treeHash()),
      transcript: toHex(s.groupContext.confirmedTranscriptHash),
      authenticator: toHex(s.epochAuthenticator()),
      members: s.memberCount,
    }));
    const first = views[0]!;
    for (const v of views) {
      expect({ ...v, name: first.name }, `${v.name} disagrees with ${first.name}`).toEqual(first);
    }
    // Each member sits at its own leaf, and that leaf holds its signature key.
    for (const [name, s] of this.states) {
      expect(s.ownLeafNode.signatureKey).toEqual(this.client(name).signature.publicKey);
      s.privatePath.checkConsistent(s.tree);
    }
  }

  leafOf(name: string): number {
    return this.state(name).ownLeaf;
  }
}

/**
 * A commit as a malicious (or buggy) member could send it: any content, signed with the member's
 * key, protected with its epoch keys, and a confirmation tag of the caller's choice (the checks
 * these tests aim at come before the tag is checked, or are the tag check itself).
 */
export function forgeCommit(
  state: GroupState,
  commit: Commit,
  options: { wireFormat?: FramingWireFormat; confirmationTag?: Uint8Array } = {},
): FramedMlsMessage {
  const wireFormat = options.wireFormat ?? WireFormat.publicMessage;
  const content: FramedContent = {
    groupId: state.groupId,
    epoch: state.epoch,
    sender: memberSender(state.ownLeaf),
    authenticatedData: new Uint8Array(0),
    contentType: ContentType.commit,
    commit,
  };
  const ac = authenticateCommit(
    state.suite,
    {
      signaturePrivateKey: state.signaturePrivateKey,
      wireFormat,
      content,
      groupContext: state.groupContext,
    },
    () => options.confirmationTag ?? state.suite.randomBytes(state.suite.hash.size),
  );
  return protectAuthenticated(state.framing(), ac);
}

/** The Commit inside a PublicMessage commit. */
export function commitOf(message: MlsMessage | Uint8Array): Commit {
  const m = message instanceof Uint8Array ? decodeMlsMessage(message) : message;
  if (m.wireFormat !== WireFormat.publicMessage) throw new Error('not a PublicMessage');
  const c = m.publicMessage.content;
  if (c.contentType !== ContentType.commit) throw new Error('not a commit');
  return c.commit;
}

/** What a rejected message must leave unchanged. */
export function snapshot(s: GroupState): string {
  const stats = s.receivers()[0]?.secretTree.stats();
  return JSON.stringify({
    epoch: s.epoch.toString(),
    tree: toHex(s.tree.treeHash()),
    auth: toHex(s.epochAuthenticator()),
    proposals: s.proposals.size,
    stats,
    keys: s.privatePath.nodes(),
  });
}
