/**
 * The record book: the newest identity record held per user key, what peers gossip to each other.
 *
 * Rules for a record that arrives (its signature and device certificates verified first):
 * - no record held, or a higher sequence number: it replaces what we held (`new` / `replaced`),
 *   and the devices it drops or revokes are listed so the app removes them from shared groups;
 * - a lower sequence number: `stale` (nothing changes; the sender is behind);
 * - the same sequence number and the same bytes: `duplicate`;
 * - the same sequence number, different content: `equivocation`. The user key signed two
 *   histories, which an honest client never does (or the key was stolen). Both records are kept
 *   as evidence (exportable, and checkable by anyone: `verifyEquivocationEvidence`), the contact
 *   is flagged in the trust store, and the outcome tells the app to warn the user. The record
 *   first held stays current: switching would let whoever equivocates choose what we see.
 *
 * Only the newest record is kept, so a different record at an older sequence number is reported
 * as stale, not as equivocation.
 *
 * Light transparency check: peers exchange `digest()` (user key, sequence, record hash for each
 * record held). `compareDigests` tells which records to ask for or send, and finds a peer holding
 * another record at our sequence number: fetching that record then yields the equivocation
 * outcome, so a user shown a forked history by one peer learns it from any other.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import {
  encode,
  fixedBytes,
  opaque,
  struct,
  uint16,
  uint64,
  utf8String,
  vector,
} from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import type { IdentityRecordSource } from './credentialValidator.js';
import { IdentityError } from './errors.js';
import {
  IDENTITY_FORMAT_VERSION,
  decodeVersioned,
  ed25519PublicKey,
  equalBytes,
} from './format.js';
import type { IdentityRecord } from './identityRecord.js';
import {
  decodeIdentityRecord,
  encodeIdentityRecord,
  verifyIdentityRecord,
} from './identityRecord.js';
import type { TrustStore } from './trustStore.js';

export const RECORD_HASH_LABEL = 'Parley 1.0 IdentityRecordHash';
export const RECORD_HASH_BYTES = 32;
/** Evidence pairs kept per user key (the first ones: each proves the key signed a fork). */
export const MAX_EVIDENCE_PER_USER = 4;
/** Bounds a received digest list (and the work comparing it). */
export const MAX_DIGESTS = 65536;

/**
 * ```
 * struct {
 *     opaque label<V> = "Parley 1.0 IdentityRecordHash";
 *     opaque value<V>;                 // the encoded IdentityRecord
 * } RecordHashInput;
 *
 * record_hash = SHA-256(RecordHashInput)
 * ```
 * (MLS's RefHash construction, with SHA-256 fixed: the record format is not tied to a suite.)
 */
const recordHashInputCodec: Codec<{ label: string; value: Uint8Array }> = struct({
  label: utf8String,
  value: opaque,
});

export function recordHash(encodedRecord: Uint8Array): Uint8Array {
  return sha256(encode(recordHashInputCodec, { label: RECORD_HASH_LABEL, value: encodedRecord }));
}

/** Two valid records of one user key with one sequence number. */
export interface EquivocationEvidence {
  readonly userKey: Uint8Array;
  readonly sequence: bigint;
  /** The encoded records: the one held first, then the conflicting one. */
  readonly first: Uint8Array;
  readonly second: Uint8Array;
}

export type RecordOutcome =
  | {
      readonly kind: 'new';
      readonly record: IdentityRecord;
      /** Devices the record lists as revoked: none may stay in a group with us. */
      readonly revokedDevices: readonly Uint8Array[];
    }
  | {
      readonly kind: 'replaced';
      readonly record: IdentityRecord;
      readonly previousSequence: bigint;
      /** Devices of the previous record absent from this one, and devices newly revoked. */
      readonly revokedDevices: readonly Uint8Array[];
    }
  | { readonly kind: 'stale'; readonly sequence: bigint; readonly heldSequence: bigint }
  | { readonly kind: 'duplicate'; readonly sequence: bigint }
  | {
      readonly kind: 'equivocation';
      readonly evidence: EquivocationEvidence;
      /** The trust-store contact flagged (its pinned key is the record's user key), if any. */
      readonly flaggedContact: string | undefined;
    };

/** One entry of the transparency digest. */
export interface RecordDigest {
  readonly userKey: Uint8Array;
  readonly sequence: bigint;
  readonly recordHash: Uint8Array;
}

export interface DigestComparison {
  /** Users for whom the peer holds a newer record: ask for it. */
  readonly request: readonly Uint8Array[];
  /** Users for whom we hold a newer record: send ours. */
  readonly send: readonly Uint8Array[];
  /**
   * Users for whom the peer holds a different record at our sequence number: ask for it; once it
   * arrives `add` reports the equivocation with both records.
   */
  readonly conflicts: readonly RecordDigest[];
  /** Users the peer has records for and we do not track (the caller decides whether to fetch). */
  readonly unknown: readonly Uint8Array[];
}

interface Held {
  record: IdentityRecord;
  bytes: Uint8Array;
  hash: Uint8Array;
}

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export interface RecordBookOptions {
  /** Where contacts caught equivocating are flagged. */
  readonly trustStore?: TrustStore;
}

export class RecordBook implements IdentityRecordSource {
  private readonly held = new Map<string, Held>();
  private readonly evidence: EquivocationEvidence[] = [];
  private readonly trustStore: TrustStore | undefined;

  constructor(options: RecordBookOptions = {}) {
    this.trustStore = options.trustStore;
  }

  /** The newest record held for a user key (verified when it was added). */
  newestRecord(userKey: Uint8Array): IdentityRecord | undefined {
    return this.held.get(hexOf(userKey))?.record;
  }

  /** The newest record's encoding, to send to a peer that asked. */
  encodedRecord(userKey: Uint8Array): Uint8Array | undefined {
    return this.held.get(hexOf(userKey))?.bytes.slice();
  }

  get size(): number {
    return this.held.size;
  }

  /**
   * A record from a peer (its encoded bytes). Throws IdentityError for bytes that do not parse
   * ('malformed', 'unsupported_version') or a signature that does not verify ('bad_signature');
   * the book is unchanged then. Every other case is an outcome.
   */
  add(bytes: Uint8Array): RecordOutcome {
    const record = decodeIdentityRecord(bytes);
    verifyIdentityRecord(record);
    // Our own encoding: the bytes we keep and hash are canonical.
    const encoded = encodeIdentityRecord(record);
    const key = hexOf(record.userKey);
    const current = this.held.get(key);
    if (current === undefined) {
      this.held.set(key, { record, bytes: encoded, hash: recordHash(encoded) });
      return {
        kind: 'new',
        record,
        revokedDevices: record.revoked.map((r) => r.deviceKey.slice()),
      };
    }
    if (record.sequence < current.record.sequence) {
      return { kind: 'stale', sequence: record.sequence, heldSequence: current.record.sequence };
    }
    if (record.sequence === current.record.sequence) {
      if (equalBytes(encoded, current.bytes))
        return { kind: 'duplicate', sequence: record.sequence };
      return this.equivocation(current, encoded, record);
    }
    this.held.set(key, { record, bytes: encoded, hash: recordHash(encoded) });
    return {
      kind: 'replaced',
      record,
      previousSequence: current.record.sequence,
      revokedDevices: droppedDevices(current.record, record),
    };
  }

  private equivocation(current: Held, encoded: Uint8Array, record: IdentityRecord): RecordOutcome {
    // One pair per (user, sequence) proves the fork; more pairs prove nothing new, and a stolen key
    // could otherwise fill memory with forks of one sequence number.
    const ofUser = this.evidence.filter((e) => equalBytes(e.userKey, record.userKey));
    const known = ofUser.find((e) => e.sequence === record.sequence);
    let evidence: EquivocationEvidence;
    if (known !== undefined) evidence = known;
    else {
      evidence = {
        userKey: record.userKey.slice(),
        sequence: record.sequence,
        first: current.bytes.slice(),
        second: encoded,
      };
      if (ofUser.length < MAX_EVIDENCE_PER_USER) this.evidence.push(evidence);
    }
    const flaggedContact = this.trustStore?.flagEquivocation(record.userKey);
    return { kind: 'equivocation', evidence, flaggedContact };
  }

  /** Evidence gathered so far (oldest first). */
  equivocations(): readonly EquivocationEvidence[] {
    return [...this.evidence];
  }

  /**
   * A device's standing in the newest record of its user: 'listed', 'revoked' (listed revoked),
   * 'absent' (the record neither lists nor revokes it: treated as revoked by the app), or
   * 'unknown_user' (no record held).
   */
  deviceStatus(
    userKey: Uint8Array,
    deviceKey: Uint8Array,
  ): 'listed' | 'revoked' | 'absent' | 'unknown_user' {
    const r = this.newestRecord(userKey);
    if (r === undefined) return 'unknown_user';
    if (r.devices.some((d) => equalBytes(d.deviceKey, deviceKey))) return 'listed';
    if (r.revoked.some((d) => equalBytes(d.deviceKey, deviceKey))) return 'revoked';
    return 'absent';
  }

  // ---- Transparency digests --------------------------------------------------------------------

  /** (user key, sequence, record hash) for every record held, in user-key order. */
  digest(): RecordDigest[] {
    return [...this.held.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, h]) => ({
        userKey: h.record.userKey.slice(),
        sequence: h.record.sequence,
        recordHash: h.hash.slice(),
      }));
  }

  /** What a peer's digest tells us (see DigestComparison). Duplicate users count once (the first). */
  compareDigests(theirs: readonly RecordDigest[]): DigestComparison {
    const request: Uint8Array[] = [];
    const send: Uint8Array[] = [];
    const conflicts: RecordDigest[] = [];
    const unknown: Uint8Array[] = [];
    const seen = new Set<string>();
    for (const d of theirs) {
      const key = hexOf(d.userKey);
      if (seen.has(key)) continue;
      seen.add(key);
      const ours = this.held.get(key);
      if (ours === undefined) unknown.push(d.userKey.slice());
      else if (d.sequence > ours.record.sequence) request.push(d.userKey.slice());
      else if (d.sequence < ours.record.sequence) send.push(d.userKey.slice());
      else if (!equalBytes(d.recordHash, ours.hash)) conflicts.push(d);
    }
    return { request, send, conflicts, unknown };
  }

  // ---- Persistence -------------------------------------------------------------------------------

  /** The book as versioned bytes (records and evidence), for the storage layer. */
  export(): Uint8Array {
    return encode(recordBookCodec, {
      version: IDENTITY_FORMAT_VERSION,
      records: [...this.held.values()].map((h) => h.bytes),
      evidence: this.evidence.map((e) => ({ first: e.first, second: e.second })),
    });
  }

  /**
   * A book from exported bytes; every record and piece of evidence is verified again (storage is
   * outside the trust boundary). Throws IdentityError and builds nothing on any fault.
   */
  static import(bytes: Uint8Array, options: RecordBookOptions = {}): RecordBook {
    const wire = decodeVersioned(recordBookCodec, bytes, 'record book');
    // Loaded apart first: a fault halfway must not leave flags in the caller's trust store.
    const loaded = new RecordBook();
    for (const r of wire.records) {
      if (loaded.add(r).kind !== 'new') {
        throw new IdentityError('malformed', 'record book: a user key is listed twice');
      }
    }
    const evidence = wire.evidence.map((e) => checkEvidence(e.first, e.second));
    const perUser = new Map<string, Set<bigint>>();
    for (const e of evidence) {
      const seqs = perUser.get(hexOf(e.userKey)) ?? new Set<bigint>();
      if (seqs.has(e.sequence)) throw new IdentityError('malformed', 'record book: evidence twice');
      seqs.add(e.sequence);
      if (seqs.size > MAX_EVIDENCE_PER_USER) {
        throw new IdentityError('malformed', 'record book: more evidence than kept per user');
      }
      perUser.set(hexOf(e.userKey), seqs);
    }
    const book = new RecordBook(options);
    for (const [k, h] of loaded.held) book.held.set(k, h);
    book.evidence.push(...evidence);
    return book;
  }
}

/** Devices of `before` that `after` neither lists nor had already revoked in `before`. */
function droppedDevices(before: IdentityRecord, after: IdentityRecord): Uint8Array[] {
  const listed = new Set(after.devices.map((d) => hexOf(d.deviceKey)));
  const out = new Map<string, Uint8Array>();
  for (const d of before.devices) {
    if (!listed.has(hexOf(d.deviceKey))) out.set(hexOf(d.deviceKey), d.deviceKey.slice());
  }
  const wasRevoked = new Set(before.revoked.map((r) => hexOf(r.deviceKey)));
  for (const r of after.revoked) {
    const k = hexOf(r.deviceKey);
    if (!wasRevoked.has(k)) out.set(k, r.deviceKey.slice());
  }
  return [...out.values()];
}

// ---- Wire formats ------------------------------------------------------------------------------

/**
 * ```
 * struct {
 *     opaque user_key[32];
 *     uint64 sequence;
 *     opaque record_hash[32];
 * } RecordDigest;
 *
 * struct {
 *     uint16 version = 1;
 *     RecordDigest digests<V>;          // at most 65536
 * } RecordDigestList;
 * ```
 */
export const recordDigestCodec: Codec<RecordDigest> = struct<RecordDigest>({
  userKey: ed25519PublicKey,
  sequence: uint64,
  recordHash: fixedBytes(RECORD_HASH_BYTES),
});

interface DigestListWire {
  readonly version: number;
  readonly digests: readonly RecordDigest[];
}

const digestListCodec: Codec<DigestListWire> = struct<DigestListWire>({
  version: uint16,
  digests: vector(recordDigestCodec) as Codec<readonly RecordDigest[]>,
});

export function encodeRecordDigests(digests: readonly RecordDigest[]): Uint8Array {
  if (digests.length > MAX_DIGESTS) {
    throw new IdentityError(
      'invalid_argument',
      `${digests.length} digests, at most ${MAX_DIGESTS}`,
    );
  }
  return encode(digestListCodec, { version: IDENTITY_FORMAT_VERSION, digests });
}

/** Parses a peer's digest list: IdentityError 'unsupported_version' or 'malformed'. */
export function decodeRecordDigests(bytes: Uint8Array): RecordDigest[] {
  const wire = decodeVersioned(digestListCodec, bytes, 'record digests');
  if (wire.digests.length > MAX_DIGESTS) {
    throw new IdentityError('malformed', `${wire.digests.length} digests`);
  }
  return [...wire.digests];
}

/**
 * ```
 * struct {
 *     uint16 version = 1;
 *     opaque first<V>;                  // an encoded IdentityRecord
 *     opaque second<V>;                 // same user key and sequence, different content
 * } EquivocationEvidence;
 * ```
 */
interface EvidenceWire {
  readonly version: number;
  readonly first: Uint8Array;
  readonly second: Uint8Array;
}

const evidenceCodec: Codec<EvidenceWire> = struct<EvidenceWire>({
  version: uint16,
  first: opaque,
  second: opaque,
});

export function encodeEquivocationEvidence(e: EquivocationEvidence): Uint8Array {
  return encode(evidenceCodec, {
    version: IDENTITY_FORMAT_VERSION,
    first: e.first,
    second: e.second,
  });
}

/**
 * Checks evidence received from anyone: both records verify, name one user key and one sequence
 * number, and differ. Throws IdentityError ('malformed', 'unsupported_version', 'bad_signature',
 * or 'conflicting_record' when the two records do not actually conflict).
 */
export function verifyEquivocationEvidence(bytes: Uint8Array): EquivocationEvidence {
  const wire = decodeVersioned(evidenceCodec, bytes, 'equivocation evidence');
  return checkEvidence(wire.first, wire.second);
}

function checkEvidence(firstBytes: Uint8Array, secondBytes: Uint8Array): EquivocationEvidence {
  const first = decodeIdentityRecord(firstBytes);
  const second = decodeIdentityRecord(secondBytes);
  verifyIdentityRecord(first);
  verifyIdentityRecord(second);
  const a = encodeIdentityRecord(first);
  const b = encodeIdentityRecord(second);
  if (
    !equalBytes(first.userKey, second.userKey) ||
    first.sequence !== second.sequence ||
    equalBytes(a, b)
  ) {
    throw new IdentityError('conflicting_record', 'the two records are not an equivocation');
  }
  return { userKey: first.userKey.slice(), sequence: first.sequence, first: a, second: b };
}

/**
 * ```
 * struct {
 *     uint16 version = 1;
 *     opaque records<V><V>;             // encoded IdentityRecords, one per user key
 *     struct { opaque first<V>; opaque second<V>; } evidence<V>;
 * } RecordBookState;
 * ```
 */
interface RecordBookWire {
  readonly version: number;
  readonly records: readonly Uint8Array[];
  readonly evidence: readonly { readonly first: Uint8Array; readonly second: Uint8Array }[];
}

const recordBookCodec: Codec<RecordBookWire> = struct<RecordBookWire>({
  version: uint16,
  records: vector(opaque) as Codec<readonly Uint8Array[]>,
  evidence: vector(struct({ first: opaque, second: opaque })) as Codec<
    readonly { readonly first: Uint8Array; readonly second: Uint8Array }[]
  >,
});
