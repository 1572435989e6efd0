/**
 * Which members of a group are devices their user revoked, by the newest identity record we hold
 * (the record book). Two uses: the leaves to remove (deviceFanout.ts proposes them), and the
 * senders whose messages we refuse from the moment we know — MLS checks a credential when a leaf
 * enters or changes, not on every message, so without this a revoked device could still talk
 * until the commit removing it is merged.
 *
 * Only an explicit revocation counts. A device merely absent from the record we hold could be one
 * linked after that record was issued (our copy is stale), and removing it on that ground would
 * throw out a user's new device; a revoked device is listed as revoked for good (identity README).
 */
import type {
  GroupMemberView,
  IdentityRecordSource,
  RemovalCandidate,
} from '../../identity/index.js';
import { isRevoked, leavesToRemove, parseParleyCredential } from '../../identity/index.js';
import type { Credential } from '../../mls/credential.js';

/** True when the credential's device is revoked in its user's newest record we hold. */
export function isRevokedCredential(
  records: IdentityRecordSource,
  credential: Credential,
): boolean {
  let userKey: Uint8Array;
  let deviceKey: Uint8Array;
  try {
    const identity = parseParleyCredential(credential);
    userKey = identity.userKey;
    deviceKey = identity.deviceCertificate.deviceKey;
  } catch {
    return false; // not a Parley credential: MLS and the validator decide about it
  }
  const record = records.newestRecord(userKey);
  return record !== undefined && isRevoked(record, deviceKey);
}

/**
 * The members revoked by their user. `onlyUser` (a user key) limits the scan to one user's leaves
 * (a record of that user just arrived) so a large group is not re-verified member by member.
 */
export function revokedMembers(
  members: readonly GroupMemberView[],
  records: IdentityRecordSource,
  now: bigint,
  onlyUser?: Uint8Array,
): RemovalCandidate[] {
  const subset = members.filter((m) => {
    if (!isRevokedCredential(records, m.credential)) return false;
    if (onlyUser === undefined) return true;
    try {
      const key = parseParleyCredential(m.credential).userKey;
      return key.length === onlyUser.length && key.every((b, i) => b === onlyUser[i]);
    } catch {
      return false;
    }
  });
  if (subset.length === 0) return [];
  // The identity layer's full check on the few left, so the reason is its code, not ours.
  return leavesToRemove(subset, records, now, { includeExpired: false }).filter(
    (c) => c.code === 'revoked',
  );
}
