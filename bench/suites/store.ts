// The encrypted store (src-core/store): value encryption (ours vs noble XChaCha vs node
// AES-256-GCM), scrypt, message writes and reads per second, bytes on disk per stored message,
// and the time to open a profile with 100 groups and 100,000 stored messages to "ready" (header
// unlocked, every group's MLS state loaded and decoded, the last page of every history read).
// Databases live in a temp folder (OS page cache warm: dropping it needs root).
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { scrypt as nobleScrypt } from '@noble/hashes/scrypt.js';
import { createCipheriv, randomBytes, scryptSync } from 'node:crypto';
import { cp, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cipherSuite } from '../../src-core/crypto/index.js';
import { CredentialType } from '../../src-core/mls/credential.js';
import {
  createCommit,
  createGroup,
  createKeyPackage,
  sendApplicationMessage,
} from '../../src-core/mls/group/index.js';
import { ProposalType } from '../../src-core/mls/proposal.js';
import { seal } from '../../src-core/store/aead.js';
import { openStore, passphraseKeySource, rawKeySource } from '../../src-core/store/index.js';
import type { DatabaseKeySource, Store } from '../../src-core/store/index.js';
import { formatUs, measure, printTable } from '../harness.js';
import { formatMs, median } from '../group/timing.js';

const GROUPS = 100;
const MEMBERS = 10;
const MESSAGES = 100_000;
const MESSAGE_BYTES = 300; // an MLS PrivateMessage of a short text plus delivery metadata

function encryptionRows(): string[][] {
  const key = randomBytes(32);
  const aad = randomBytes(34);
  const rows = [
    [
      'value size',
      'store (HChaCha + node ChaCha20-Poly1305)',
      'noble xchacha20poly1305',
      'node AES-256-GCM',
    ],
  ];
  for (const size of [200, 4096, 65536]) {
    const data = randomBytes(size);
    const ours = measure(() => void seal(key, data, aad), 300);
    const noble = measure(
      () => void xchacha20poly1305(key, randomBytes(24), aad).encrypt(data),
      300,
    );
    const aes = measure(() => {
      const c = createCipheriv('aes-256-gcm', key, randomBytes(12));
      c.setAAD(aad);
      c.update(data);
      c.final();
      c.getAuthTag();
    }, 300);
    rows.push([
      `${size} B`,
      formatUs(ours.medianUs),
      formatUs(noble.medianUs),
      formatUs(aes.medianUs),
    ]);
  }
  return rows;
}

function scryptRow(): string[] {
  const params = { N: 2 ** 17, r: 8, p: 1 };
  let t = performance.now();
  scryptSync('passphrase', 'salt', 32, { ...params, maxmem: 256 * 1024 * 1024 });
  const node = performance.now() - t;
  t = performance.now();
  nobleScrypt('passphrase', 'salt', { ...params, dkLen: 32 });
  const noble = performance.now() - t;
  return ['scrypt N=2^17 r=8 p=1', formatMs(node), formatMs(noble)];
}

async function dirBytes(dir: string): Promise<number> {
  let n = 0;
  for (const f of await readdir(dir)) n += (await stat(join(dir, f))).size;
  return n;
}

async function timeIt<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const v = await fn();
  return [v, performance.now() - t];
}

async function messageRates(key: DatabaseKeySource, dir: string): Promise<string[][]> {
  const store = await openStore({ path: join(dir, 'rates'), keySource: key });
  const log = await store.log('rates');
  const msg = randomBytes(MESSAGE_BYTES);
  const rows = [['operation', 'messages/s', 'per message']];
  const rate = async (label: string, count: number, perTx: number, sync: boolean) => {
    const [, ms] = await timeIt(async () => {
      for (let i = 0; i < count; i += perTx) {
        const tx = store.transaction();
        for (let j = 0; j < perTx; j++) log.append(tx, msg);
        await tx.commit({ sync });
      }
    });
    rows.push([
      label,
      Math.round((count / ms) * 1000).toLocaleString('en'),
      formatUs((ms * 1000) / count),
    ]);
  };
  await rate('append, 1 per batch, fsync', 300, 1, true);
  await rate('append, 1 per batch, no fsync', 5000, 1, false);
  await rate('append, 100 per batch, fsync', 20_000, 100, true);
  const total = Number(log.nextSeq - 1n);
  const [, readMs] = await timeIt(async () => {
    for (let from = 1n; ;) {
      const page = await log.page({ from, limit: 100 });
      if (page.length < 100) break;
      from = page[page.length - 1]!.seq + 1n;
    }
  });
  rows.push([
    `read, pages of 100 (${total.toLocaleString('en')} entries)`,
    Math.round((total / readMs) * 1000).toLocaleString('en'),
    formatUs((readMs * 1000) / total),
  ]);
  await store.close();
  return rows;
}

/** 100 groups of MEMBERS members (real MLS states), 100,000 messages spread over their logs. */
async function populate(path: string, key: DatabaseKeySource): Promise<void> {
  const suite = cipherSuite(1);
  const client = (name: string) => ({
    credential: { credentialType: CredentialType.basic, identity: new TextEncoder().encode(name) },
    signature: suite.generateSignatureKeyPair(),
  });
  const store = await openStore({ path, keySource: key });
  for (let g = 0; g < GROUPS; g++) {
    const owner = client(`owner${g}`);
    let state = createGroup({
      suite,
      credential: owner.credential,
      signatureKeyPair: owner.signature,
    });
    const bundles = Array.from({ length: MEMBERS - 1 }, (_, i) => {
      const c = client(`g${g}m${i}`);
      return createKeyPackage({ suite, credential: c.credential, signatureKeyPair: c.signature });
    });
    state = createCommit(state, {
      proposals: bundles.map((b) => ({
        proposalType: ProposalType.add,
        add: { keyPackage: b.keyPackage },
      })),
    }).staged.merge();
    // Some traffic so the secret tree has a leaf ratchet to store, as a used group would.
    for (let i = 0; i < 3; i++) sendApplicationMessage(state, new Uint8Array(100));
    const groupId = state.groupContext.groupId;
    const log = await store.log(Buffer.from(groupId).toString('hex'));
    const tx = store.transaction();
    await store.groups.create(tx, groupId, state);
    for (let i = 0; i < MESSAGES / GROUPS; i++) log.append(tx, randomBytes(MESSAGE_BYTES));
    await tx.commit({ sync: false });
  }
  await store.db.compactRange(Uint8Array.of(0), Uint8Array.of(0xff));
  await store.close();
}

async function ready(
  path: string,
  key: DatabaseKeySource,
): Promise<{ store: Store; groups: number }> {
  const store = await openStore({ path, keySource: key, create: false });
  const ids = await store.groups.list();
  for (const id of ids) {
    await store.groups.load(id);
    await (
      await store.log(Buffer.from(id).toString('hex'))
    ).page({ direction: 'backward', limit: 50 });
  }
  return { store, groups: ids.length };
}

export default async function storeSuite(): Promise<void> {
  console.log('Value encryption (median per value):\n');
  printTable(encryptionRows());
  console.log('\nPassphrase stretching (one run each):\n');
  printTable([['', 'node:crypto', '@noble/hashes'], scryptRow()]);

  const dir = await mkdtemp(join(tmpdir(), 'parley-bench-store-'));
  try {
    const raw = rawKeySource(randomBytes(32));
    console.log(`\nMessages of ${MESSAGE_BYTES} B in one ordered log:\n`);
    printTable(await messageRates(raw, dir));

    const path = join(dir, 'profile');
    const [, populateMs] = await timeIt(() => populate(path, raw));
    const bytes = await dirBytes(path);
    console.log(
      `\nProfile: ${GROUPS} groups of ${MEMBERS} members, ${MESSAGES.toLocaleString('en')} messages of ${MESSAGE_BYTES} B (built in ${formatMs(populateMs)}, compacted): ${(bytes / 1024 / 1024).toFixed(1)} MiB on disk, ${(bytes / MESSAGES).toFixed(0)} B per stored message (${MESSAGE_BYTES} B plaintext + 41 B AEAD + key; group states included)\n`,
    );
    const samples: number[] = [];
    let groups = 0;
    for (let i = 0; i < 7; i++) {
      const [r, ms] = await timeIt(() => ready(path, raw));
      samples.push(ms);
      groups = r.groups;
      await r.store.close();
    }
    // The same profile behind a passphrase (scrypt N=2^17 once per open).
    const pass = join(dir, 'profile-pass');
    await copyWithPassphrase(path, pass, raw);
    const passSamples: number[] = [];
    for (let i = 0; i < 3; i++) {
      const [r, ms] = await timeIt(() => ready(pass, passphraseKeySource('bench passphrase')));
      passSamples.push(ms);
      await r.store.close();
    }
    printTable([
      ['open to ready (100 groups loaded, last page of each history)', 'median', 'min', 'runs'],
      [
        `raw / keychain key (${groups} groups)`,
        formatMs(median(samples)),
        formatMs(Math.min(...samples)),
        String(samples.length),
      ],
      [
        'passphrase (scrypt N=2^17 included)',
        formatMs(median(passSamples)),
        formatMs(Math.min(...passSamples)),
        String(passSamples.length),
      ],
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A copy of the profile whose key is sealed by a passphrase (only the header changes). */
async function copyWithPassphrase(from: string, to: string, key: DatabaseKeySource): Promise<void> {
  await cp(from, to, { recursive: true });
  const store = await openStore({ path: to, keySource: key, create: false });
  await store.changeKeySource(passphraseKeySource('bench passphrase'));
  await store.close();
}
