// Timing commits with a path, on both libraries, in a group from fixtures.ts: the committer (leaf
// n-2) creates a commit and encodes it; its sibling (leaf n-1, the newcomer) decodes and processes
// it. Each commit is created from the same state and discarded, so every sample is the same
// situation. Both sides must derive the same epoch authenticator, or the run stops.
import { performance } from 'node:perf_hooks';
import { encodeMlsMessage } from '../../src-core/mls/framing/mlsMessage.js';
import { createCommit, processMessage } from '../../src-core/mls/group/index.js';
import type { ParleyGroup, SetupTimes, TsMlsGroup } from './fixtures.js';
import type { Reps } from './timing.js';
import { equalBytes, formatMs, repeat } from './timing.js';
import { tsMlsCommit, tsMlsProcessCommit } from './tsmlsGroup.js';

export interface CommitSamples {
  readonly create: number[];
  readonly process: number[];
  /** Size of one encoded commit, in bytes. */
  bytes: number;
}

export async function parleyCommits(g: ParleyGroup, reps: Reps): Promise<CommitSamples> {
  const out: CommitSamples = { create: [], process: [], bytes: 0 };
  await repeat(reps, () => {
    let t0 = performance.now();
    const created = createCommit(g.committer, { path: 'always' });
    const bytes = encodeMlsMessage(created.commit);
    out.create.push(performance.now() - t0);
    out.bytes = bytes.length;
    t0 = performance.now();
    const received = processMessage(g.newcomer, bytes);
    out.process.push(performance.now() - t0);
    if (received.kind !== 'commit') throw new Error('expected a commit');
    if (!equalBytes(received.staged.epochAuthenticator(), created.staged.epochAuthenticator())) {
      throw new Error('committer and receiver derived different epochs');
    }
    received.staged.discard();
    created.staged.discard();
  });
  return out;
}

export interface TsMlsCommitSamples extends CommitSamples {
  /** Parley (the committer's state) processing the first ts-mls commit: the interop check. */
  readonly parleyProcessesTsMls: number;
}

/**
 * ts-mls creates `count` commits (the first one also goes to Parley), then processes `count`
 * Parley commits.
 */
export async function tsMlsCommits(g: TsMlsGroup, count: number): Promise<TsMlsCommitSamples> {
  const { cs } = g;
  const create: number[] = [];
  const process: number[] = [];
  let parleyProcessesTsMls = 0;
  let size = 0;
  for (let i = 0; i < count; i++) {
    let t0 = performance.now();
    const c = await tsMlsCommit(cs, g.newcomer);
    create.push(performance.now() - t0);
    size = c.bytes.length;
    if (i === 0) {
      // Every commit from the same ts-mls state uses the same handshake key generation, which a
      // receiver accepts once: only the first one goes to Parley.
      t0 = performance.now();
      const received = processMessage(g.committer, c.bytes);
      parleyProcessesTsMls = performance.now() - t0;
      if (received.kind !== 'commit') throw new Error('expected a commit');
      const auth = c.newState.keySchedule.epochAuthenticator;
      if (!equalBytes(received.staged.epochAuthenticator(), auth)) {
        throw new Error('Parley and ts-mls derived different epochs from the ts-mls commit');
      }
      received.staged.discard();
    }
  }
  for (let i = 0; i < count; i++) {
    const created = createCommit(g.committer, { path: 'always' });
    const bytes = encodeMlsMessage(created.commit);
    const t0 = performance.now();
    const next = await tsMlsProcessCommit(cs, g.newcomer, bytes);
    process.push(performance.now() - t0);
    if (!equalBytes(next.keySchedule.epochAuthenticator, created.staged.epochAuthenticator())) {
      throw new Error('ts-mls and Parley derived different epochs from the Parley commit');
    }
    created.staged.discard();
  }
  return { create, process, bytes: size, parleyProcessesTsMls };
}

/** "tree / add / join" setup times of a Parley group. */
export function setupCell(s: SetupTimes): string {
  const tree = s.treeCached ? 'cached' : formatMs(s.treeMs);
  return `${tree} / ${formatMs(s.addMs)} / ${formatMs(s.joinMs)}`;
}

export function kib(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${(bytes / (1024 * 1024)).toFixed(1)} MiB`
    : `${(bytes / 1024).toFixed(1)} KiB`;
}
