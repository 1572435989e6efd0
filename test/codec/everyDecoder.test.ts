// Every Codec exported by src-core/codec and src-core/mls gets the hostile-input property: 10,000
// inputs each (random bytes, and fields of the official messages vectors mutated), and either a
// CodecError or a value that re-encodes to exactly the bytes read. Codecs are discovered, so a
// new wire structure is covered without anyone remembering to add it here.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, it } from 'vitest';
import { decode } from '../../src-core/codec/index.js';
import type { Codec } from '../../src-core/codec/index.js';
import { FUZZ_INPUTS, fuzzDecoder } from '../support/fuzz.js';
import { hex, readSharedJson } from '../support/shared.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

function isCodec(v: unknown): v is Codec<unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Partial<Codec<unknown>>;
  return typeof c.encode === 'function' && typeof c.decode === 'function';
}

const codecs = new Map<Codec<unknown>, string>();
for (const file of ['src-core/codec', 'src-core/mls'].flatMap((d) =>
  sourceFiles(resolve(root, d)),
)) {
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  for (const [name, value] of Object.entries(mod)) {
    if (isCodec(value) && !codecs.has(value)) codecs.set(value, `${relative(root, file)} ${name}`);
  }
}

// Seeds: every field of the messages vectors, offered to every codec; the ones it accepts are its.
const vectorFields = (
  readSharedJson('mls-test-vectors', 'messages.json') as Record<string, string>[]
)
  .flatMap((tc) => Object.values(tc))
  .map(hex);

function seedsFor(codec: Codec<unknown>): Uint8Array[] {
  const seeds: Uint8Array[] = [];
  for (const bytes of vectorFields) {
    try {
      decode(codec, bytes);
      seeds.push(bytes);
    } catch {
      // Not this structure.
    }
    if (seeds.length >= 40) break;
  }
  return seeds;
}

describe(`every exported decoder (${FUZZ_INPUTS} hostile inputs each)`, () => {
  it('found the wire structures', () => {
    if (codecs.size < 30) throw new Error(`only ${codecs.size} codecs discovered`);
  });
  for (const [codec, name] of codecs) {
    it(name, () => fuzzDecoder({ codec, seeds: seedsFor(codec) }));
  }
});
