/** `parley daemon` and `parley serve`: long-running peers with the control channel. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { ParleyEvent } from '../../app/api.js';
import type { ParleyApp } from '../../app/parleyApp.js';
import type { ControlServer } from '../control.js';
import { startControl } from '../control.js';
import type { Env } from '../env.js';
import { envOf, positiveInt } from '../env.js';
import { CliError } from '../errors.js';
import { formatEvent } from '../format.js';
import { profileDirOf, readPassphrase } from '../options.js';
import { newApp, unlockLocal } from '../peer.js';
import type { StaticServer } from '../staticServer.js';
import { startStaticServer } from '../staticServer.js';
import { untilSignal } from './messages.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const DEFAULT_RENDERER = join(REPO_ROOT, 'dist', 'renderer');

/** Logs the app's events, then waits for SIGINT/SIGTERM and takes everything down in order. */
async function runUntilSignal(
  env: Env,
  app: ParleyApp,
  parts: { control: ControlServer; web?: StaticServer },
): Promise<void> {
  const off = app.onEvent((e: ParleyEvent) => env.out.event(e.event, e.data, formatEvent(e)));
  const signal = await untilSignal();
  env.out.notice(`${signal}: shutting down`);
  off();
  await parts.web?.close();
  await parts.control.close();
  await app.close();
  env.out.event('stopped', { signal }, 'stopped');
}

async function readyLine(env: Env, app: ParleyApp, extra: Record<string, unknown>, human: string) {
  const status = (await app.profile.status()).state;
  const net = status === 'unlocked' ? await app.network.status() : null;
  env.out.event(
    'ready',
    {
      pid: process.pid,
      profile: status,
      peerId: net?.peerId ?? null,
      listenAddrs: net?.listenAddrs ?? [],
      ...extra,
    },
    `${human}${net ? `\npeer ${net.peerId} on ${net.listenAddrs.join(', ')}` : ''}`,
  );
}

/** The app answered or emitted something its schema refuses: logged (the caller saw `internal`). */
function violation(env: Env): (where: string) => void {
  return (where) =>
    env.out.event('contract_violation', { where }, `app contract violation in ${where}`);
}

export function registerRun(program: Command): void {
  program
    .command('daemon')
    .description(
      'an always-on peer: stores and forwards for its groups; commands of this profile use it',
    )
    .action(async (_o: unknown, cmd: Command) => {
      const env = envOf(cmd);
      const profileDir = profileDirOf(env.g);
      const app = newApp(env.g);
      let control: ControlServer | undefined;
      try {
        await unlockLocal(app);
        control = await startControl(profileDir, app, { onContractViolation: violation(env) });
      } catch (error) {
        await app.close();
        throw error;
      }
      await readyLine(env, app, {}, `parley daemon running for ${profileDir} (pid ${process.pid})`);
      await runUntilSignal(env, app, { control });
    });

  program
    .command('serve')
    .description('run the peer and the browser UI on 127.0.0.1; prints the address to open')
    .option(
      '--port <port>',
      'HTTP port of the UI (default: any free one)',
      positiveInt('--port'),
      0,
    )
    .option('--renderer <dir>', 'the built renderer (default: dist/renderer)', DEFAULT_RENDERER)
    .action(async (o: { port: number; renderer: string }, cmd: Command) => {
      const env = envOf(cmd);
      const root = resolve(o.renderer);
      if (!existsSync(join(root, 'index.html'))) {
        throw new CliError(
          'renderer_missing',
          `no renderer build in ${root}: run \`npm run build:renderer\` first`,
        );
      }
      const profileDir = profileDirOf(env.g);
      const app = newApp(env.g);
      let web: StaticServer | undefined;
      let control: ControlServer | undefined;
      try {
        const state = (await app.profile.status()).state;
        // A profile is unlocked here when a passphrase is at hand; otherwise the page asks
        // (first run creates the profile, a locked one shows the unlock screen).
        if (state === 'locked' && (process.env.PARLEY_PASSPHRASE || process.stdin.isTTY)) {
          await app.profile.unlock({ passphrase: await readPassphrase(false) });
        }
        web = await startStaticServer(root, o.port);
        const origin = `http://127.0.0.1:${web.port}`;
        control = await startControl(profileDir, app, {
          allowedOrigins: [origin],
          onContractViolation: violation(env),
        });
        web.setRpcPort(control.rpc.port);
        const url = `${origin}/#token=${control.rpc.issueToken()}&ws=${control.rpc.port}`;
        await readyLine(env, app, { url }, `Open ${url}\n(the link works once; keep it private)`);
      } catch (error) {
        await web?.close();
        await control?.close();
        await app.close();
        throw error;
      }
      await runUntilSignal(env, app, { control, web });
    });
}
