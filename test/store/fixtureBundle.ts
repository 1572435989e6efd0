/**
 * Bundles a test/store/fixtures/*.ts child script once (esbuild, which tsx brings) so that each
 * child starts in plain node in ~100 ms. The bundle goes under node_modules/.cache so that
 * classic-level (external: a native module) resolves from it.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';

export interface Bundle {
  readonly file: string;
  remove(): Promise<void>;
}

export async function bundleFixture(name: string): Promise<Bundle> {
  const cache = join(process.cwd(), 'node_modules', '.cache');
  await mkdir(cache, { recursive: true });
  const dir = await mkdtemp(join(cache, `parley-${name}-`));
  const file = join(dir, `${name}.mjs`);
  await build({
    entryPoints: [join(process.cwd(), `test/store/fixtures/${name}.ts`)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: file,
    external: ['classic-level'],
    logLevel: 'silent',
  });
  return { file, remove: () => rm(dir, { recursive: true, force: true }) };
}
