/**
 * `npm start` spawned for real. Without Electron's binary (this machine) it must say how to use
 * browser mode and fail; with a binary it builds src-main and runs it on the app folder. The
 * "binary" in the second case is a shell script standing in for Electron (not installable
 * here), found through ELECTRON_OVERRIDE_DIST_PATH as the real one would be.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const binaryPresent = existsSync(join(root, 'node_modules', 'electron', 'path.txt'));
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, ...extra };
  if (!('ELECTRON_OVERRIDE_DIST_PATH' in extra)) delete e.ELECTRON_OVERRIDE_DIST_PATH;
  return e;
}

describe('npm start', () => {
  it.skipIf(binaryPresent)(
    "without Electron's binary: prints the browser-mode directions, exits non-zero",
    () => {
      const result = spawnSync(npm, ['start', '--silent'], {
        cwd: root,
        env: env({}),
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(result.status).not.toBe(0);
      expect(result.status).not.toBeNull();
      expect(result.stderr).toContain("Electron's binary is absent");
      expect(result.stderr).toContain('npm run web');
      // It did not try to download the binary (require('electron') would have).
      expect(result.stdout + result.stderr).not.toMatch(/Downloading Electron/);
    },
  );

  it('with a binary: builds main, core and preload, then runs it on the app folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-fake-electron-'));
    dirs.push(dir);
    const record = join(dir, 'args.txt');
    const fake = join(dir, 'electron');
    writeFileSync(fake, `#!/bin/sh\nprintf '%s\\n' "$@" > '${record}'\nexit 7\n`);
    chmodSync(fake, 0o755);
    const result = spawnSync(npm, ['start', '--silent', '--', '--inspect-me'], {
      cwd: root,
      env: env({ ELECTRON_OVERRIDE_DIST_PATH: dir }),
      encoding: 'utf8',
      timeout: 120_000,
    });
    // The launcher passes Electron's exit code on.
    expect(result.status, result.stderr).toBe(7);
    const args = readFileSync(record, 'utf8').trim().split('\n');
    expect(args[0]!.replace(/\/$/, '')).toBe(root.replace(/\/$/, ''));
    expect(args.slice(1)).toEqual(['--inspect-me']);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main: string };
    expect(existsSync(join(root, pkg.main))).toBe(true);
    expect(existsSync(join(root, 'dist', 'src-main', 'core.js'))).toBe(true);
    // A sandboxed preload can require only 'electron': the bundle must need nothing else.
    const preload = readFileSync(join(root, 'dist', 'src-main', 'preload.cjs'), 'utf8');
    const requires = [...preload.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
    expect([...new Set(requires)]).toEqual(['electron']);
    expect(preload).toContain('exposeInMainWorld');
    expect(existsSync(join(root, 'dist', 'renderer', 'index.html'))).toBe(true);
    // electron-builder.yml packs exactly what the build made, and starts the same main.
    const builder = readFileSync(join(root, 'electron-builder.yml'), 'utf8');
    const packed = [...builder.matchAll(/^ {2}- (dist\/src-main\/\S+)$/gm)].map((m) => m[1]!);
    expect(packed.sort()).toEqual(
      ['dist/src-main/core.js', 'dist/src-main/main.js', 'dist/src-main/preload.cjs'].sort(),
    );
    for (const file of packed) expect(existsSync(join(root, file)), file).toBe(true);
    expect(builder).toContain(`extraMetadata:\n  main: ${pkg.main}\n`);
  });
});
