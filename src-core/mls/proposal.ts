import { CodecError, opaque, struct, uint16, uint32 } from '../codec/index.js';
import type { Codec, Reader, Writer } from '../codec/index.js';
import type { Extension } from './extension.js';
import { extensionsCodec } from './extension.js';
import type { KeyPackage } from './keyPackage.js';
import { keyPackageCodec } from './keyPackage.js';
import type { LeafNode } from './leafNode.js';
import { leafNodeCodec } from './leafNode.js';
import type { PreSharedKeyID } from './psk.js';
import { preSharedKeyIdCodec } from './psk.js';

/** RFC 9420 §17.4: the proposal types this implementation knows by number. */
export const ProposalType = {
  add: 0x0001,
  update: 0x0002,
  remove: 0x0003,
  psk: 0x0004,
  reinit: 0x0005,
  externalInit: 0x0006,
  groupContextExtensions: 0x0007,
} as const;
export type KnownProposalType = (typeof ProposalType)[keyof typeof ProposalType];

/** The "Path" column of the proposal type registry: a Commit covering one needs an UpdatePath. */
export const PATH_REQUIRED_PROPOSAL_TYPES: ReadonlySet<number> = new Set([
  ProposalType.update,
  ProposalType.remove,
  ProposalType.externalInit,
  ProposalType.groupContextExtensions,
]);

/** The "Ext" column of the proposal type registry: types an `external` sender may send (§12.1.8). */
export const EXTERNAL_SENDER_PROPOSAL_TYPES: ReadonlySet<number> = new Set([
  ProposalType.add,
  ProposalType.remove,
  ProposalType.psk,
  ProposalType.reinit,
  ProposalType.groupContextExtensions,
]);

const extensionList = extensionsCodec as Codec<readonly Extension[]>;

/** `struct { KeyPackage key_package; } Add;` */
export interface Add {
  readonly keyPackage: KeyPackage;
}
export const addCodec: Codec<Add> = struct<Add>({ keyPackage: keyPackageCodec });

/** `struct { LeafNode leaf_node; } Update;` */
export interface Update {
  readonly leafNode: LeafNode;
}
export const updateCodec: Codec<Update> = struct<Update>({ leafNode: leafNodeCodec });

/** `struct { uint32 removed; } Remove;` (a leaf index) */
export interface Remove {
  readonly removed: number;
}
export const removeCodec: Codec<Remove> = struct<Remove>({ removed: uint32 });

/** `struct { PreSharedKeyID psk; } PreSharedKey;` */
export interface PreSharedKey {
  readonly psk: PreSharedKeyID;
}
export const preSharedKeyCodec: Codec<PreSharedKey> = struct<PreSharedKey>({
  psk: preSharedKeyIdCodec,
});

/**
 * ```
 * struct {
 *     opaque group_id<V>;
 *     ProtocolVersion version;
 *     CipherSuite cipher_suite;
 *     Extension extensions<V>;
 * } ReInit;
 * ```
 */
export interface ReInit {
  readonly groupId: Uint8Array;
  readonly version: number;
  readonly cipherSuite: number;
  readonly extensions: readonly Extension[];
}
export const reInitCodec: Codec<ReInit> = struct<ReInit>({
  groupId: opaque,
  version: uint16,
  cipherSuite: uint16,
  extensions: extensionList,
});

/** `struct { opaque kem_output<V>; } ExternalInit;` */
export interface ExternalInit {
  readonly kemOutput: Uint8Array;
}
export const externalInitCodec: Codec<ExternalInit> = struct<ExternalInit>({ kemOutput: opaque });

/** `struct { Extension extensions<V>; } GroupContextExtensions;` */
export interface GroupContextExtensions {
  readonly extensions: readonly Extension[];
}
export const groupContextExtensionsCodec: Codec<GroupContextExtensions> =
  struct<GroupContextExtensions>({
    extensions: extensionList,
  });

export interface AddProposal {
  readonly proposalType: typeof ProposalType.add;
  readonly add: Add;
}
export interface UpdateProposal {
  readonly proposalType: typeof ProposalType.update;
  readonly update: Update;
}
export interface RemoveProposal {
  readonly proposalType: typeof ProposalType.remove;
  readonly remove: Remove;
}
export interface PreSharedKeyProposal {
  readonly proposalType: typeof ProposalType.psk;
  readonly psk: PreSharedKey;
}
export interface ReInitProposal {
  readonly proposalType: typeof ProposalType.reinit;
  readonly reInit: ReInit;
}
export interface ExternalInitProposal {
  readonly proposalType: typeof ProposalType.externalInit;
  readonly externalInit: ExternalInit;
}
export interface GroupContextExtensionsProposal {
  readonly proposalType: typeof ProposalType.groupContextExtensions;
  readonly groupContextExtensions: GroupContextExtensions;
}

/** A proposal of one of the seven types defined by RFC 9420. */
export type KnownProposal =
  | AddProposal
  | UpdateProposal
  | RemoveProposal
  | PreSharedKeyProposal
  | ReInitProposal
  | ExternalInitProposal
  | GroupContextExtensionsProposal;

/**
 * A proposal of a type this implementation does not define (§13.2 lets applications add
 * proposal types, to be used only when every member lists them in its capabilities). The RFC
 * fixes no body format for such types; as OpenMLS and mls-rs do for custom proposals, the body
 * is read as one `opaque<V>`. Whether the type is allowed is decided when the proposal is
 * validated against the group, never by the decoder.
 */
export interface CustomProposal {
  readonly proposalType: number;
  readonly data: Uint8Array;
}

/**
 * ```
 * uint16 ProposalType;
 *
 * struct {
 *     ProposalType proposal_type;
 *     select (Proposal.proposal_type) {
 *         case add:                      Add;
 *         case update:                   Update;
 *         case remove:                   Remove;
 *         case psk:                      PreSharedKey;
 *         case reinit:                   ReInit;
 *         case external_init:            ExternalInit;
 *         case group_context_extensions: GroupContextExtensions;
 *     };
 * } Proposal;
 * ```
 */
export type Proposal = KnownProposal | CustomProposal;

/** Narrows a proposal to a type this implementation does not define. */
export function isCustomProposal(p: Proposal): p is CustomProposal {
  return 'data' in p;
}

function encodeKnown(w: Writer, p: KnownProposal): void {
  switch (p.proposalType) {
    case ProposalType.add:
      return addCodec.encode(w, p.add);
    case ProposalType.update:
      return updateCodec.encode(w, p.update);
    case ProposalType.remove:
      return removeCodec.encode(w, p.remove);
    case ProposalType.psk:
      return preSharedKeyCodec.encode(w, p.psk);
    case ProposalType.reinit:
      return reInitCodec.encode(w, p.reInit);
    case ProposalType.externalInit:
      return externalInitCodec.encode(w, p.externalInit);
    case ProposalType.groupContextExtensions:
      return groupContextExtensionsCodec.encode(w, p.groupContextExtensions);
    default:
      throw new CodecError(
        'invalid_value',
        `no encoder for proposal type ${(p as Proposal).proposalType}`,
      );
  }
}

function decodeBody(r: Reader, proposalType: number): Proposal {
  switch (proposalType) {
    case 0:
      throw new CodecError('invalid_value', 'proposal type 0 is reserved');
    case ProposalType.add:
      return { proposalType, add: addCodec.decode(r) };
    case ProposalType.update:
      return { proposalType, update: updateCodec.decode(r) };
    case ProposalType.remove:
      return { proposalType, remove: removeCodec.decode(r) };
    case ProposalType.psk:
      return { proposalType, psk: preSharedKeyCodec.decode(r) };
    case ProposalType.reinit:
      return { proposalType, reInit: reInitCodec.decode(r) };
    case ProposalType.externalInit:
      return { proposalType, externalInit: externalInitCodec.decode(r) };
    case ProposalType.groupContextExtensions:
      return { proposalType, groupContextExtensions: groupContextExtensionsCodec.decode(r) };
    default:
      return { proposalType, data: opaque.decode(r) };
  }
}

export const proposalCodec: Codec<Proposal> = {
  encode(w, p) {
    if (isCustomProposal(p)) {
      // A defined type dressed as a custom one would decode back differently.
      if (p.proposalType === 0 || (p.proposalType >= 1 && p.proposalType <= 7)) {
        throw new CodecError('invalid_value', `proposal type ${p.proposalType} given as custom`);
      }
      uint16.encode(w, p.proposalType);
      opaque.encode(w, p.data);
      return;
    }
    uint16.encode(w, p.proposalType);
    encodeKnown(w, p);
  },
  decode: (r) => decodeBody(r, uint16.decode(r)),
};
