/** What every command gets: the global options, the output, and the peer it talks to. */
import type { Command } from 'commander';
import type { GlobalOptions } from './options.js';
import { Output } from './output.js';
import type { Peer } from './peer.js';
import { openPeer } from './peer.js';

export interface Env {
  readonly g: GlobalOptions;
  readonly out: Output;
}

export function envOf(cmd: Command): Env {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  return { g, out: new Output(g.json === true) };
}

/** Runs `fn` with the profile's peer (daemon or in-process) and always lets go of it. */
export async function withPeer<T>(env: Env, fn: (peer: Peer) => Promise<T>): Promise<T> {
  const peer = await openPeer(env.g);
  try {
    return await fn(peer);
  } finally {
    await peer.close();
  }
}

export function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a whole number`);
    return n;
  };
}
