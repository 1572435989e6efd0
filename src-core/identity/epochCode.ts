/**
 * The per-group, per-epoch code: digits all members of a group see, derived from the MLS epoch
 * authenticator (RFC 9420 §8.7). The authenticator is a secret of the epoch that only members
 * hold and that an attacker in the middle of the group (two forked groups sharing one name)
 * cannot make equal on both sides; §8.7 suggests comparing it out of band. Members compare the
 * code (read aloud in a call, shown side by side) to confirm they are in the same group state.
 *
 * The authenticator itself is never shown: the code is a one-way, domain-separated function of it,
 *
 *   code_input = HMAC-SHA-256(key = epoch_authenticator,
 *                             EpochCodeContext { "parley epoch code", version, group_id, epoch })
 *   code       = first 20 bytes -> four 5-byte big-endian chunks, each mod 100000 -> 4 x 5 digits
 *
 * so a code that leaks (it is read aloud) reveals nothing about the epoch secret, and the same
 * authenticator used for another purpose cannot give the same bytes. 20 digits are ~66 bits: an
 * attacker who forks the group cannot pick a fork whose code matches (each try costs a commit and
 * the search space is 2^66), and members comparing only the first group (5 digits, ~17 bits)
 * still catch a fork with probability 1 - 10^-5.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { encode, opaque, struct, uint16, uint64, utf8String } from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import type { Group } from '../mls/client/index.js';
import { IdentityError } from './errors.js';

export const EPOCH_CODE_VERSION = 1;
export const EPOCH_CODE_LABEL = 'parley epoch code';
export const EPOCH_CODE_GROUPS = 4;

/**
 * ```
 * struct {
 *     opaque label<V> = "parley epoch code";
 *     uint16 version = 1;
 *     opaque group_id<V>;
 *     uint64 epoch;
 * } EpochCodeContext;
 * ```
 */
export interface EpochCodeContext {
  readonly label: string;
  readonly version: number;
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
}

export const epochCodeContextCodec: Codec<EpochCodeContext> = struct<EpochCodeContext>({
  label: utf8String,
  version: uint16,
  groupId: opaque,
  epoch: uint64,
});

export interface EpochCode {
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
  /** 20 digits, no spaces. */
  readonly digits: string;
  /** Four groups of five, in display order. */
  readonly groups: readonly string[];
}

export interface EpochCodeInput {
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
  readonly epochAuthenticator: Uint8Array;
}

/**
 * The code for one epoch. Throws IdentityError('invalid_argument') for an authenticator shorter
 * than 16 bytes (every MLS suite's Nh is 32 or more).
 */
export function epochCode(input: EpochCodeInput): EpochCode {
  if (input.epochAuthenticator.length < 16) {
    throw new IdentityError(
      'invalid_argument',
      `epoch authenticator of ${input.epochAuthenticator.length} bytes`,
    );
  }
  const context = encode(epochCodeContextCodec, {
    label: EPOCH_CODE_LABEL,
    version: EPOCH_CODE_VERSION,
    groupId: input.groupId,
    epoch: input.epoch,
  });
  const mac = hmac(sha256, input.epochAuthenticator, context);
  const groups: string[] = [];
  for (let c = 0; c < EPOCH_CODE_GROUPS; c++) {
    let v = 0;
    for (let j = 0; j < 5; j++) v = v * 256 + mac[c * 5 + j]!;
    groups.push(String(v % 100000).padStart(5, '0'));
  }
  mac.fill(0);
  return {
    groupId: input.groupId.slice(),
    epoch: input.epoch,
    digits: groups.join(''),
    groups,
  };
}

/** The code of a group's current epoch. */
export function groupEpochCode(group: Group): EpochCode {
  const epochAuthenticator = group.epochAuthenticator();
  try {
    return epochCode({ groupId: group.groupId, epoch: group.epoch, epochAuthenticator });
  } finally {
    epochAuthenticator.fill(0);
  }
}

/** Compares a code typed or read back by another member with ours (spaces ignored). */
export function sameEpochCode(ours: EpochCode, theirs: string): boolean {
  const t = theirs.replace(/\s+/g, '');
  if (t.length !== ours.digits.length) return false;
  let d = 0;
  for (let i = 0; i < t.length; i++) d |= t.charCodeAt(i) ^ ours.digits.charCodeAt(i);
  return d === 0;
}
