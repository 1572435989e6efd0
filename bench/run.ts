// `npm run bench [-- name ...]`: runs every suite in bench/suites (or the named ones) in sequence
// and prints each suite's table. Suites compare Parley with ts-mls side by side where both exist.
import { readdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import '../src-core/polyfill.js';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const names = readdirSync(resolve(here, 'suites'))
  .filter((n) => n.endsWith('.ts'))
  .map((n) => n.slice(0, -3))
  .sort()
  .filter((n) => wanted.length === 0 || wanted.includes(n));

console.log(`node ${process.version}, ${process.platform}/${process.arch}`);
for (const name of names) {
  const mod = (await import(pathToFileURL(resolve(here, 'suites', `${name}.ts`)).href)) as {
    default: () => Promise<void>;
  };
  console.log(`\n## ${name}\n`);
  await mod.default();
}
