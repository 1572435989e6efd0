/**
 * The command's global settings: which profile folder, which network configuration, and the
 * passphrase. The passphrase is never a flag (it would sit in the process list and the shell
 * history): it comes from PARLEY_PASSPHRASE or is typed at a prompt that does not echo.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { NetConfig } from '../net/index.js';
import { defaultNetConfig, loopbackNetConfig } from '../net/index.js';
import { CliError } from './errors.js';

export interface GlobalOptions {
  profile?: string;
  json?: boolean;
  listen?: string[];
  /** In-process peer: how long to wait for a contact to be online before a change (ms). */
  wait?: number;
  /** In-process peer: how long to stay online after a change (ms). */
  linger?: number;
  /** How long to wait for the network to confirm (a fetch, ...) (ms). */
  timeout?: number;
}

/** The platform's per-user data folder + `/parley`. */
export function defaultProfileDir(): string {
  const home = homedir();
  if (process.platform === 'win32') {
    return join(process.env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'parley');
  }
  if (process.platform === 'darwin') return join(home, 'Library', 'Application Support', 'parley');
  const xdg = process.env.XDG_DATA_HOME;
  return join(xdg !== undefined && xdg !== '' ? xdg : join(home, '.local', 'share'), 'parley');
}

export function profileDirOf(o: GlobalOptions): string {
  const env = process.env.PARLEY_PROFILE;
  return resolve(o.profile ?? (env !== undefined && env !== '' ? env : defaultProfileDir()));
}

const LOOPBACK_ADDR = /^\/(ip4\/127\.\d{1,3}\.\d{1,3}\.\d{1,3}|ip6\/::1)\//;

/**
 * The desktop defaults, or the given listen addresses. A peer told to listen on loopback only
 * is a loopback peer: no mDNS, no WebRTC or relay, and invite codes that carry the loopback
 * addresses (otherwise they would carry none).
 */
export function netConfigOf(o: GlobalOptions): NetConfig {
  const listen = o.listen ?? [];
  if (listen.length === 0) return defaultNetConfig();
  try {
    if (listen.every((a) => LOOPBACK_ADDR.test(a))) return loopbackNetConfig({ listen });
    return defaultNetConfig({ listen });
  } catch (cause) {
    throw new CliError('usage', `--listen: not a usable multiaddr`, { cause });
  }
}

/** Reads a line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolvePromise, reject) => {
    process.stderr.write(question);
    const chars: string[] = [];
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const done = (error?: Error): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (error) reject(error);
      else resolvePromise(chars.join(''));
    };
    const onData = (data: string): void => {
      for (const ch of data) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        if (ch === '\u0003') return done(new CliError('usage', 'cancelled'));
        if (ch === '\u007f' || ch === '\b') chars.pop();
        else chars.push(ch);
      }
    };
    stdin.on('data', onData);
  });
}

/**
 * The passphrase: PARLEY_PASSPHRASE, or a prompt on a terminal (asked twice when `confirm`, as
 * for a new profile). Nowhere to get one from is a clear error, not a hang.
 */
export async function readPassphrase(confirm: boolean): Promise<string> {
  const env = process.env.PARLEY_PASSPHRASE;
  if (env !== undefined && env !== '') return env;
  if (!process.stdin.isTTY) {
    throw new CliError(
      'passphrase_required',
      'a passphrase is needed: set PARLEY_PASSPHRASE or run in a terminal',
    );
  }
  const first = await promptHidden('Passphrase: ');
  if (first === '') throw new CliError('usage', 'the passphrase is empty');
  if (confirm && (await promptHidden('Passphrase again: ')) !== first) {
    throw new CliError('usage', 'the passphrases differ');
  }
  return first;
}
