/**
 * Atomic batches under SIGKILL: a child process writes large batches (1,200 records each) and is
 * killed at a random moment, 15 times over one database. After each kill the database must
 * open, and every batch must be on disk entirely or not at all; every batch the child reported
 * committed must be there.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobHash, openStore, rawKeySource } from '../../src-core/store/index.js';
import type { Bundle } from './fixtureBundle.js';
import { bundleFixture } from './fixtureBundle.js';
import { removeTempDirs, tempDir } from './storeHarness.js';

const BATCH_ENTRIES = 600;
const KILLS = 15;

let writer: Bundle | undefined;

beforeAll(async () => {
  writer = await bundleFixture('crashWriter');
});

afterAll(async () => {
  await writer?.remove();
  await removeTempDirs();
});

interface Run {
  readonly committed: number[];
}

/** Kills the writer a random time after it is ready, or (afterFirst) after its first commit. */
function runAndKill(path: string, first: number, key: Buffer, afterFirst: boolean): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer!.file, path, String(first)], {
      env: { ...process.env, PARLEY_TEST_KEY: key.toString('hex') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const committed: number[] = [];
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n');
      out = lines.pop()!;
      for (const line of lines) {
        const arm = afterFirst
          ? line.startsWith('committed ') && committed.length === 0
          : line === 'ready';
        if (line.startsWith('committed ')) committed.push(Number(line.slice(10)));
        // Somewhere in the next few batches: while encrypting, in level's write, or between.
        if (arm) setTimeout(() => child.kill('SIGKILL'), randomInt(0, 600));
      }
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve({ committed });
      else reject(new Error(`writer exited ${code}: ${err.slice(0, 500)}`));
    });
  });
}

describe('atomic batches under SIGKILL', () => {
  it(`a store killed ${KILLS} times mid-write holds each batch whole or not at all`, async () => {
    const path = await tempDir();
    const key = randomBytes(32);
    let next = 0;
    const announced = new Set<number>();
    let emptyRuns = 0;
    for (let round = 0; round < KILLS; round++) {
      const run = await runAndKill(path, next, key, round % 2 === 1);
      for (const b of run.committed) announced.add(b);

      const store = await openStore({ path, keySource: rawKeySource(key), create: false });
      const markers = new Set<number>();
      for await (const [name] of store.namespace('done').entries()) markers.add(Number(name));
      for (const b of announced) expect(markers.has(b), `announced batch ${b}`).toBe(true);
      // The batches form a prefix 0..k-1 (each run starts after the last complete one).
      const sorted = [...markers].sort((a, b) => a - b);
      expect(sorted).toEqual(sorted.map((_, i) => i));
      // This run's batches: each whole (with a marker) or absent, including the one the kill
      // interrupted (the first without a marker).
      for (let b = next; b <= markers.size; b++) {
        const whole = markers.has(b);
        let entries = 0;
        for await (const entry of store.namespace(`crash-${b}`).entries()) {
          void entry;
          entries++;
        }
        const logged = (
          await (await store.log(`crash-log-${b}`)).page({ limit: 2 * BATCH_ENTRIES })
        ).length;
        expect([b, entries, logged, await store.blobs.has(blobHashOf(b))]).toEqual(
          whole ? [b, BATCH_ENTRIES, BATCH_ENTRIES, true] : [b, 0, 0, false],
        );
      }
      if (markers.size === next) emptyRuns++;
      next = markers.size;
      await store.close();
    }
    // Every other run is killed only after its first commit, so batches did accumulate.
    expect(next).toBeGreaterThanOrEqual(Math.floor(KILLS / 2));
    console.log(
      `${KILLS} kills: ${next} batches on disk, ${announced.size} announced before the kill, ${emptyRuns} runs killed before their first batch completed`,
    );
  });
});

function blobHashOf(b: number): Uint8Array {
  return blobHash(Buffer.from(`blob of batch ${b}`));
}
