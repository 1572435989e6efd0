/**
 * Shared fixture for the rule tests (test/mls/rules-*.test.ts): a five-member group whose tree has
 * parent nodes, a way to assert that a forged message is rejected by every other member with one
 * given code and leaves each of them exactly as before, and the honest follow-up that shows the
 * group still works.
 */
import { expect } from 'vitest';
import { encode } from '../../src-core/codec/index.js';
import type { Capabilities } from '../../src-core/mls/capabilities.js';
import { requiredCapabilitiesCodec } from '../../src-core/mls/capabilities.js';
import type { MlsErrorCode } from '../../src-core/mls/errors.js';
import type { Extension } from '../../src-core/mls/extension.js';
import { ExtensionType } from '../../src-core/mls/extension.js';
import type { GroupConfig } from '../../src-core/mls/group/index.js';
import {
  createGroup,
  defaultCapabilities,
  processMessage,
} from '../../src-core/mls/group/index.js';
import type { Proposal } from '../../src-core/mls/proposal.js';
import { ProposalType } from '../../src-core/mls/proposal.js';
import { World, expectMlsError, keyPackageFor, snapshot } from '../mls/groupHarness.js';

/** A GroupContext extension type no default client supports (for required_capabilities). */
export const CUSTOM_EXTENSION = 0xff00;

export const MEMBERS = ['alice', 'bob', 'carol', 'dave', 'erin'] as const;

export interface RuleGroupOptions {
  readonly config?: GroupConfig;
  /** Extension types every member lists in its capabilities (beyond the default ones). */
  readonly supported?: readonly number[];
  /** Credential types every member lists in its capabilities (default: basic only). */
  readonly credentials?: readonly number[];
  /** The GroupContext extensions the group starts with. */
  readonly groupExtensions?: readonly Extension[];
}

/** required_capabilities asking for `extensionTypes`. */
export function requiredCapabilities(extensionTypes: number[]): Extension {
  return {
    extensionType: ExtensionType.requiredCapabilities,
    extensionData: encode(requiredCapabilitiesCodec, {
      extensionTypes,
      proposalTypes: [],
      credentialTypes: [],
    }),
  };
}

/** The capabilities members of a rule group list (undefined: the defaults). */
export function capabilitiesFor(w: World, options: RuleGroupOptions): Capabilities | undefined {
  if (options.supported === undefined && options.credentials === undefined) return undefined;
  const base = defaultCapabilities(w.suite, 1);
  return {
    ...base,
    extensions: [...(options.supported ?? base.extensions)],
    credentials: [...(options.credentials ?? base.credentials)],
  };
}

/**
 * Alice creates the group and adds Bob, Carol, Dave and Erin (leaves 0–4); Carol then commits with
 * a path, so the tree has parent nodes, and Alice, Bob unmerged below none of them.
 */
export function ruleGroup(options: RuleGroupOptions = {}): World {
  const w = new World(1, options.config ?? {});
  const capabilities = capabilitiesFor(w, options);
  const alice = w.client('alice');
  w.states.set(
    'alice',
    createGroup({
      suite: w.suite,
      credential: alice.credential,
      signatureKeyPair: alice.signature,
      config: w.config,
      ...(capabilities === undefined ? {} : { capabilities }),
      ...(options.groupExtensions === undefined ? {} : { extensions: options.groupExtensions }),
    }),
  );
  const others = MEMBERS.slice(1);
  const adds: Proposal[] = others.map((n) => {
    const kp = keyPackageFor(w.suite, w.client(n), capabilities ? { capabilities } : {});
    w.pending.set(n, kp);
    return { proposalType: ProposalType.add, add: { keyPackage: kp.keyPackage } };
  });
  w.commit('alice', { proposals: adds }, others);
  w.commit('carol', { path: 'always' });
  return w;
}

/**
 * Every member but the `senders` of the bad message rejects `message` with `code`, twice (the first attempt consumed
 * nothing), and its state — epoch, tree hash, epoch authenticator, cached proposals, secret tree
 * counts, private keys — is exactly as before.
 */
export function expectRejected(
  w: World,
  message: Uint8Array,
  code: MlsErrorCode,
  senders: readonly string[],
): void {
  for (const [name, s] of w.states) {
    if (senders.includes(name)) continue;
    const before = snapshot(s);
    expectMlsError(() => processMessage(s, message), code);
    expectMlsError(() => processMessage(s, message), code);
    expect(snapshot(s), `${name}'s state changed`).toBe(before);
  }
}

/**
 * The honest follow-up: `committer` commits with a path, every member processes it and agrees,
 * then `committer` and one other member send application data that everyone reads.
 */
export function expectStillWorks(w: World, committer: string): void {
  w.commit(committer, { path: 'always' });
  w.send(committer, `${committer} after the rejected message`);
  const other = [...w.states.keys()].find((n) => n !== committer)!;
  w.send(other, `${other} after the rejected message`);
}
