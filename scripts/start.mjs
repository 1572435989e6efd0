// `npm start`: the desktop app where Electron's binary is present, otherwise directions to the
// browser mode (`npm run web`), with a non-zero exit.
//
// The binary is found the way node_modules/electron/index.js finds it (path.txt, then dist/),
// but without requiring that module: when the binary is missing, require('electron') tries to
// download it, which here means a long network failure instead of a clear message.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { URL, fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

function electronBinary() {
  let pkgDir;
  try {
    pkgDir = dirname(require.resolve('electron/package.json'));
  } catch {
    return { path: null, why: 'the electron package is not installed' };
  }
  const pathFile = join(pkgDir, 'path.txt');
  const relative = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : '';
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  if (override) {
    const path = join(override, relative || 'electron');
    return existsSync(path) ? { path } : { path: null, why: `no binary at ${path}` };
  }
  if (relative === '') {
    return { path: null, why: "the electron package's binary was never downloaded" };
  }
  const path = join(pkgDir, 'dist', relative);
  return existsSync(path) ? { path } : { path: null, why: `no binary at ${path}` };
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const electron = electronBinary();
if (electron.path === null) {
  console.error(
    [
      `Parley: Electron's binary is absent (${electron.why}), so the desktop app cannot start here.`,
      '',
      'Use browser mode instead, with the same UI:',
      '',
      '    npm run web',
      '',
      'It runs `parley serve` on 127.0.0.1 and prints an address with a one-time token; open',
      'it in a browser on this machine.',
      '',
      'To run the desktop app, install Electron with its binary (npm install without',
      'ELECTRON_SKIP_BINARY_DOWNLOAD) or set ELECTRON_OVERRIDE_DIST_PATH to a folder holding it.',
    ].join('\n'),
  );
  process.exit(1);
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
if (!existsSync(join(root, 'dist', 'renderer', 'index.html'))) run(npm, ['run', 'build:renderer']);
run(process.execPath, [join(root, 'scripts', 'build-main.mjs')]);

const child = spawn(electron.path, [root, ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => child.kill(signal));
}
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
