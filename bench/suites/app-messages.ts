// Application messages given one epoch's secrets (RFC 9420 §6.3, §9): PrivateMessage protect
// (sign, secret-tree key, AEAD, sender data) and unprotect (the reverse, with signature check), for
// 100-byte messages, at several group sizes. ts-mls does the same through a two-member group.
import { availableParallelism } from 'node:os';
import { cipherSuite } from '../../src-core/crypto/index.js';
import type { CipherSuite } from '../../src-core/crypto/index.js';
import {
  protectApplicationData,
  unprotectPrivateMessage,
  unprotectPrivateMessages,
} from '../../src-core/mls/framing/index.js';
import type { EpochFramingState, PrivateMessage } from '../../src-core/mls/framing/index.js';
import { WireFormat } from '../../src-core/mls/framing/index.js';
import type { GroupContext } from '../../src-core/mls/groupContext.js';
import { SecretTree } from '../../src-core/mls/secretTree.js';
import { formatUs, printTable } from '../harness.js';
import { tsMlsPair, tsMlsProtect, tsMlsSuite, tsMlsUnprotect } from '../tsmls.js';

const MESSAGES = 2000;
const PLAINTEXT = new Uint8Array(100).fill(0x61);

function epochState(
  suite: CipherSuite,
  leafCount: number,
  encryptionSecret: Uint8Array,
): EpochFramingState {
  const groupContext: GroupContext = {
    version: 1,
    cipherSuite: suite.id,
    groupId: new TextEncoder().encode('bench-group'),
    epoch: 7n,
    treeHash: new Uint8Array(suite.hash.size).fill(1),
    confirmedTranscriptHash: new Uint8Array(suite.hash.size).fill(2),
    extensions: [],
  };
  return {
    suite,
    groupContext,
    membershipKey: new Uint8Array(suite.hash.size).fill(3),
    senderDataSecret: new Uint8Array(suite.hash.size).fill(4),
    secretTree: new SecretTree(suite, encryptionSecret.slice(), leafCount),
  };
}

function perMessageUs(f: () => void): number {
  const t0 = performance.now();
  f();
  return ((performance.now() - t0) * 1000) / MESSAGES;
}

/** Median of three rounds of MESSAGES messages each (after a warm-up round), protect and unprotect. */
function parley(leafCount: number): { protect: number; unprotect: number } {
  const suite = cipherSuite(1);
  const signer = suite.generateSignatureKeyPair();
  const sender = leafCount - 1;
  const protects: number[] = [];
  const unprotects: number[] = [];
  // Round 0 warms the JIT and is not counted: the table is about the steady state.
  for (let round = 0; round < 4; round++) {
    const secret = suite.randomBytes(suite.hash.size);
    const mine = epochState(suite, leafCount, secret);
    const theirs = epochState(suite, leafCount, secret);
    const sent: PrivateMessage[] = [];
    const protectUs = perMessageUs(() => {
      for (let i = 0; i < MESSAGES; i++) {
        const { message } = protectApplicationData(
          mine,
          { leafIndex: sender, signaturePrivateKey: signer.privateKey },
          PLAINTEXT,
        );
        if (message.wireFormat !== WireFormat.privateMessage) throw new Error('not private');
        sent.push(message.privateMessage);
      }
    });
    const unprotectUs = perMessageUs(() => {
      for (const m of sent) unprotectPrivateMessage(theirs, m, () => signer.publicKey);
    });
    if (round > 0) {
      protects.push(protectUs);
      unprotects.push(unprotectUs);
    }
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[1]!;
  return { protect: median(protects), unprotect: median(unprotects) };
}

const SENDERS = 8;

/**
 * Batch receive (`unprotectPrivateMessages`): `size` messages from up to SENDERS members,
 * decrypted on this thread and verified on the worker pool; amortized wall time per message,
 * median of three rounds after a warm-up round (which also starts the workers).
 */
async function parleyBatch(leafCount: number, size: number): Promise<number> {
  const suite = cipherSuite(1);
  const signer = suite.generateSignatureKeyPair();
  const senders = Math.min(SENDERS, leafCount);
  const times: number[] = [];
  for (let round = 0; round < 4; round++) {
    const secret = suite.randomBytes(suite.hash.size);
    const mine = epochState(suite, leafCount, secret);
    const theirs = epochState(suite, leafCount, secret);
    const batch: PrivateMessage[] = [];
    for (let i = 0; i < size; i++) {
      const leafIndex = Math.floor(((i % senders) * leafCount) / senders);
      const { message } = protectApplicationData(
        mine,
        { leafIndex, signaturePrivateKey: signer.privateKey },
        PLAINTEXT,
      );
      if (message.wireFormat !== WireFormat.privateMessage) throw new Error('not private');
      batch.push(message.privateMessage);
    }
    const t0 = performance.now();
    const results = await unprotectPrivateMessages(
      theirs,
      batch,
      () => signer.publicKey,
      (ac) => ac,
    );
    const us = ((performance.now() - t0) * 1000) / size;
    if (results.some((r) => !r.ok)) throw new Error('a batch message was rejected');
    if (round > 0) times.push(us);
  }
  return times.sort((a, b) => a - b)[1]!;
}

async function tsMls(): Promise<{ protect: number; unprotect: number }> {
  const cs = await tsMlsSuite();
  let { alice, bob } = await tsMlsPair(cs);
  const n = 300;
  const sent = [];
  let t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const r = await tsMlsProtect(cs, alice, PLAINTEXT);
    alice = r.state;
    sent.push(r.message);
  }
  const protect = ((performance.now() - t0) * 1000) / n;
  t0 = performance.now();
  for (const m of sent) bob = await tsMlsUnprotect(cs, bob, m);
  const unprotect = ((performance.now() - t0) * 1000) / n;
  return { protect, unprotect };
}

export default async function appMessages(): Promise<void> {
  const ts = await tsMls();
  const rows: string[][] = [
    [
      'members',
      'Parley protect',
      'Parley unprotect',
      'ts-mls protect',
      'ts-mls unprotect',
      'ratio (ts-mls / Parley)',
    ],
  ];
  const batchRows: string[][] = [
    [
      'members',
      'Parley unprotect, one by one',
      'Parley batch of 100',
      'Parley batch of 1000',
      'ts-mls unprotect',
      'ratio (ts-mls / batch of 1000)',
    ],
  ];
  for (const n of [2, 1024, 65536]) {
    const p = parley(n);
    const both = n === 2;
    rows.push([
      String(n),
      formatUs(p.protect),
      formatUs(p.unprotect),
      both ? formatUs(ts.protect) : '-',
      both ? formatUs(ts.unprotect) : '-',
      both
        ? `${(ts.protect / p.protect).toFixed(1)}x / ${(ts.unprotect / p.unprotect).toFixed(1)}x`
        : '-',
    ]);
    const b100 = await parleyBatch(n, 100);
    const b1000 = await parleyBatch(n, 1000);
    batchRows.push([
      String(n),
      formatUs(p.unprotect),
      formatUs(b100),
      formatUs(b1000),
      both ? formatUs(ts.unprotect) : '-',
      both ? `${(ts.unprotect / b1000).toFixed(1)}x` : '-',
    ]);
  }
  printTable(rows);
  console.log(
    `\nsuite 1, 100-byte messages, ${MESSAGES} per round, median of 3 rounds; ts-mls: 300 messages.`,
  );
  console.log('\nBatch receive (unprotectPrivateMessages), amortized wall time per message:\n');
  printTable(batchRows);
  console.log(
    `\n${SENDERS} senders per batch, signatures verified on ${availableParallelism()} worker threads ` +
      'and this one; median of 3 rounds after a warm-up. ts-mls has no batch path: one by one.',
  );
}
