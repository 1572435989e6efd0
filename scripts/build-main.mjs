// Builds src-main for Electron: dist/src-main/main.js and core.js (ESM; packages stay in
// node_modules, so the native ones load from app.asar.unpacked) and preload.cjs (one CommonJS
// file: a sandboxed preload can require nothing but 'electron').
import { build } from 'esbuild';
import { URL, fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/src-main`;
const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node22',
  external: ['electron'],
  logLevel: 'warning',
  legalComments: 'none',
};

await build({
  ...common,
  entryPoints: ['src-main/main.ts', 'src-main/core.ts'],
  outdir,
  format: 'esm',
  packages: 'external',
});
await build({
  ...common,
  entryPoints: ['src-main/preload.ts'],
  outfile: `${outdir}/preload.cjs`,
  format: 'cjs',
});
