/**
 * Every official vector file and who checks it. A check module in ./checks/ exports a
 * `VectorCheck`; files without one are listed as pending with the issue that will cover them,
 * so nothing is skipped silently.
 */
import { readdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readSharedJson } from '../support/shared.js';

export interface VectorCheck<Case = never> {
  /** Path below shared/, e.g. `mls-test-vectors/tree-math.json`. */
  readonly file: string;
  /** A short name for one case, used in failure reports. */
  label(tc: Case, index: number): string;
  /** Throws (with a message saying what differed) if the case does not verify. */
  check(tc: Case): void;
}

export interface VectorFile {
  readonly file: string;
  /** Set when no check exists yet: which issue covers it. */
  readonly pending?: string;
  readonly check?: VectorCheck<unknown>;
}

const PENDING: Record<string, string> = {};

const here = dirname(fileURLToPath(import.meta.url));

export const ALL_VECTOR_FILES: readonly string[] = [
  'hpke-test-vectors/rfc9180-test-vectors.json',
  ...[
    'crypto-basics',
    'deserialization',
    'tree-math',
    'key-schedule',
    'secret-tree',
    'message-protection',
    'transcript-hashes',
    'psk_secret',
    'tree-validation',
    'tree-operations',
    'treekem',
    'welcome',
    'messages',
    'passive-client-welcome',
    'passive-client-handling-commit',
    'passive-client-random',
  ].map((n) => `mls-test-vectors/${n}.json`),
];

export async function loadRegistry(): Promise<VectorFile[]> {
  const checks = new Map<string, VectorCheck<unknown>>();
  for (const name of readdirSync(resolve(here, 'checks')).sort()) {
    if (!/\.ts$/.test(name)) continue;
    const mod = (await import(pathToFileURL(resolve(here, 'checks', name)).href)) as {
      default: VectorCheck<unknown>;
    };
    checks.set(mod.default.file, mod.default);
  }
  return ALL_VECTOR_FILES.map((file) => {
    const check = checks.get(file);
    if (check) return { file, check };
    return { file, pending: PENDING[file] ?? 'no check written yet' };
  });
}

export function loadCases(file: string): unknown[] {
  const data = readSharedJson(file);
  if (!Array.isArray(data)) throw new Error(`${file}: expected a JSON array`);
  return data;
}
