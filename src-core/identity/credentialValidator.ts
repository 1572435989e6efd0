/**
 * The identity layer's side of MLS credential validation (RFC 9420 §5.3.1): what stands in for
 * the Authentication Service. A credential is accepted when
 *
 * 1. it is a BasicCredential holding a v1 ParleyIdentity;
 * 2. the user key signed the device certificate, the device key signed the leaf certificate, and
 *    the leaf certificate names the leaf's signature_key and the group's cipher suite;
 * 3. a leaf certificate bound to a group is used in that group only;
 * 4. both certificates are valid now (with a small clock tolerance);
 * 5. when a record of the user is known, its newest one lists the device and does not revoke it;
 * 6. a replacement leaf (update, commit) keeps the user and the device of the leaf it replaces;
 * 7. the caller's extra rule (trust store) agrees.
 *
 * Members of a tree received on joining are held to 1-3 only by default: refusing a whole group
 * because one member's certificate ran out while they were offline would leave no way in to
 * remove them. `leavesToRemove` names such members for the app layer to propose removing.
 */
import type { Credential } from '../mls/credential.js';
import type { CredentialContext, CredentialValidator } from '../mls/group/config.js';
import { checkDeviceCertificateTime } from './deviceCertificate.js';
import type { IdentityErrorCode } from './errors.js';
import { IdentityError } from './errors.js';
import { equalBytes } from './format.js';
import type { IdentityRecord } from './identityRecord.js';
import { findDevice, isRevoked } from './identityRecord.js';
import { checkLeafCertificateTime } from './leafCertificate.js';
import type { ParleyIdentity } from './parleyCredential.js';
import { parseParleyCredential, verifyParleyChain } from './parleyCredential.js';

/** Where the validator finds the newest record held for a user key. */
export interface IdentityRecordSource {
  /** The newest record held for `userKey`, already verified when it was stored. */
  newestRecord(userKey: Uint8Array): IdentityRecord | undefined;
}

/** Five minutes: two devices' clocks rarely disagree by more. */
export const DEFAULT_CLOCK_SKEW = 300n;

export interface CredentialValidatorOptions {
  readonly records: IdentityRecordSource;
  /** Seconds since the Unix epoch. */
  readonly now: () => bigint;
  /** Seconds of tolerance on both ends of a validity period. Default 300. */
  readonly clockSkew?: bigint;
  /** The group's cipher suite; the leaf certificate must name it. */
  readonly cipherSuite?: number;
  /** Reject users with no known record ('unknown_user'). Default false (first contact). */
  readonly requireRecord?: boolean;
  /**
   * 'chain' (default): members of a received tree are checked for signatures and binding only;
   * 'strict': also for time, revocation and presence in the newest record.
   */
  readonly treeCheck?: 'chain' | 'strict';
  /**
   * A further rule, e.g. the trust store's: return an error code to reject the verified identity.
   */
  readonly userPolicy?: (
    identity: ParleyIdentity,
    context: CredentialContext | undefined,
  ) => IdentityErrorCode | undefined;
}

export interface CredentialCheckOptions {
  readonly context?: CredentialContext;
  /** The user the caller expects (e.g. the pinned key of the contact being added). */
  readonly expectedUserKey?: Uint8Array;
}

export type CredentialCheck =
  | {
      readonly ok: true;
      readonly identity: ParleyIdentity;
      readonly userKey: Uint8Array;
      readonly deviceKey: Uint8Array;
      readonly deviceName: string;
      /** From the newest known record, when one is held. */
      readonly displayName?: string;
    }
  | { readonly ok: false; readonly code: IdentityErrorCode; readonly message: string };

export interface ParleyCredentialValidator {
  /** The hook for `GroupConfig.validateCredential`. */
  readonly validate: CredentialValidator;
  /** The same rules with the reason for a rejection. Never throws. */
  checkCredential(
    credential: Credential,
    signatureKey: Uint8Array,
    options?: CredentialCheckOptions,
  ): CredentialCheck;
}

function sameLeafOwner(identity: ParleyIdentity, previous: Credential): void {
  let before: ParleyIdentity;
  try {
    before = parseParleyCredential(previous);
  } catch {
    throw new IdentityError('wrong_user', 'the leaf it replaces had no Parley identity');
  }
  if (!equalBytes(before.userKey, identity.userKey)) {
    throw new IdentityError('wrong_user', 'the replacement leaf belongs to another user');
  }
  if (!equalBytes(before.deviceCertificate.deviceKey, identity.deviceCertificate.deviceKey)) {
    throw new IdentityError('device_changed', 'the replacement leaf belongs to another device');
  }
}

/** Rule 5 against the newest record; returns the record's display name when there is one. */
function checkAgainstRecord(
  identity: ParleyIdentity,
  record: IdentityRecord | undefined,
  requireRecord: boolean,
): string | undefined {
  if (record === undefined) {
    if (requireRecord) throw new IdentityError('unknown_user', 'no record of this user is known');
    return undefined;
  }
  const deviceKey = identity.deviceCertificate.deviceKey;
  if (isRevoked(record, deviceKey)) {
    throw new IdentityError('revoked', `device revoked in record ${record.sequence}`);
  }
  if (findDevice(record, deviceKey) === undefined) {
    throw new IdentityError('unknown_device', `device not listed in record ${record.sequence}`);
  }
  return record.displayName;
}

export function createCredentialValidator(
  options: CredentialValidatorOptions,
): ParleyCredentialValidator {
  const skew = options.clockSkew ?? DEFAULT_CLOCK_SKEW;
  if (skew < 0n) throw new IdentityError('invalid_argument', 'clock skew must be >= 0');
  const treeCheck = options.treeCheck ?? 'chain';

  const run = (
    credential: Credential,
    signatureKey: Uint8Array,
    check: CredentialCheckOptions,
  ): CredentialCheck => {
    const context = check.context;
    const identity = parseParleyCredential(credential);
    verifyParleyChain(identity, signatureKey, options.cipherSuite);
    const leaf = identity.leafCertificate;
    if (
      context !== undefined &&
      leaf.groupId.length > 0 &&
      !equalBytes(leaf.groupId, context.groupId)
    ) {
      throw new IdentityError('wrong_group', 'the leaf key is certified for another group');
    }
    if (
      check.expectedUserKey !== undefined &&
      !equalBytes(check.expectedUserKey, identity.userKey)
    ) {
      throw new IdentityError('wrong_user', 'the credential carries another user key');
    }
    if (context?.previous !== undefined) sameLeafOwner(identity, context.previous);
    const record = options.records.newestRecord(identity.userKey);
    let displayName: string | undefined;
    if (context?.kind === 'tree' && treeCheck === 'chain') {
      displayName = record?.displayName;
    } else {
      const now = options.now();
      checkDeviceCertificateTime(identity.deviceCertificate, now, skew);
      checkLeafCertificateTime(leaf, now, skew);
      displayName = checkAgainstRecord(identity, record, options.requireRecord ?? false);
    }
    const refused = options.userPolicy?.(identity, context);
    if (refused !== undefined) {
      throw new IdentityError(refused, 'refused by the identity policy');
    }
    return {
      ok: true,
      identity,
      userKey: identity.userKey,
      deviceKey: identity.deviceCertificate.deviceKey,
      deviceName: identity.deviceCertificate.deviceName,
      ...(displayName === undefined ? {} : { displayName }),
    };
  };

  const checkCredential = (
    credential: Credential,
    signatureKey: Uint8Array,
    check: CredentialCheckOptions = {},
  ): CredentialCheck => {
    try {
      return run(credential, signatureKey, check);
    } catch (e) {
      if (e instanceof IdentityError) return { ok: false, code: e.code, message: e.message };
      // A record source or policy that throws is a bug above us; reject rather than crash MLS.
      return { ok: false, code: 'malformed', message: 'credential check failed' };
    }
  };

  return {
    validate: (credential, signatureKey, context) =>
      checkCredential(credential, signatureKey, { context }).ok,
    checkCredential,
  };
}

/** A member of a group, as `Group.members()` lists them. */
export interface GroupMemberView {
  readonly leafIndex: number;
  readonly credential: Credential;
  readonly signatureKey: Uint8Array;
}

export interface RemovalCandidate {
  readonly leafIndex: number;
  readonly code: IdentityErrorCode;
  readonly userKey?: Uint8Array;
  readonly deviceKey?: Uint8Array;
}

export interface RemovalOptions {
  /** Also name members whose certificates ran out (default true). */
  readonly includeExpired?: boolean;
  readonly clockSkew?: bigint;
}

/**
 * The leaves whose removal should be proposed: devices revoked in (or absent from) their user's
 * newest known record, members whose chain does not verify, and by default members whose
 * certificates expired at `now`. Pure: the app layer decides when to propose.
 */
export function leavesToRemove(
  members: readonly GroupMemberView[],
  records: IdentityRecordSource,
  now: bigint,
  options: RemovalOptions = {},
): RemovalCandidate[] {
  const skew = options.clockSkew ?? DEFAULT_CLOCK_SKEW;
  const out: RemovalCandidate[] = [];
  for (const m of members) {
    let identity: ParleyIdentity | undefined;
    try {
      identity = parseParleyCredential(m.credential);
      verifyParleyChain(identity, m.signatureKey);
      checkAgainstRecord(identity, records.newestRecord(identity.userKey), false);
      if (options.includeExpired ?? true) {
        checkDeviceCertificateTime(identity.deviceCertificate, now, skew);
        checkLeafCertificateTime(identity.leafCertificate, now, skew);
      }
    } catch (e) {
      const code: IdentityErrorCode = e instanceof IdentityError ? e.code : 'malformed';
      out.push({
        leafIndex: m.leafIndex,
        code,
        ...(identity === undefined
          ? {}
          : { userKey: identity.userKey, deviceKey: identity.deviceCertificate.deviceKey }),
      });
    }
  }
  return out;
}
