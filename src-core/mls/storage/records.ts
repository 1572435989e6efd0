/**
 * The records of a stored group state, in the TLS presentation language like the RFC's own
 * structs. Every record value starts with `uint16 format_version` (currently 1); a reader meets
 * an unknown version with MlsError('unsupported_state_version') before it parses anything else.
 *
 * The records hold the group's secrets in the clear (epoch secrets, private keys, ratchet
 * secrets): they are meant to be encrypted at rest by the store, and never logged.
 */
import {
  CodecError,
  bool,
  decode,
  encode,
  enumOf,
  fixedBytes,
  opaque,
  optional,
  struct,
  uint16,
  uint32,
  uint64,
  uint8,
  vector,
} from '../../codec/index.js';
import type { Codec } from '../../codec/index.js';
import { ParleyError } from '../../errors.js';
import { MlsError } from '../errors.js';
import type { Sender } from '../framing/sender.js';
import { senderCodec } from '../framing/sender.js';
import type { GroupContext } from '../groupContext.js';
import { groupContextCodec } from '../groupContext.js';
import type { EpochSecretName } from '../keySchedule.js';
import type { Proposal, ReInit } from '../proposal.js';
import { proposalCodec, reInitCodec } from '../proposal.js';
import type { Node } from '../ratchetTreeExtension.js';
import { nodeCodec } from '../ratchetTreeExtension.js';
import type { EpochId } from './keys.js';

/** The format written by this code. */
export const STATE_FORMAT_VERSION = 1;

/** `struct { uint64 epoch; opaque digest[8]; } EpochId;` */
export const epochIdCodec: Codec<EpochId> = struct<EpochId>({
  epoch: uint64,
  digest: fixedBytes(8),
});

/** The epoch secrets by number; the numbering is part of the format. */
const SECRET_NAMES: readonly EpochSecretName[] = [
  'senderData',
  'encryption',
  'exporter',
  'external',
  'confirmation',
  'membership',
  'resumption',
  'authentication',
  'init',
];

/** `struct { uint8 name; opaque secret<V>; } EpochSecret;` */
export interface EpochSecretEntry {
  readonly name: EpochSecretName;
  readonly secret: Uint8Array;
}
const epochSecretCodec: Codec<EpochSecretEntry> = struct<EpochSecretEntry>({
  name: {
    encode: (w, v) => w.uint8(SECRET_NAMES.indexOf(v)),
    decode: (r) => {
      const n = SECRET_NAMES[r.uint8()];
      if (n === undefined) throw new CodecError('invalid_value', 'unknown epoch secret');
      return n;
    },
  },
  secret: opaque,
});

/** `struct { uint32 node; opaque public_key<V>; opaque private_key<V>; } PathKey;` */
export interface PathKey {
  readonly node: number;
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}
const pathKeyCodec: Codec<PathKey> = struct<PathKey>({
  node: uint32,
  publicKey: opaque,
  privateKey: opaque,
});

/** `struct { uint64 epoch; opaque psk<V>; } KeptResumptionPsk;` */
export interface KeptPsk {
  readonly epoch: bigint;
  readonly psk: Uint8Array;
}
const keptPskCodec: Codec<KeptPsk> = struct<KeptPsk>({ epoch: uint64, psk: opaque });

/** `enum { active(0), removed(1), reinit(2) } GroupStatus;` */
export type StoredStatus = 0 | 1 | 2;

/**
 * ```
 * struct {
 *     uint16 format_version = 1;
 *     CipherSuite cipher_suite;
 *     GroupStatus status;
 *     uint32 own_leaf;
 *     uint32 leaf_count;                       // of the ratchet tree
 *     GroupContext group_context;
 *     opaque interim_transcript_hash<V>;
 *     opaque confirmation_tag<V>;
 *     optional<ReInit> reinit;
 *     opaque signature_private_key<V>;
 *     optional<EpochSecret epoch_secrets<V>>;  // absent once removed
 *     PathKey private_path<V>;
 *     KeptResumptionPsk resumption_psks<V>;
 *     bool has_current_receiver;               // receivers[0] is this epoch's
 *     EpochId receivers<V>;                    // newest first
 * } StateRecord;
 * ```
 */
export interface StateRecord {
  readonly cipherSuite: number;
  readonly status: StoredStatus;
  readonly ownLeaf: number;
  readonly leafCount: number;
  readonly groupContext: GroupContext;
  readonly interimTranscriptHash: Uint8Array;
  readonly confirmationTag: Uint8Array;
  readonly reInit: ReInit | undefined;
  readonly signaturePrivateKey: Uint8Array;
  readonly epochSecrets: readonly EpochSecretEntry[] | undefined;
  readonly privatePath: readonly PathKey[];
  readonly resumptionPsks: readonly KeptPsk[];
  readonly hasCurrentReceiver: boolean;
  readonly receivers: readonly EpochId[];
}
export const stateRecordCodec: Codec<StateRecord> = struct<StateRecord>({
  cipherSuite: uint16,
  status: enumOf<StoredStatus>(uint8, [0, 1, 2], 'group status'),
  ownLeaf: uint32,
  leafCount: uint32,
  groupContext: groupContextCodec,
  interimTranscriptHash: opaque,
  confirmationTag: opaque,
  reInit: optional(reInitCodec),
  signaturePrivateKey: opaque,
  epochSecrets: optional(vector(epochSecretCodec)) as Codec<
    readonly EpochSecretEntry[] | undefined
  >,
  privatePath: vector(pathKeyCodec) as Codec<readonly PathKey[]>,
  resumptionPsks: vector(keptPskCodec) as Codec<readonly KeptPsk[]>,
  hasCurrentReceiver: bool,
  receivers: vector(epochIdCodec) as Codec<readonly EpochId[]>,
});

/** `struct { uint16 format_version = 1; Node node; } NodeRecord;` (blank nodes have none) */
export const nodeRecordCodec: Codec<Node> = nodeCodec;

/**
 * ```
 * struct {
 *     uint16 format_version = 1;
 *     GroupContext group_context;
 *     opaque sender_data_secret<V>;
 *     uint32 leaf_count;                       // of the secret tree
 * } EpochRecord;
 * ```
 */
export interface EpochRecord {
  readonly groupContext: GroupContext;
  readonly senderDataSecret: Uint8Array;
  readonly leafCount: number;
}
export const epochRecordCodec: Codec<EpochRecord> = struct<EpochRecord>({
  groupContext: groupContextCodec,
  senderDataSecret: opaque,
  leafCount: uint32,
});

/** `struct { uint32 index; optional<Node> node; } NodeSlot;` */
export interface NodeSlot {
  readonly index: number;
  readonly node: Node | undefined;
}
const nodeSlotCodec: Codec<NodeSlot> = struct<NodeSlot>({
  index: uint32,
  node: optional(nodeCodec),
});

/**
 * A tree as the nodes that differ from another tree (the base: the previous tree in a receiver
 * list, or the owning state's tree when `base` is absent).
 * ```
 * struct {
 *     uint16 format_version = 1;
 *     optional<EpochId> base;
 *     uint32 leaf_count;
 *     NodeSlot nodes<V>;                       // ascending index
 * } TreeDeltaRecord;
 * ```
 */
export interface TreeDeltaRecord {
  readonly base: EpochId | undefined;
  readonly leafCount: number;
  readonly nodes: readonly NodeSlot[];
}
export const treeDeltaRecordCodec: Codec<TreeDeltaRecord> = struct<TreeDeltaRecord>({
  base: optional(epochIdCodec),
  leafCount: uint32,
  nodes: vector(nodeSlotCodec) as Codec<readonly NodeSlot[]>,
});

/** `struct { uint16 format_version = 1; opaque secret<V>; } SecretNodeRecord;` */
export const secretNodeRecordCodec: Codec<Uint8Array> = opaque;

/** `struct { uint32 generation; opaque key<V>; opaque nonce<V>; } SkippedKey;` */
export interface SkippedKey {
  readonly generation: number;
  readonly key: Uint8Array;
  readonly nonce: Uint8Array;
}
const skippedKeyCodec: Codec<SkippedKey> = struct<SkippedKey>({
  generation: uint32,
  key: opaque,
  nonce: opaque,
});

/** `struct { uint64 next; opaque secret<V>; SkippedKey skipped<V>; } Ratchet;` */
export interface StoredRatchet {
  readonly next: number;
  readonly secret: Uint8Array;
  readonly skipped: readonly SkippedKey[];
}
const ratchetCodec: Codec<StoredRatchet> = struct<StoredRatchet>({
  next: {
    encode: (w, v) => w.uint64(BigInt(v)),
    decode: (r) => {
      const v = r.uint64();
      if (v > 0x100000000n) throw new CodecError('value_out_of_range', 'ratchet position');
      return Number(v);
    },
  },
  secret: opaque,
  skipped: vector(skippedKeyCodec) as Codec<readonly SkippedKey[]>,
});

/** `struct { uint16 format_version = 1; Ratchet handshake; Ratchet application; } LeafRecord;` */
export interface LeafRecord {
  readonly handshake: StoredRatchet;
  readonly application: StoredRatchet;
}
export const leafRecordCodec: Codec<LeafRecord> = struct<LeafRecord>({
  handshake: ratchetCodec,
  application: ratchetCodec,
});

/** `struct { opaque public_key<V>; opaque private_key<V>; } HpkeKeyPair;` */
interface StoredKeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

/**
 * ```
 * struct {
 *     uint16 format_version = 1;
 *     opaque ref<V>;
 *     Proposal proposal;
 *     Sender sender;
 *     bool own;
 *     optional<HpkeKeyPair> update_key_pair;   // our own Update's new leaf key
 * } ProposalRecord;
 * ```
 */
export interface ProposalRecord {
  readonly ref: Uint8Array;
  readonly proposal: Proposal;
  readonly sender: Sender;
  readonly own: boolean;
  readonly updateKeyPair: StoredKeyPair | undefined;
}
export const proposalRecordCodec: Codec<ProposalRecord> = struct<ProposalRecord>({
  ref: opaque,
  proposal: proposalCodec,
  sender: senderCodec,
  own: bool,
  updateKeyPair: optional(struct<StoredKeyPair>({ publicKey: opaque, privateKey: opaque })),
});

/** A record value: the format version, then the record. */
export function encodeRecord<T>(codec: Codec<T>, value: T): Uint8Array {
  const body = encode(codec, value);
  const out = new Uint8Array(2 + body.length);
  out[0] = STATE_FORMAT_VERSION >> 8;
  out[1] = STATE_FORMAT_VERSION & 0xff;
  out.set(body, 2);
  body.fill(0);
  return out;
}

/**
 * Reads a record value. Throws MlsError('unsupported_state_version') for a version this code
 * does not know, MlsError('state_corrupt') (with the CodecError as cause) for bytes that do not
 * parse. The key, never the content, goes into the message.
 */
export function decodeRecord<T>(key: string, codec: Codec<T>, bytes: Uint8Array): T {
  if (bytes.length < 2) throw new MlsError('state_corrupt', `record ${key} is truncated`);
  const version = (bytes[0]! << 8) | bytes[1]!;
  if (version !== STATE_FORMAT_VERSION) {
    throw new MlsError(
      'unsupported_state_version',
      `record ${key} has format version ${version}, this code reads ${STATE_FORMAT_VERSION}`,
    );
  }
  try {
    return decode(codec, bytes.subarray(2));
  } catch (e) {
    throw new MlsError('state_corrupt', `record ${key} does not decode`, { cause: e });
  }
}

/** Any failure while rebuilding a state, as MlsError('state_corrupt') unless already typed so. */
export function asCorrupt(e: unknown, what: string): MlsError {
  if (
    e instanceof MlsError &&
    (e.code === 'state_corrupt' || e.code === 'unsupported_state_version')
  ) {
    return e;
  }
  const detail = e instanceof ParleyError ? ` (${e.code})` : '';
  return new MlsError('state_corrupt', `${what}${detail}`, { cause: e });
}
