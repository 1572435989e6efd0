/**
 * The worker-thread batch verifier (src-core/crypto/batchVerify.ts) against the synchronous
 * `SignatureScheme.verify`: the same answer for every check, valid or not, on every scheme; the
 * official SignWithLabel vectors; and a clean shutdown.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { encode } from '../../src-core/codec/index.js';
import type { SignatureCheck } from '../../src-core/crypto/batchVerify.js';
import { createBatchVerifier } from '../../src-core/crypto/batchVerify.js';
import type { CipherSuiteId } from '../../src-core/crypto/index.js';
import { activeBackend, cipherSuite, makeSignatureScheme } from '../../src-core/crypto/index.js';
import { mlsLabel, signContentCodec } from '../../src-core/crypto/labels.js';
import { decodeDerSignature, encodeDerSignature } from '../../src-core/crypto/signature/der.js';
import { ECDSA_SPECS } from '../../src-core/crypto/signature/ecdsa.js';
import type { SignatureScheme } from '../../src-core/crypto/types.js';
import { hex, readSharedJson } from '../support/shared.js';

const SCHEMES: readonly [string, number][] = [
  ['Ed25519', 0x0807],
  ['Ed448', 0x0808],
  ['ECDSA P-256', 0x0403],
  ['ECDSA P-384', 0x0503],
  ['ECDSA P-521', 0x0603],
];

const ORDERS: Readonly<Record<number, bigint>> = {
  0x0403: ECDSA_SPECS['P-256'].order,
  0x0503: ECDSA_SPECS['P-384'].order,
  0x0603: ECDSA_SPECS['P-521'].order,
};

function flip(b: Uint8Array, at: number): Uint8Array {
  const c = b.slice();
  c[at % c.length]! ^= 0x01;
  return c;
}

/** Valid signatures and every kind of broken one the verifier must reject like `verify` does. */
function checksFor(scheme: SignatureScheme, id: number): SignatureCheck[] {
  const out: SignatureCheck[] = [];
  const other = scheme.generateKeyPair();
  for (let i = 0; i < 6; i++) {
    const { privateKey, publicKey } = scheme.generateKeyPair();
    const message = new TextEncoder().encode(`message ${i} `.repeat(i * 7 + 1));
    const signature = scheme.sign(privateKey, message);
    out.push(
      { publicKey, message, signature },
      { publicKey, message: flip(message, i), signature },
      { publicKey, message, signature: flip(signature, 5 + i) },
      { publicKey, message, signature: flip(signature, signature.length - 1 - i) },
      { publicKey: other.publicKey, message, signature },
      { publicKey: flip(publicKey, 3 + i), message, signature },
      { publicKey: publicKey.subarray(1), message, signature },
      { publicKey, message, signature: signature.subarray(0, signature.length - 1) },
      { publicKey, message, signature: new Uint8Array(0) },
      { publicKey, message: new Uint8Array(0), signature },
    );
    const order = ORDERS[id];
    if (order !== undefined) {
      const rs = decodeDerSignature(signature)!;
      // High-S: valid (RFC 9420 does not ask for low-S), on both paths.
      out.push({ publicKey, message, signature: encodeDerSignature(rs.r, order - rs.s) });
      // r or s out of range, and DER with trailing bytes: rejected on both.
      out.push({ publicKey, message, signature: encodeDerSignature(rs.r + order, rs.s) });
      out.push({ publicKey, message, signature: encodeDerSignature(rs.r, 0n + order) });
      const trailing = new Uint8Array(signature.length + 1);
      trailing.set(signature);
      out.push({ publicKey, message, signature: trailing });
    }
  }
  return out;
}

const verifiers: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(verifiers.map((v) => v.close()));
});

describe('batch verifier', () => {
  it('uses worker threads for the node:crypto schemes', () => {
    expect(activeBackend()).toBe('node:crypto');
    const v = createBatchVerifier(cipherSuite(1).signature, { workers: 2 });
    verifiers.push(v);
    expect(v.workerCount).toBe(2);
    // The noble scheme may answer differently on crafted signatures: never sent to a worker.
    expect(createBatchVerifier(makeSignatureScheme(0x0807, 'noble')).workerCount).toBe(0);
  });

  it.each(SCHEMES)(
    '%s: the same answer as scheme.verify on valid and broken input',
    async (_n, id) => {
      const scheme = makeSignatureScheme(id, 'auto');
      const checks = checksFor(scheme, id);
      const want = checks.map((c) => scheme.verify(c.publicKey, c.message, c.signature));
      expect(want.filter(Boolean).length).toBeGreaterThanOrEqual(6);
      expect(want.filter((x) => !x).length).toBeGreaterThanOrEqual(50);
      const v = createBatchVerifier(scheme, { workers: 2 });
      verifiers.push(v);
      expect(v.workerCount).toBe(2);
      expect(await v.verify(checks)).toEqual(want);
      // Several batches at once, in and out of order.
      const [a, b] = await Promise.all([v.verify(checks.slice(7)), v.verify(checks.slice(0, 30))]);
      expect(a).toEqual(want.slice(7));
      expect(b).toEqual(want.slice(0, 30));
    },
  );

  it('agrees on many checks spread over the workers and the calling thread', async () => {
    const scheme = makeSignatureScheme(0x0807, 'auto');
    const base = checksFor(scheme, 0x0807);
    const checks = Array.from({ length: 12 }, () => base).flat();
    const want = checks.map((c) => scheme.verify(c.publicKey, c.message, c.signature));
    const v = createBatchVerifier(scheme, { workers: 2 });
    verifiers.push(v);
    expect(await v.verify(checks)).toEqual(want);
    expect(await v.verify([])).toEqual([]);
  });

  it('verifies the crypto-basics SignWithLabel vectors, and rejects them tampered', async () => {
    const cases = readSharedJson('mls-test-vectors', 'crypto-basics.json') as {
      cipher_suite: number;
      sign_with_label: { pub: string; content: string; label: string; signature: string };
    }[];
    for (const tc of cases) {
      const suite = cipherSuite(tc.cipher_suite as CipherSuiteId);
      const s = tc.sign_with_label;
      const message = encode(signContentCodec, {
        label: mlsLabel(s.label),
        content: hex(s.content),
      });
      const checks: SignatureCheck[] = [
        { publicKey: hex(s.pub), message, signature: hex(s.signature) },
        { publicKey: hex(s.pub), message: flip(message, 9), signature: hex(s.signature) },
        { publicKey: hex(s.pub), message, signature: flip(hex(s.signature), 20) },
      ];
      const v = createBatchVerifier(suite.signature, { workers: 1 });
      verifiers.push(v);
      expect(v.workerCount).toBe(1);
      expect(await v.verify(checks), `suite ${tc.cipher_suite}`).toEqual([true, false, false]);
      expect(
        checks.map((c) => suite.signature.verify(c.publicKey, c.message, c.signature)),
      ).toEqual([true, false, false]);
    }
  });

  it('after close() verifies on the calling thread, with the same answers', async () => {
    const scheme = makeSignatureScheme(0x0403, 'auto');
    const checks = checksFor(scheme, 0x0403);
    const want = checks.map((c) => scheme.verify(c.publicKey, c.message, c.signature));
    const v = createBatchVerifier(scheme, { workers: 2 });
    const pending = v.verify(checks);
    await v.close();
    expect(await pending).toEqual(want);
    expect(await v.verify(checks)).toEqual(want);
    await v.close();
  });

  it('leaves no handle open: a process that never closes its verifier still exits', () => {
    const module = fileURLToPath(new URL('../../src-core/crypto/batchVerify.ts', import.meta.url));
    const suites = fileURLToPath(new URL('../../src-core/crypto/index.ts', import.meta.url));
    const script = `
      const { createBatchVerifier } = await import(${JSON.stringify(module)});
      const { cipherSuite } = await import(${JSON.stringify(suites)});
      const s = cipherSuite(1).signature;
      const kp = s.generateKeyPair();
      const m = new Uint8Array(100);
      const checks = Array.from({ length: 300 }, () => ({ publicKey: kp.publicKey, message: m, signature: s.sign(kp.privateKey, m) }));
      const v = createBatchVerifier(s, { workers: 2 });
      const ok = await v.verify(checks);
      if (v.workerCount !== 2 || !ok.every(Boolean)) process.exit(3);
      console.log('done');
    `;
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { timeout: 30_000, encoding: 'utf8' },
    );
    expect(out.trim()).toBe('done');
  });
});
