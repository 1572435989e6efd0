/**
 * BatchVerifier.verify({ help: false }): the calling thread leaves every chunk to the workers,
 * with the same answers; and it still gets them when there are no workers (none asked for, or
 * closed), since nobody else would verify the queue.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { SignatureCheck } from '../../src-core/crypto/batchVerify.js';
import { createBatchVerifier } from '../../src-core/crypto/batchVerify.js';
import { cipherSuite } from '../../src-core/crypto/index.js';

const scheme = cipherSuite(1).signature;

function checks(n: number): SignatureCheck[] {
  const { privateKey, publicKey } = scheme.generateKeyPair();
  return Array.from({ length: n }, (_, i) => {
    const message = new TextEncoder().encode(`message ${i}`);
    const signature = scheme.sign(privateKey, message);
    if (i % 7 === 3) signature[i % signature.length]! ^= 1;
    return { publicKey, message, signature };
  });
}

describe('BatchVerifier without the calling thread helping', () => {
  const all = checks(300);
  const want = all.map((c) => scheme.verify(c.publicKey, c.message, c.signature));

  it('gives the answers of scheme.verify, for chunks submitted one after another', async () => {
    const v = createBatchVerifier(scheme, { workers: 2 });
    try {
      const parts = [0, 64, 128, 192, 256].map((at) =>
        v.verify(all.slice(at, at + 64), { help: false }),
      );
      expect((await Promise.all(parts)).flat()).toEqual(want);
      expect(want.filter((ok) => !ok).length).toBeGreaterThan(0);
    } finally {
      await v.close();
    }
  });

  it('verifies on the calling thread when there are no workers, or they were closed', async () => {
    const none = createBatchVerifier(scheme, { workers: 0 });
    expect(await none.verify(all.slice(0, 100), { help: false })).toEqual(want.slice(0, 100));
    const closed = createBatchVerifier(scheme, { workers: 2 });
    expect(await closed.verify(all.slice(0, 10), { help: false })).toEqual(want.slice(0, 10));
    await closed.close();
    expect(await closed.verify(all.slice(100), { help: false })).toEqual(want.slice(100));
  });

  it('lets the process exit when some workers never got any work', () => {
    const module = fileURLToPath(new URL('../../src-core/crypto/batchVerify.ts', import.meta.url));
    const suites = fileURLToPath(new URL('../../src-core/crypto/index.ts', import.meta.url));
    // A module file, not -e: evaluated code exits without waiting for referenced handles.
    const dir = mkdtempSync(join(tmpdir(), 'parley-verify-'));
    const file = join(dir, 'exit.mts');
    writeFileSync(
      file,
      `
      const { createBatchVerifier } = await import(${JSON.stringify(module)});
      const { cipherSuite } = await import(${JSON.stringify(suites)});
      const s = cipherSuite(1).signature;
      const kp = s.generateKeyPair();
      const m = new Uint8Array(10);
      const c = { publicKey: kp.publicKey, message: m, signature: s.sign(kp.privateKey, m) };
      const v = createBatchVerifier(s, { workers: 3 });
      const ok = await v.verify([c], { help: false });
      if (!ok[0]) process.exit(3);
      console.log('done');
    `,
    );
    try {
      const out = execFileSync(process.execPath, ['--import', 'tsx', file], {
        timeout: 30_000,
        encoding: 'utf8',
      });
      expect(out.trim()).toBe('done');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
