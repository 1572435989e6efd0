/**
 * The crash test's victim process: test/app/support/crashVictim.ts bundled once with esbuild (it
 * then starts in plain node, without tsx) and forked with an IPC channel, over which the app's own
 * RPC layer carries the app API. `Victim.kill()` is a SIGKILL: no close, no flush, no unlock
 * cleanup. `prefork()` starts the next process (module loading is most of its start) before the
 * current one dies; it opens nothing until it is told to unlock.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { PortLike } from '../../../src-core/app/rpc/channel.js';
import { portChannel } from '../../../src-core/app/rpc/channel.js';
import type { ParleyClient } from '../../../src-core/app/rpc/client.js';
import { createClient } from '../../../src-core/app/rpc/client.js';

export interface VictimBundle {
  readonly file: string;
  remove(): Promise<void>;
}

export async function bundleVictim(): Promise<VictimBundle> {
  const cache = join(process.cwd(), 'node_modules', '.cache');
  await mkdir(cache, { recursive: true });
  const dir = await mkdtemp(join(cache, 'parley-crashVictim-'));
  const file = join(dir, 'crashVictim.mjs');
  await build({
    entryPoints: [join(process.cwd(), 'test/app/support/crashVictim.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: file,
    // classic-level is a native module: resolved from node_modules, next to the bundle's folder.
    external: ['classic-level'],
    // Some bundled CommonJS dependencies call require(): give the ES module one.
    banner: {
      js: "import { createRequire as __parleyRequire } from 'node:module'; const require = __parleyRequire(import.meta.url);",
    },
    logLevel: 'silent',
  });
  return { file, remove: () => rm(dir, { recursive: true, force: true }) };
}

export class Victim {
  readonly client: ParleyClient;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr = '';

  private constructor(readonly child: ChildProcess) {
    const port: PortLike = {
      // A call made after the kill: the client fails it when the exit closes the channel.
      postMessage: (m) => {
        if (child.connected) child.send(m, () => undefined);
      },
      onmessage: null,
    };
    child.on('error', () => undefined);
    child.on('message', (data: unknown) => {
      if (data !== 'ready') port.onmessage?.({ data });
    });
    this.client = createClient(portChannel(port));
    this.exited = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal })));
    void this.exited.then(() => this.client.close());
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-20_000);
    });
  }

  /** Forks a victim on `profileDir`; resolves once its RPC server listens. */
  static async start(bundle: VictimBundle, profileDir: string): Promise<Victim> {
    const child = fork(bundle.file, [profileDir], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    });
    const v = new Victim(child);
    await new Promise<void>((res, rej) => {
      child.once('message', () => res());
      child.once('exit', (code) => rej(new Error(`victim exited ${code}: ${v.stderr}`)));
    });
    return v;
  }

  /** SIGKILL, and wait for the process to be gone (its database lock is released with it). */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
    }
    await this.exited;
  }

  /** A clean end: the victim closes its app when the IPC channel goes. */
  async stop(): Promise<void> {
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}
