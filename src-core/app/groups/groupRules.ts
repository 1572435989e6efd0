/**
 * A group's rules (roles and policy) live in a GroupContext extension, so every member holds the
 * same copy, bound into the key schedule: a member that disagreed about the rules would be on
 * another epoch. Each member enforces them through the MLS `proposalPolicy` hook, on every
 * proposal it receives and every proposal inside a commit it processes.
 *
 * ```
 * struct {
 *   uint16 version = 1;
 *   opaque admins<V>;     // user key fingerprints (identity/safetyNumber.ts), 32 bytes each
 *   PolicyBody policy;    // as in content/appContent.ts
 * } ParleyGroupRules;     // extension type 0xF0A7 (RFC 9420 §17.3 private use)
 * ```
 * The rule: with `membership = admins`, only an admin's leaf may propose (or commit by value) an
 * Add or a Remove of someone else; removing oneself (leaving) is always allowed. Updates and
 * everything else follow RFC 9420 alone. GroupContextExtensions proposals that change the rules
 * need an admin too. A user's devices are one person: any member's leaf may also add a device of
 * its own user (a newly linked device) or remove one (a revoked device) — decided from the tree
 * and the proposal alone, so every member reaches the same verdict.
 */
import { decode, encode, opaque, refine, struct, uint16 } from '../../codec/index.js';
import type { Codec } from '../../codec/index.js';
import type { CipherSuite } from '../../crypto/types.js';
import { parseParleyCredential, userKeyFingerprint } from '../../identity/index.js';
import type { Capabilities } from '../../mls/capabilities.js';
import type { Credential } from '../../mls/credential.js';
import type { Extension } from '../../mls/extension.js';
import type { GroupState, ProposalPolicy } from '../../mls/group/index.js';
import { defaultCapabilities } from '../../mls/group/index.js';
import type { Proposal } from '../../mls/proposal.js';
import { ProposalType } from '../../mls/proposal.js';
import { SenderType } from '../../mls/framing/sender.js';
import type { GroupPolicy, Role } from '../api.js';
import type { PolicyBody } from '../content/index.js';
import { MembershipRuleCode, policyBodyCodec } from '../content/index.js';

export const GROUP_RULES_EXTENSION = 0xf0a7;
export const GROUP_RULES_VERSION = 1;
const FINGERPRINT_BYTES = 32;
/** Admins listed at most (a group of tens of thousands needs a handful). */
export const MAX_ADMINS = 256;

export const DEFAULT_POLICY: GroupPolicy = {
  membership: 'admins',
  keyUpdateAfterMs: 7 * 24 * 3600 * 1000,
  keyUpdateAfterMessages: 1000,
  removeIdleAfterMs: null,
  disappearAfterMs: null,
};

export interface GroupRules {
  /** Hex user ids (fingerprints) of the admins. */
  readonly admins: readonly string[];
  readonly policy: GroupPolicy;
}

interface RulesWire {
  readonly version: number;
  readonly admins: Uint8Array;
  readonly policy: PolicyBody;
}

const rulesCodec: Codec<RulesWire> = refine(
  struct<RulesWire>({ version: uint16, admins: opaque, policy: policyBodyCodec }),
  (v) => {
    if (v.version !== GROUP_RULES_VERSION) return `rules version ${v.version}`;
    if (v.admins.length % FINGERPRINT_BYTES !== 0) return 'admins length';
    if (v.admins.length / FINGERPRINT_BYTES > MAX_ADMINS) return 'too many admins';
    return undefined;
  },
);

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export function policyToBody(p: GroupPolicy): PolicyBody {
  const ms = (n: number): bigint => BigInt(Math.max(0, Math.floor(n)));
  return {
    membership: p.membership === 'admins' ? MembershipRuleCode.admins : MembershipRuleCode.everyone,
    keyUpdateAfterMs: ms(p.keyUpdateAfterMs),
    keyUpdateAfterMessages: Math.max(0, Math.min(0xffffffff, Math.floor(p.keyUpdateAfterMessages))),
    removeIdleAfterMs: p.removeIdleAfterMs === null ? undefined : ms(p.removeIdleAfterMs),
    disappearAfterMs: p.disappearAfterMs === null ? undefined : ms(p.disappearAfterMs),
  };
}

export function policyFromBody(b: PolicyBody): GroupPolicy {
  return {
    membership: b.membership === MembershipRuleCode.admins ? 'admins' : 'everyone',
    keyUpdateAfterMs: Number(b.keyUpdateAfterMs),
    keyUpdateAfterMessages: b.keyUpdateAfterMessages,
    removeIdleAfterMs: b.removeIdleAfterMs === undefined ? null : Number(b.removeIdleAfterMs),
    disappearAfterMs: b.disappearAfterMs === undefined ? null : Number(b.disappearAfterMs),
  };
}

export function rulesExtension(rules: GroupRules): Extension {
  const admins = new Uint8Array(rules.admins.length * FINGERPRINT_BYTES);
  rules.admins.forEach((id, i) => {
    const b = Buffer.from(id, 'hex');
    if (b.length !== FINGERPRINT_BYTES) throw new RangeError('an admin id is not a fingerprint');
    admins.set(b, i * FINGERPRINT_BYTES);
  });
  const extensionData = encode(rulesCodec, {
    version: GROUP_RULES_VERSION,
    admins,
    policy: policyToBody(rules.policy),
  });
  return { extensionType: GROUP_RULES_EXTENSION, extensionData };
}

/** The rules in a GroupContext's extensions; undefined when absent or unreadable. */
export function rulesOf(extensions: readonly Extension[]): GroupRules | undefined {
  const ext = extensions.find((e) => e.extensionType === GROUP_RULES_EXTENSION);
  if (ext === undefined) return undefined;
  try {
    const wire = decode(rulesCodec, ext.extensionData);
    const admins: string[] = [];
    for (let i = 0; i < wire.admins.length; i += FINGERPRINT_BYTES) {
      admins.push(hex(wire.admins.subarray(i, i + FINGERPRINT_BYTES)));
    }
    return { admins, policy: policyFromBody(wire.policy) };
  } catch {
    return undefined;
  }
}

/** The user id (hex fingerprint) a Parley credential names, or undefined. */
export function userIdOfCredential(credential: Credential): string | undefined {
  try {
    return hex(userKeyFingerprint(parseParleyCredential(credential).userKey));
  } catch {
    return undefined;
  }
}

export function roleOf(rules: GroupRules | undefined, userId: string): Role {
  return rules?.admins.includes(userId) === true ? 'admin' : 'member';
}

/**
 * The MLS proposal policy for Parley groups (see the file comment). A group without readable
 * rules is treated as `membership = admins` with no admins: nobody adds or removes others, which
 * fails safe rather than open.
 */
export const parleyProposalPolicy: ProposalPolicy = (proposal, sender, state: GroupState) => {
  const type = proposal.proposalType;
  const guarded =
    type === ProposalType.add ||
    type === ProposalType.remove ||
    type === ProposalType.groupContextExtensions;
  if (!guarded) return true;
  // A resync (RFC 9420 §12.4.3.2): an external commit's one Remove, of the joiner's own old leaf.
  // MLS holds the joiner's new leaf to the removed one's credential (the validator's `previous`
  // rule: same user, same device) and the delivery layer refuses any other external commit
  // (checkExternalCommit), so a stranger can neither join nor remove anyone this way.
  if (sender.senderType === SenderType.newMemberCommit && type === ProposalType.remove) return true;
  if (sender.senderType !== SenderType.member) return false;
  if (type === ProposalType.remove && 'remove' in proposal) {
    if (proposal.remove.removed === sender.leafIndex) return true;
  }
  const rules = rulesOf(state.groupContext.extensions);
  if (rules === undefined) return false;
  if (rules.policy.membership === 'everyone' && type !== ProposalType.groupContextExtensions) {
    return true;
  }
  const leaf = state.tree.leafNode(sender.leafIndex);
  if (leaf === undefined) return false;
  const userId = userIdOfCredential(leaf.credential);
  if (userId === undefined) return false;
  return rules.admins.includes(userId) || ownDeviceChange(proposal, state, userId);
};

/** An Add of a device of the sender's own user, or a Remove of another leaf of that user. */
function ownDeviceChange(proposal: Proposal, state: GroupState, senderUserId: string): boolean {
  let subject: Credential | undefined;
  if ('add' in proposal) subject = proposal.add.keyPackage.leafNode.credential;
  else if ('remove' in proposal) subject = state.tree.leafNode(proposal.remove.removed)?.credential;
  return subject !== undefined && userIdOfCredential(subject) === senderUserId;
}

/** Our leaves' capabilities: the defaults plus the rules extension, which every member must list. */
export function parleyCapabilities(suite: CipherSuite, credentialType: number): Capabilities {
  const caps = defaultCapabilities(suite, credentialType);
  return { ...caps, extensions: [...caps.extensions, GROUP_RULES_EXTENSION] };
}
