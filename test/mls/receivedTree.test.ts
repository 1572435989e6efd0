/**
 * A received ratchet tree decoded with its leaves' bytes (src-core/mls/ratchetTree/receivedTree.ts)
 * gives the same nodes as `ratchetTreeCodec`, leaf bytes equal to encoding the decoded leaves, and
 * the same tree hashes and validation outcome when those bytes are used instead of re-encoding.
 */
import { describe, expect, it } from 'vitest';
import { decode, encode } from '../../src-core/codec/index.js';
import { cipherSuite } from '../../src-core/crypto/index.js';
import type { CipherSuiteId } from '../../src-core/crypto/types.js';
import { leafNodeCodec } from '../../src-core/mls/leafNode.js';
import { RatchetTree, validateRatchetTree } from '../../src-core/mls/ratchetTree/index.js';
import { receivedTreeCodec } from '../../src-core/mls/ratchetTree/receivedTree.js';
import { NodeType, ratchetTreeCodec } from '../../src-core/mls/ratchetTreeExtension.js';
import { hex, readSharedJson } from '../support/shared.js';

interface Case {
  cipher_suite: number;
  tree: string;
  group_id: string;
}

const cases = (readSharedJson('mls-test-vectors', 'tree-validation.json') as Case[]).filter(
  (tc) => tc.cipher_suite >= 1 && tc.cipher_suite <= 7,
);

describe('received ratchet tree', () => {
  it.each(cases.map((tc, i) => [i, tc] as const))('tree-validation #%i', (_i, tc) => {
    const suite = cipherSuite(tc.cipher_suite as CipherSuiteId);
    const data = hex(tc.tree);
    const nodes = decode(ratchetTreeCodec, data);
    const received = decode(receivedTreeCodec, data);
    expect(received.nodes).toEqual(nodes);
    let leaves = 0;
    received.nodes.forEach((n, x) => {
      if (n?.nodeType === NodeType.leaf) {
        leaves++;
        expect(received.leafBytes[x]).toEqual(encode(leafNodeCodec, n.leafNode));
      } else {
        expect(received.leafBytes[x]).toBeUndefined();
      }
    });
    expect(leaves).toBeGreaterThan(0);
    const plain = RatchetTree.fromNodes(suite, nodes);
    const fast = RatchetTree.fromNodes(suite, received.nodes, received.leafBytes);
    for (let x = 0; x < plain.nodeCount; x++) {
      expect(fast.nodeTreeHash(x)).toEqual(plain.nodeTreeHash(x));
    }
    const ctx = { groupId: hex(tc.group_id), treeHash: plain.treeHash(), extensions: [] };
    validateRatchetTree(fast, { ...ctx, leafBytes: (i) => received.leafBytes[2 * i] });
    validateRatchetTree(plain, ctx);
  });

  it('a leaf byte changed after decoding breaks the signature check (the bytes are used)', () => {
    const tc = cases[0]!;
    const suite = cipherSuite(tc.cipher_suite as CipherSuiteId);
    const received = decode(receivedTreeCodec, hex(tc.tree));
    const tree = RatchetTree.fromNodes(suite, received.nodes);
    const x = received.leafBytes.findIndex((b) => b !== undefined);
    const tampered = received.leafBytes[x]!.slice();
    tampered[tampered.length - 80]! ^= 1;
    expect(() =>
      validateRatchetTree(tree, {
        groupId: hex(tc.group_id),
        treeHash: tree.treeHash(),
        extensions: [],
        leafBytes: (i) => (2 * i === x ? tampered : received.leafBytes[2 * i]),
      }),
    ).toThrow(expect.objectContaining({ code: 'invalid_signature' }));
  });

  it('rejects what ratchetTreeCodec rejects', () => {
    const bad = Uint8Array.of(0x02, 0x00, 0x00); // two blank nodes: ends with a blank
    expect(() => decode(ratchetTreeCodec, bad)).toThrow();
    expect(() => decode(receivedTreeCodec, bad)).toThrow(
      expect.objectContaining({ code: 'invalid_value' }),
    );
    expect(() => decode(receivedTreeCodec, Uint8Array.of(0x03, 0x01, 0x01))).toThrow();
  });
});
