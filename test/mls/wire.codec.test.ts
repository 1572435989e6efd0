import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, encode } from '../../src-core/codec/index.js';
import type { Codec } from '../../src-core/codec/index.js';
import {
  capabilitiesCodec,
  lifetimeCodec,
  requiredCapabilitiesCodec,
} from '../../src-core/mls/capabilities.js';
import { commitCodec } from '../../src-core/mls/commit.js';
import { credentialCodec } from '../../src-core/mls/credential.js';
import { externalSendersCodec } from '../../src-core/mls/externalSenders.js';
import { groupInfoCodec } from '../../src-core/mls/groupInfo.js';
import { keyPackageCodec } from '../../src-core/mls/keyPackage.js';
import { leafNodeCodec } from '../../src-core/mls/leafNode.js';
import { addCodec, proposalCodec, updateCodec } from '../../src-core/mls/proposal.js';
import { ratchetTreeCodec } from '../../src-core/mls/ratchetTreeExtension.js';
import { updatePathCodec } from '../../src-core/mls/updatePath.js';
import { groupSecretsCodec, welcomeCodec } from '../../src-core/mls/welcome.js';
import { fuzzDecoder } from '../support/fuzz.js';
import { hex, readSharedJson } from '../support/shared.js';
import * as arb from './wireArbitraries.js';

const vectors = readSharedJson('mls-test-vectors', 'messages.json') as Record<string, string>[];

/** Encodings from the official vectors, to mutate; `strip` drops the MLSMessage header. */
function seeds(field: string, strip = 0): Uint8Array[] {
  return vectors.slice(0, 40).map((tc) => hex(tc[field]!).subarray(strip));
}

/** decode(encode(v)) gives back v itself, not just the same bytes. */
function roundTrip<T>(codec: Codec<T>, values: fc.Arbitrary<T>, numRuns = 300): void {
  fc.assert(
    fc.property(values, (v) => {
      expect(decode(codec, encode(codec, v))).toEqual(v);
    }),
    { numRuns },
  );
}

describe('MLS wire structures: generated values round-trip to equal values', () => {
  it('Credential (basic, x509, custom types)', () => roundTrip(credentialCodec, arb.credential));
  it('Capabilities', () => roundTrip(capabilitiesCodec, arb.capabilities));
  it('RequiredCapabilities', () => roundTrip(requiredCapabilitiesCodec, arb.requiredCapabilities));
  it('Lifetime (full uint64 range)', () => roundTrip(lifetimeCodec, arb.lifetime));
  it('LeafNode (every leaf_node_source)', () => roundTrip(leafNodeCodec, arb.leafNode));
  it('KeyPackage', () => roundTrip(keyPackageCodec, arb.keyPackage));
  it('Proposal (all seven types and custom ones)', () => roundTrip(proposalCodec, arb.proposal));
  it('UpdatePath', () => roundTrip(updatePathCodec, arb.updatePath));
  it('Commit (with and without path)', () => roundTrip(commitCodec, arb.commit));
  it('GroupInfo', () => roundTrip(groupInfoCodec, arb.groupInfo));
  it('GroupSecrets', () => roundTrip(groupSecretsCodec, arb.groupSecrets));
  it('Welcome', () => roundTrip(welcomeCodec, arb.welcome));
  it('ratchet_tree', () => roundTrip(ratchetTreeCodec, arb.ratchetTree, 100));
  it('external_senders', () =>
    roundTrip(externalSendersCodec, fc.array(arb.externalSender, { maxLength: 3 })));
});

// Hostile input: random bytes and mutated valid encodings either fail with a CodecError or decode
// to a value that re-encodes to exactly the bytes read. 10,000 inputs per decoder.
describe('MLS wire structures: total and canonical on hostile input', () => {
  it('KeyPackage', () =>
    fuzzDecoder({
      codec: keyPackageCodec,
      values: arb.keyPackage,
      seeds: seeds('mls_key_package', 4),
    }));
  it('LeafNode (Update)', () =>
    fuzzDecoder({
      codec: updateCodec,
      values: arb.leafNode.map((leafNode) => ({ leafNode })),
      seeds: seeds('update_proposal'),
    }));
  it('Add', () => fuzzDecoder({ codec: addCodec, seeds: seeds('add_proposal') }));
  it('Proposal', () => fuzzDecoder({ codec: proposalCodec, values: arb.proposal }));
  it('Commit', () =>
    fuzzDecoder({ codec: commitCodec, values: arb.commit, seeds: seeds('commit') }));
  it('GroupInfo', () =>
    fuzzDecoder({
      codec: groupInfoCodec,
      values: arb.groupInfo,
      seeds: seeds('mls_group_info', 4),
    }));
  it('Welcome', () =>
    fuzzDecoder({ codec: welcomeCodec, values: arb.welcome, seeds: seeds('mls_welcome', 4) }));
  it('GroupSecrets', () =>
    fuzzDecoder({
      codec: groupSecretsCodec,
      values: arb.groupSecrets,
      seeds: seeds('group_secrets'),
    }));
  it('ratchet_tree', () =>
    fuzzDecoder({
      codec: ratchetTreeCodec,
      values: arb.ratchetTree,
      seeds: seeds('ratchet_tree'),
    }));
  it('external_senders', () =>
    fuzzDecoder({
      codec: externalSendersCodec,
      values: fc.array(arb.externalSender, { maxLength: 3 }),
    }));
});
