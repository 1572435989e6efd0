/**
 * Real `parley` processes for the CLI tests: `node bin/parley.mjs` (tsx) with a temp profile each,
 * listening on 127.0.0.1 port 0. `run` waits for a command to exit; `start` keeps a daemon or
 * serve running and hands back its JSON lines as they come.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '..', '..');
const BIN = join(REPO, 'bin', 'parley.mjs');
export const LOOPBACK = ['--listen', '/ip4/127.0.0.1/tcp/0'];
export const PASS = 'correct horse battery staple';

const dirs: string[] = [];
const running = new Set<Running>();

export async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'parley-cli-'));
  dirs.push(d);
  return d;
}

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout's lines parsed as JSON (only meaningful with --json). */
  lines: Record<string, unknown>[];
}

function envWith(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PARLEY_PASSPHRASE: PASS, ...extra };
  for (const [k, v] of Object.entries(extra)) if (v === undefined) delete env[k];
  return env;
}

function parseLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export function run(
  profile: string,
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<Result> {
  const child = spawn(process.execPath, [BIN, '--profile', profile, ...LOOPBACK, ...args], {
    env: envWith(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((res, rej) => {
    child.on('error', rej);
    child.on('close', (code) => res({ code, stdout, stderr, lines: parseLines(stdout) }));
  });
}

/** Runs a --json command that must succeed and returns its result. */
export async function ok<T = unknown>(profile: string, args: string[]): Promise<T> {
  const r = await run(profile, ['--json', ...args]);
  if (r.code !== 0) {
    throw new Error(`parley ${args.join(' ')} exited ${r.code}: ${r.stdout}${r.stderr}`);
  }
  const result = r.lines.find((l) => 'result' in l);
  if (result === undefined) throw new Error(`parley ${args.join(' ')}: no result line`);
  return result.result as T;
}

export class Running {
  readonly lines: Record<string, unknown>[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  #waiters: (() => void)[] = [];

  constructor(readonly child: ChildProcess) {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      this.lines.push(...parseLines(parts.join('\n')));
      for (const w of this.#waiters.splice(0)) w();
    });
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((res) =>
      child.on('close', (code) => {
        running.delete(this);
        res(code);
        for (const w of this.#waiters.splice(0)) w();
      }),
    );
  }

  /** The first line (seen so far or later) that `pred` accepts; fails if the process exits first. */
  async line(
    pred: (l: Record<string, unknown>) => boolean,
    what: string,
  ): Promise<Record<string, unknown>> {
    for (;;) {
      const found = this.lines.find(pred);
      if (found !== undefined) return found;
      if (this.child.exitCode !== null) {
        throw new Error(`process exited (${this.child.exitCode}) before ${what}: ${this.stderr}`);
      }
      await new Promise<void>((res) => this.#waiters.push(res));
    }
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}

export function start(profile: string, args: string[], listen: string[] = LOOPBACK): Running {
  const child = spawn(process.execPath, [BIN, '--profile', profile, '--json', ...listen, ...args], {
    env: envWith({}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const r = new Running(child);
  running.add(r);
  return r;
}

export const isEvent = (name: string) => (l: Record<string, unknown>) => l.event === name;

export async function cleanup(): Promise<void> {
  await Promise.all([...running].map((r) => r.stop()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}
