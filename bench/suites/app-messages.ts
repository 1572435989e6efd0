// Application messages given one epoch's secrets (RFC 9420 §6.3, §9): PrivateMessage protect
// (sign, secret-tree key, AEAD, sender data) and unprotect (the reverse, with signature check), for
// 100-byte messages, at several group sizes. ts-mls does the same through a two-member group.
import { cipherSuite } from '../../src-core/crypto/index.js';
import type { CipherSuite } from '../../src-core/crypto/index.js';
import {
  protectApplicationData,
  unprotectPrivateMessage,
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
  }
  printTable(rows);
  console.log(
    `\nsuite 1, 100-byte messages, ${MESSAGES} per round, median of 3 rounds; ts-mls: 300 messages.`,
  );
}
