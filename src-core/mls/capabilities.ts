import { struct, uint16, uint64, vector } from '../codec/index.js';
import type { Codec } from '../codec/index.js';

const uint16List = vector(uint16) as Codec<readonly number[]>;

/**
 * ```
 * struct {
 *     ProtocolVersion versions<V>;
 *     CipherSuite cipher_suites<V>;
 *     ExtensionType extensions<V>;
 *     ProposalType proposals<V>;
 *     CredentialType credentials<V>;
 * } Capabilities;
 * ```
 * Unknown values (newer types, GREASE) are kept as they are: RFC 9420 §13.4 says a receiver
 * MUST ignore unrecognized values here, and the LeafNode signature covers them.
 */
export interface Capabilities {
  readonly versions: readonly number[];
  readonly cipherSuites: readonly number[];
  readonly extensions: readonly number[];
  readonly proposals: readonly number[];
  readonly credentials: readonly number[];
}

export const capabilitiesCodec: Codec<Capabilities> = struct<Capabilities>({
  versions: uint16List,
  cipherSuites: uint16List,
  extensions: uint16List,
  proposals: uint16List,
  credentials: uint16List,
});

/**
 * ```
 * struct {
 *     ExtensionType extension_types<V>;
 *     ProposalType proposal_types<V>;
 *     CredentialType credential_types<V>;
 * } RequiredCapabilities;
 * ```
 * The `extension_data` of a `required_capabilities` GroupContext extension (§11.1).
 */
export interface RequiredCapabilities {
  readonly extensionTypes: readonly number[];
  readonly proposalTypes: readonly number[];
  readonly credentialTypes: readonly number[];
}

export const requiredCapabilitiesCodec: Codec<RequiredCapabilities> = struct<RequiredCapabilities>({
  extensionTypes: uint16List,
  proposalTypes: uint16List,
  credentialTypes: uint16List,
});

/**
 * ```
 * struct {
 *     uint64 not_before;
 *     uint64 not_after;
 * } Lifetime;
 * ```
 * Seconds since the Unix epoch.
 */
export interface Lifetime {
  readonly notBefore: bigint;
  readonly notAfter: bigint;
}

export const lifetimeCodec: Codec<Lifetime> = struct<Lifetime>({
  notBefore: uint64,
  notAfter: uint64,
});

/**
 * Proposal types every client implements (§7.2): they MUST NOT be listed in Capabilities and are
 * assumed supported. Extension types likewise; see `DEFAULT_EXTENSION_TYPES`.
 */
export const DEFAULT_PROPOSAL_TYPES: ReadonlySet<number> = new Set([1, 2, 3, 4, 5, 6, 7]);

/** Extension types every client implements (§7.2): application_id .. external_senders. */
export const DEFAULT_EXTENSION_TYPES: ReadonlySet<number> = new Set([1, 2, 3, 4, 5]);

/** Whether `caps` supports an extension type: default types are always supported. */
export function supportsExtension(caps: Capabilities, extensionType: number): boolean {
  return DEFAULT_EXTENSION_TYPES.has(extensionType) || caps.extensions.includes(extensionType);
}

/** Whether `caps` supports a proposal type: default types are always supported. */
export function supportsProposal(caps: Capabilities, proposalType: number): boolean {
  return DEFAULT_PROPOSAL_TYPES.has(proposalType) || caps.proposals.includes(proposalType);
}

/** Whether `caps` supports a credential type; credential types have no defaults (§11.1). */
export function supportsCredential(caps: Capabilities, credentialType: number): boolean {
  return caps.credentials.includes(credentialType);
}

/**
 * Whether `caps` lists everything a group's `required_capabilities` extension demands (§11.1).
 * Returns the first missing item, or undefined when all are supported.
 */
export function missingRequiredCapability(
  caps: Capabilities,
  required: RequiredCapabilities,
): { readonly kind: 'extension' | 'proposal' | 'credential'; readonly type: number } | undefined {
  for (const t of required.extensionTypes) {
    if (!supportsExtension(caps, t)) return { kind: 'extension', type: t };
  }
  for (const t of required.proposalTypes) {
    if (!supportsProposal(caps, t)) return { kind: 'proposal', type: t };
  }
  for (const t of required.credentialTypes) {
    if (!supportsCredential(caps, t)) return { kind: 'credential', type: t };
  }
  return undefined;
}
