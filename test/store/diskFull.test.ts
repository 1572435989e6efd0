/**
 * A full disk, for real: a child process in its own user and mount namespace (unshare -Urm, no
 * root needed) mounts an 8 MiB tmpfs, fills it with batches until the store fails, and checks
 * that the error is disk_full and that after space is freed the database opens with exactly the
 * batches that were reported committed. Where user namespaces are not allowed the test fails and
 * says so (it must not pass quietly); the error mapping itself is also covered by aead.test.ts
 * ("level error mapping").
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle } from './fixtureBundle.js';
import { bundleFixture } from './fixtureBundle.js';
import { removeTempDirs, tempDir } from './storeHarness.js';

const canUnshare =
  process.platform === 'linux' &&
  spawnSync('unshare', ['-Urm', 'sh', '-c', 'mount -t tmpfs -o size=1m tmpfs /tmp && true'], {
    stdio: 'ignore',
  }).status === 0;

let child: Bundle | undefined;

beforeAll(async () => {
  if (canUnshare) child = await bundleFixture('diskFull');
});

afterAll(async () => {
  await child?.remove();
  await removeTempDirs();
});

interface Report {
  readonly failure?: { code: string; message: string };
  readonly committed: number;
  readonly marked: number;
  readonly blobsIntact: boolean;
}

describe('a full disk', () => {
  it('is disk_full; the committed batches survive, the failed one is absent', async () => {
    if (!canUnshare) {
      throw new Error(
        'this test needs user and mount namespaces (`unshare -Urm` with a tmpfs mount); this machine refuses them',
      );
    }
    const dir = await tempDir();
    const script = 'mount -t tmpfs -o size=8m tmpfs "$1" && exec "$2" "$3" "$1"';
    const proc = spawn(
      'unshare',
      ['-Urm', 'sh', '-c', script, 'sh', dir, process.execPath, child!.file],
      {
        env: { ...process.env, PARLEY_TEST_KEY: randomBytes(32).toString('hex') },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
    expect(code, err.slice(0, 1000)).toBe(0);
    const report = JSON.parse(out.trim().split('\n').pop()!) as Report;
    console.log(`disk full after ${report.committed} batches: ${report.failure?.message}`);
    expect(report.failure?.code, report.failure?.message).toBe('disk_full');
    expect(report.committed).toBeGreaterThan(10);
    expect(report.marked).toBe(report.committed);
    expect(report.blobsIntact).toBe(true);
  });
});
