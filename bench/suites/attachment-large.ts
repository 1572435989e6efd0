// A 2 GiB attachment end to end (issue 7: files of any size up to at least 2 GiB): Alice and Bob
// are ParleyApps in this process on 127.0.0.1 (one group of two). Alice sends a 2 GiB file from
// disk (read, chunked, each chunk sealed with the file key and stored in her encrypted store),
// Bob fetches every chunk from her over libp2p into his store, then saves the file to disk; the
// saved file's SHA-256 must equal the source's. Reported per phase: time, MB/s (10^6 bytes), and
// the process's peak RSS (both apps share the process, so it is the two together), sampled every
// 50 ms, with the OS's maxRSS at the end. Temp files and both profiles are deleted after.
//
// Only when named (`npm run bench -- attachment-large`): it writes ~8 GiB and takes minutes.
// PARLEY_BENCH_ATTACHMENT_MIB sets another size.
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { AttachmentsServiceImpl } from '../../src-core/app/attachmentsService.js';
import { ParleyApp } from '../../src-core/app/parleyApp.js';
import { loopbackNetConfig } from '../../src-core/net/index.js';
import { printTable } from '../harness.js';

const MIB = 1024 * 1024;
const SIZE_MIB = Number(process.env['PARLEY_BENCH_ATTACHMENT_MIB'] ?? 2048);
const PASS = 'bench passphrase, not a secret';

function newApp(profileDir: string): ParleyApp {
  return new ParleyApp({
    profileDir,
    keyProtection: 'passphrase',
    scryptLogN: 10,
    net: loopbackNetConfig(),
  });
}

async function until(cond: () => Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Writes `bytes` of random data in 8 MiB blocks; returns its SHA-256. */
async function writeRandomFile(path: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  const block = Buffer.alloc(8 * MIB);
  for (let done = 0; done < bytes;) {
    const n = Math.min(block.length, bytes - done);
    const part = block.subarray(0, n);
    randomFillSync(part);
    hash.update(part);
    if (!out.write(part)) await once(out, 'drain');
    done += n;
  }
  out.end();
  await once(out, 'finish');
  return hash.digest('hex');
}

async function fileHash(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MIB })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

interface Memory {
  rss: number;
  /** Anonymous (heap, buffers, malloc) and file-backed (mapped files) parts of RSS (Linux). */
  rssAnon: number;
  rssFile: number;
  arrayBuffers: number;
  heapUsed: number;
}

function statusKiB(status: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return m === null ? 0 : Number(m[1]) * 1024;
}

function memoryNow(): Memory {
  const u = process.memoryUsage();
  let status = '';
  try {
    status = readFileSync('/proc/self/status', 'latin1');
  } catch {
    // Not Linux: only the totals.
  }
  return {
    rss: u.rss,
    rssAnon: statusKiB(status, 'RssAnon'),
    rssFile: statusKiB(status, 'RssFile'),
    arrayBuffers: u.arrayBuffers,
    heapUsed: u.heapUsed,
  };
}

/** Runs `f`, sampling memory every 50 ms; the phase's time and the highest of each figure. */
async function phase(f: () => Promise<void>): Promise<{ ms: number; peak: Memory }> {
  const peak = memoryNow();
  const sample = (): void => {
    const m = memoryNow();
    for (const k of Object.keys(peak) as (keyof Memory)[]) peak[k] = Math.max(peak[k], m[k]);
  };
  const timer = setInterval(sample, 50);
  const t0 = performance.now();
  try {
    await f();
  } finally {
    clearInterval(timer);
  }
  sample();
  return { ms: performance.now() - t0, peak };
}

export default async function run(): Promise<void> {
  if (!process.argv.slice(2).includes('attachment-large')) {
    console.log('skipped: run `npm run bench -- attachment-large` (2 GiB, several minutes)');
    return;
  }
  const bytes = SIZE_MIB * MIB;
  const root = await mkdtemp(join(tmpdir(), 'parley-bench-attachment-'));
  const apps: ParleyApp[] = [];
  try {
    const alice = newApp(join(root, 'alice'));
    const bob = newApp(join(root, 'bob'));
    apps.push(alice, bob);
    await alice.profile.create({ displayName: 'Alice', deviceName: 'a', passphrase: PASS });
    await bob.profile.create({ displayName: 'Bob', deviceName: 'b', passphrase: PASS });
    const bobContact = await alice.contacts.addByInviteCode({
      code: (await bob.identity.me()).inviteCode,
    });
    await until(
      async () => (await alice.contacts.list()).some((c) => c.online),
      'Bob online for Alice',
    );
    const g = await alice.groups.create({ name: 'Files', members: [bobContact.userId] });
    await until(async () => (await bob.groups.list()).length === 1, 'Bob joined');

    const src = join(root, 'source.bin');
    const srcHash = await writeRandomFile(src, bytes);
    const rssBefore = process.memoryUsage().rss;

    let attachmentId = '';
    const upload = await phase(async () => {
      const sent = await alice.attachments.send({
        groupId: g.groupId,
        source: { kind: 'path', path: src },
      });
      attachmentId = sent.message.attachment!.attachmentId;
    });
    await until(
      async () => (await bob.messages.history({ groupId: g.groupId })).messages.length === 1,
      'the manifest at Bob',
    );
    const bobAtt = bob.attachments as AttachmentsServiceImpl;
    const download = await phase(async () => {
      const t = await bob.attachments.fetch({ groupId: g.groupId, attachmentId });
      const done = await bobAtt.settled({ transferId: t.transferId });
      if (done.state !== 'done') throw new Error(`download ${done.state}: ${done.failure}`);
    });
    const out = join(root, 'saved.bin');
    const save = await phase(() => bobAtt.saveTo({ attachmentId, path: out }));
    const same = (await fileHash(out)) === srcHash;
    if (!same) throw new Error('the saved file differs from the source');

    const mbs = (ms: number): string => ((bytes / 1e6) * (1000 / ms)).toFixed(1);
    const mib = (b: number): string => `${(b / MIB).toFixed(0)} MiB`;
    console.log(
      `${SIZE_MIB} MiB file, saved copy identical (SHA-256); RSS before the upload ${mib(rssBefore)}`,
    );
    const row = (name: string, p: { ms: number; peak: Memory }): string[] => [
      name,
      `${(p.ms / 1000).toFixed(1)} s`,
      mbs(p.ms),
      mib(p.peak.rss),
      mib(p.peak.rssAnon),
      mib(p.peak.rssFile),
      mib(p.peak.arrayBuffers),
      mib(p.peak.heapUsed),
    ];
    printTable([
      ['phase', 'time', 'MB/s', 'peak RSS', 'anon', 'file', 'arrayBuffers', 'heapUsed'],
      row('upload: read, seal, store (Alice)', upload),
      row('download over libp2p, store (Bob)', download),
      row('save to disk (Bob)', save),
    ]);
    console.log(`maxRSS (OS, whole run): ${mib(process.resourceUsage().maxRSS * 1024)}`);
  } finally {
    for (const a of apps) await a.close().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
}
