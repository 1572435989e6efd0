/**
 * The gossip channel (topic) of a group. Derived from the group id by a hash, never equal to it:
 * group ids travel inside MLS messages, and a topic name that equals them would let every relay
 * peer link topics to groups it saw elsewhere (invites, logs). The hash is suite-independent
 * (SHA-256) so that every member computes the same name before knowing anything else.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { base32 } from 'multiformats/bases/base32';
import { DeliveryError } from './errors.js';

export const CHANNEL_PREFIX = 'parley/g/';
const LABEL = new TextEncoder().encode('parley 1 group channel');
/** 32 base32 characters = 160 bits: collisions between groups are out of reach. */
const NAME_CHARS = 32;

/** The channel name of a group: `parley/g/` and 32 lowercase base32 characters (41 in all). */
export function groupChannel(groupId: Uint8Array): string {
  if (groupId.length === 0) throw new DeliveryError('invalid_argument', 'empty group id');
  const input = new Uint8Array(1 + LABEL.length + groupId.length);
  input[0] = LABEL.length;
  input.set(LABEL, 1);
  input.set(groupId, 1 + LABEL.length);
  return CHANNEL_PREFIX + base32.baseEncode(sha256(input)).slice(0, NAME_CHARS);
}
