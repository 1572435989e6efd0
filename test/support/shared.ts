// Test data lives in ../shared/ beside the repository (never copied in). A missing folder is a
// failure with a clear message, never a silent skip.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function sharedDir(): string {
  const dir = process.env.PARLEY_SHARED_DIR ?? resolve(repoRoot, '..', 'shared');
  if (!existsSync(dir)) {
    throw new Error(
      `test data folder not found at ${dir}: the tests need the project's shared/ folder beside ` +
        'the repository (or PARLEY_SHARED_DIR pointing at it)',
    );
  }
  return dir;
}

export function readSharedJson(...parts: string[]): unknown {
  return JSON.parse(readFileSync(resolve(sharedDir(), ...parts), 'utf8')) as unknown;
}

export function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, 'hex'));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
