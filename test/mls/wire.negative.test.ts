import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CodecError,
  Writer,
  decode,
  encode,
  opaque,
  uint16,
  uint8,
} from '../../src-core/codec/index.js';
import type { Codec } from '../../src-core/codec/index.js';
import { capabilitiesCodec } from '../../src-core/mls/capabilities.js';
import { commitCodec } from '../../src-core/mls/commit.js';
import type { Credential } from '../../src-core/mls/credential.js';
import { credentialCodec, isCustomCredential } from '../../src-core/mls/credential.js';
import { keyPackageCodec } from '../../src-core/mls/keyPackage.js';
import type { LeafNode } from '../../src-core/mls/leafNode.js';
import { leafNodeCodec } from '../../src-core/mls/leafNode.js';
import type { Proposal } from '../../src-core/mls/proposal.js';
import { addCodec, isCustomProposal, proposalCodec } from '../../src-core/mls/proposal.js';
import type { Node, RatchetTreeNodes } from '../../src-core/mls/ratchetTreeExtension.js';
import { nodeCodec, ratchetTreeCodec } from '../../src-core/mls/ratchetTreeExtension.js';
import { groupSecretsCodec } from '../../src-core/mls/welcome.js';
import { hex, readSharedJson } from '../support/shared.js';
import * as arb from './wireArbitraries.js';

const vectors = readSharedJson('mls-test-vectors', 'messages.json') as Record<string, string>[];
const first = vectors[0]!;

function codecError(f: () => unknown): CodecError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CodecError);
    return e as CodecError;
  }
  throw new Error('expected a CodecError, nothing was thrown');
}

function sample<T>(a: fc.Arbitrary<T>, seed: number): T {
  return fc.sample(a, { numRuns: 1, seed })[0]!;
}

/** A LeafNode with the given source, encoded; `sourceAt` is the offset of the source byte. */
function encodedLeaf(source: 1 | 2 | 3): { bytes: Uint8Array; sourceAt: number } {
  const leaf = sample(
    arb.leafNode.filter((l) => l.leafNodeSource === source),
    7,
  );
  const w = new Writer();
  opaque.encode(w, leaf.encryptionKey);
  opaque.encode(w, leaf.signatureKey);
  credentialCodec.encode(w, leaf.credential);
  capabilitiesCodec.encode(w, leaf.capabilities);
  return { bytes: encode(leafNodeCodec, leaf), sourceAt: w.length };
}

describe('decoders reject malformed syntax with CodecError', () => {
  it.each([0, 4, 255])('LeafNode with leaf_node_source %i', (bad) => {
    for (const source of [1, 2, 3] as const) {
      const { bytes, sourceAt } = encodedLeaf(source);
      expect(bytes[sourceAt]).toBe(source);
      const b = Uint8Array.from(bytes);
      b[sourceAt] = bad;
      expect(codecError(() => decode(leafNodeCodec, b)).code).toBe('invalid_value');
    }
  });

  it('Commit with a path presence byte other than 0 or 1', () => {
    const c = sample(
      arb.commit.filter((v) => v.path === undefined),
      3,
    );
    const b = encode(commitCodec, c);
    expect(b[b.length - 1]).toBe(0);
    for (const bad of [2, 0x80, 0xff]) {
      b[b.length - 1] = bad;
      expect(codecError(() => decode(commitCodec, b)).code).toBe('invalid_value');
    }
  });

  it('GroupSecrets with a path_secret presence byte other than 0 or 1', () => {
    const b = encode(groupSecretsCodec, {
      joinerSecret: new Uint8Array([1, 2]),
      pathSecret: undefined,
      psks: [],
    });
    expect([...b]).toEqual([2, 1, 2, 0, 0]);
    b[3] = 2;
    expect(codecError(() => decode(groupSecretsCodec, b)).code).toBe('invalid_value');
  });

  it('every proper prefix of a vector Add, Commit and KeyPackage is rejected', () => {
    const cases: [Codec<unknown>, Uint8Array][] = [
      [addCodec, hex(first.add_proposal!)],
      [commitCodec, hex(first.commit!)],
      [keyPackageCodec, hex(first.mls_key_package!).subarray(4)],
    ];
    for (const [codec, full] of cases) {
      expect(() => decode(codec, full)).not.toThrow();
      for (let n = 0; n < full.length; n++) codecError(() => decode(codec, full.subarray(0, n)));
    }
  });

  it('trailing bytes after a structure are rejected', () => {
    const full = hex(first.commit!);
    const longer = new Uint8Array(full.length + 1);
    longer.set(full);
    expect(codecError(() => decode(commitCodec, longer)).code).toBe('trailing_bytes');
  });

  it('reserved credential type 0 and proposal type 0', () => {
    expect(codecError(() => decode(credentialCodec, new Uint8Array([0, 0, 0]))).code).toBe(
      'invalid_value',
    );
    expect(codecError(() => decode(proposalCodec, new Uint8Array([0, 0, 0]))).code).toBe(
      'invalid_value',
    );
  });

  it.each([0, 3, 255])('ProposalOrRefType %i', (bad) => {
    expect(codecError(() => decode(commitCodec, new Uint8Array([2, bad, 0, 0]))).code).toBe(
      'invalid_value',
    );
  });

  it.each([0, 3])('NodeType %i', (bad) => {
    expect(codecError(() => decode(nodeCodec, new Uint8Array([bad, 0, 0, 0]))).code).toBe(
      'invalid_value',
    );
  });
});

describe('ratchet_tree encoding rules (§12.4.3.3)', () => {
  const tree = sample(
    arb.ratchetTree.filter((t) => t.length >= 3),
    11,
  );
  const leaf = tree[0] ?? tree[tree.length - 1]!;
  const parent: Node = {
    nodeType: 2,
    parentNode: {
      encryptionKey: new Uint8Array(1),
      parentHash: new Uint8Array(),
      unmergedLeaves: [],
    },
  };

  /** Encodes without the codec's own checks, as a hostile sender would. */
  function raw(nodes: RatchetTreeNodes): Uint8Array {
    const w = new Writer();
    const inner = new Writer();
    for (const n of nodes) {
      if (n === undefined) uint8.encode(inner, 0);
      else {
        uint8.encode(inner, 1);
        nodeCodec.encode(inner, n);
      }
    }
    opaque.encode(w, inner.finish());
    return w.finish();
  }

  it('a well-formed tree decodes', () => {
    expect(decode(ratchetTreeCodec, raw(tree))).toEqual(tree);
  });
  it.each<[string, RatchetTreeNodes]>([
    ['empty', []],
    ['trailing blank', [...tree, undefined, undefined]],
    ['parent node at a leaf position', [parent]],
    ['leaf node at a parent position', [leaf, leaf, leaf]],
  ])('%s: rejected on decode and on encode', (_name, nodes) => {
    expect(codecError(() => decode(ratchetTreeCodec, raw(nodes))).code).toBe('invalid_value');
    codecError(() => encode(ratchetTreeCodec, nodes));
  });
});

describe('unknown credential, proposal and extension types are kept, not rejected', () => {
  const grease = 0x0a0a;

  it('a GREASE credential type round-trips as opaque', () => {
    const c: Credential = { credentialType: grease, data: new Uint8Array([9, 8, 7]) };
    const b = encode(credentialCodec, c);
    expect([...b]).toEqual([0x0a, 0x0a, 3, 9, 8, 7]);
    const back = decode(credentialCodec, b);
    expect(isCustomCredential(back)).toBe(true);
    expect(back).toEqual(c);
  });

  it('a custom proposal type round-trips as opaque', () => {
    const p: Proposal = { proposalType: 0xf001, data: new Uint8Array([1]) };
    const back = decode(proposalCodec, encode(proposalCodec, p));
    expect(isCustomProposal(back)).toBe(true);
    expect(back).toEqual(p);
  });

  it('a LeafNode with unknown extensions and capabilities keeps them in order', () => {
    const base = sample(arb.leafNode, 5);
    const leaf: LeafNode = {
      ...base,
      capabilities: {
        ...base.capabilities,
        extensions: [grease, 0xff00],
        cipherSuites: [grease, 1],
      },
      extensions: [
        { extensionType: 0xff00, extensionData: new Uint8Array([1, 2]) },
        { extensionType: grease, extensionData: new Uint8Array() },
      ],
    };
    expect(decode(leafNodeCodec, encode(leafNodeCodec, leaf))).toEqual(leaf);
  });

  it('a defined type disguised as custom is refused on encode', () => {
    const basicAsCustom = { credentialType: 1, data: new Uint8Array([1]) } as Credential;
    expect(codecError(() => encode(credentialCodec, basicAsCustom)).code).toBe('invalid_value');
    const addAsCustom = { proposalType: 1, data: new Uint8Array([1]) } as Proposal;
    expect(codecError(() => encode(proposalCodec, addAsCustom)).code).toBe('invalid_value');
  });

  it('credential and proposal types go on the wire as uint16', () => {
    const b = encode(proposalCodec, { proposalType: 3, remove: { removed: 0x01020304 } });
    expect([...b]).toEqual([0, 3, 1, 2, 3, 4]);
    expect(decode(uint16, b.subarray(0, 2))).toBe(3);
  });
});
