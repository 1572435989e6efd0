/**
 * The control channel between `parley <command>` and a running `parley daemon` or `parley serve`
 * of the same profile. Only one process can hold a profile's database, so while a daemon runs,
 * commands talk to it instead of opening the profile themselves.
 *
 * The daemon serves the app API on the loopback WebSocket of rpc/wsServer.ts (127.0.0.1, port 0,
 * browser origins refused unless `serve` allows its own page). It trades a one-time token for a
 * session itself and writes `{url, session}` to `<profile>/control.json`, created with mode 0600
 * in the profile folder: whoever can read the file is the user who owns the profile (the same
 * trust as the database files beside it). Commands resume that session; nothing else accepts it.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import type { ParleyApi } from '../app/api.js';
import { AppError } from '../app/errors.js';
import type { ParleyClient } from '../app/rpc/client.js';
import { connectWebSocket } from '../app/rpc/client.js';
import type { RpcWebSocketServer } from '../app/rpc/wsServer.js';
import { startWebSocketServer } from '../app/rpc/wsServer.js';
import { CliError } from './errors.js';

const CONTROL_FILE = 'control.json';

interface ControlRecord {
  v: 1;
  pid: number;
  url: string;
  session: string;
}

function controlPath(profileDir: string): string {
  return join(profileDir, CONTROL_FILE);
}

function parseRecord(text: string): ControlRecord | null {
  try {
    const r = JSON.parse(text) as Partial<ControlRecord>;
    if (
      r.v === 1 &&
      typeof r.pid === 'number' &&
      typeof r.url === 'string' &&
      /^ws:\/\/127\.0\.0\.1:\d{1,5}\/$/.test(r.url) &&
      typeof r.session === 'string'
    ) {
      return r as ControlRecord;
    }
  } catch {
    // A torn or foreign file reads as no daemon; the daemon rewrites it when it starts.
  }
  return null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readRecord(profileDir: string): Promise<ControlRecord | null> {
  let text: string;
  try {
    text = await readFile(controlPath(profileDir), 'utf8');
  } catch {
    return null;
  }
  return parseRecord(text);
}

/**
 * A client of the daemon of this profile, or null when none runs (no file, or the process that
 * wrote it is gone). A daemon that runs but does not answer is `unavailable`.
 */
export async function connectDaemon(profileDir: string): Promise<ParleyClient | null> {
  const record = await readRecord(profileDir);
  if (record === null || !alive(record.pid)) return null;
  const socket = new WebSocket(record.url);
  try {
    const { client } = await connectWebSocket(socket, { session: record.session });
    return client;
  } catch (error) {
    socket.terminate();
    if (!alive(record.pid)) return null;
    if (error instanceof AppError) throw error;
    throw new AppError('unavailable', 'the daemon of this profile does not answer');
  }
}

export interface ControlServer {
  readonly rpc: RpcWebSocketServer;
  close(): Promise<void>;
}

/** Serves `api` for commands (and pages of `allowedOrigins`) and publishes the control file. */
export async function startControl(
  profileDir: string,
  api: ParleyApi,
  options: {
    port?: number;
    allowedOrigins?: readonly string[];
    /** Told when the app broke its own contract (the caller only saw `internal`, or no event). */
    onContractViolation?: (where: string) => void;
  } = {},
): Promise<ControlServer> {
  const existing = await readRecord(profileDir);
  if (existing !== null && existing.pid !== process.pid && alive(existing.pid)) {
    throw new CliError('daemon_running', `a daemon of this profile runs (pid ${existing.pid})`);
  }
  const rpc = await startWebSocketServer({
    api,
    host: '127.0.0.1',
    port: options.port ?? 0,
    allowedOrigins: options.allowedOrigins ?? [],
    onContractViolation: (where) => options.onContractViolation?.(where),
  });
  try {
    const socket = new WebSocket(rpc.url);
    const { client, session } = await connectWebSocket(socket, { token: rpc.issueToken() });
    client.close();
    const record: ControlRecord = { v: 1, pid: process.pid, url: rpc.url, session };
    // `serve` may run before `init` (the UI's first run creates the profile): make its folder.
    await mkdir(profileDir, { recursive: true, mode: 0o700 });
    const tmp = `${controlPath(profileDir)}.${process.pid}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify(record));
      await fh.chmod(0o600);
    } finally {
      await fh.close();
    }
    await rename(tmp, controlPath(profileDir));
  } catch (error) {
    await rpc.close();
    throw error;
  }
  return {
    rpc,
    async close() {
      const current = await readRecord(profileDir);
      if (current !== null && current.pid === process.pid) {
        await rm(controlPath(profileDir), { force: true });
      }
      await rpc.close();
    },
  };
}
