// The `auto` backend without node:crypto (a browser bundle): the module must load and fall back to
// noble, synchronously, and interoperate with the node:crypto backend.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { activeBackend, cipherSuite } from '../../src-core/crypto/index.js';
import { hex, toHex } from '../support/shared.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cryptoDir = join(repo, 'src-core', 'crypto');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

describe('backend selection', () => {
  it('on Node, auto uses node:crypto and noble stays noble', () => {
    expect(activeBackend('auto')).toBe('node:crypto');
    expect(activeBackend('noble')).toBe('noble');
  });

  it('no crypto source imports a Node built-in at run time (only `import type`)', () => {
    for (const file of sourceFiles(cryptoDir)) {
      const src = readFileSync(file, 'utf8');
      const runtimeImports = src.match(/^import\s+(?!type\b)[^;]*from\s+'node:[^']+'/gm) ?? [];
      expect(runtimeImports, file).toEqual([]);
    }
  });

  it('without process.getBuiltinModule, auto falls back to noble and interoperates', () => {
    const cs = cipherSuite(1, { backend: 'auto' });
    const keys = cs.deriveHpkeKeyPair(new Uint8Array(32).fill(7));
    const sealed = cs.encryptWithLabel(
      keys.publicKey,
      'Test',
      new Uint8Array(0),
      new TextEncoder().encode('hi'),
    );
    const sig = cipherSuite(1).generateSignatureKeyPair();
    const signature = cs.signWithLabel(sig.privateKey, 'Test', Uint8Array.of(1, 2, 3));

    const dir = mkdtempSync(join(tmpdir(), 'parley-crypto-'));
    try {
      const script = join(dir, 'browserlike.mts');
      writeFileSync(
        script,
        `
// What a browser looks like to the backend probe: no getBuiltinModule.
Object.defineProperty(process, 'getBuiltinModule', { value: undefined });
const { activeBackend, cipherSuite } = await import(${JSON.stringify(pathToFileURL(join(cryptoDir, 'index.ts')).href)});
const h = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const x = (b: Uint8Array) => Buffer.from(b).toString('hex');
const cs = cipherSuite(1);
const input = JSON.parse(process.argv[2]!);
const kp = cs.deriveHpkeKeyPair(new Uint8Array(32).fill(7));
console.log(JSON.stringify({
  backend: activeBackend('auto'),
  same: cs === cipherSuite(1, { backend: 'noble' }),
  publicKey: x(kp.publicKey),
  opened: new TextDecoder().decode(cs.decryptWithLabel(kp.privateKey, 'Test', new Uint8Array(0), h(input.kemOutput), h(input.ciphertext))),
  verified: cs.verifyWithLabel(h(input.sigPub), 'Test', Uint8Array.of(1, 2, 3), h(input.signature)),
}));
`,
      );
      const arg = JSON.stringify({
        kemOutput: toHex(sealed.kemOutput),
        ciphertext: toHex(sealed.ciphertext),
        sigPub: toHex(sig.publicKey),
        signature: toHex(signature),
      });
      const run = spawnSync(process.execPath, ['--import', 'tsx', script, arg], {
        cwd: repo,
        encoding: 'utf8',
      });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const out = JSON.parse(run.stdout) as Record<string, unknown>;
      expect(out).toEqual({
        backend: 'noble',
        same: true,
        publicKey: toHex(keys.publicKey),
        opened: 'hi',
        verified: true,
      });
      expect(hex(out.publicKey as string)).toEqual(keys.publicKey);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
