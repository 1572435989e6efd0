// Application messages through the group API, in populated groups: send (sendApplicationMessage,
// encoded to MLSMessage bytes) and receive (processMessage from bytes), 100-byte messages,
// from the member at leaf n-2 to its sibling. Unlike app-messages (framing given one epoch's
// secrets), this is what a member of an n-member group does per message. ts-mls beside Parley in
// the same group up to BENCH_TSMLS_MSG_MAX (default 1,000); every ts-mls message is read by Parley
// and every Parley message by ts-mls, and the plaintext must come back.
import { performance } from 'node:perf_hooks';
import { encodeMlsMessage } from '../../src-core/mls/framing/mlsMessage.js';
import { processMessage, sendApplicationMessage } from '../../src-core/mls/group/index.js';
import { printTable } from '../harness.js';
import { parleyGroup, tsMlsGroup } from '../group/fixtures.js';
import type { ParleyGroup, TsMlsGroup } from '../group/fixtures.js';
import { commandLine, equalBytes, formatMs, sizes, tsMlsMax } from '../group/timing.js';
import { tsMlsReceive, tsMlsSend } from '../group/tsmlsGroup.js';

const SIZES = [2, 1000, 10_000, 50_000];
const PARLEY_MESSAGES = 2000;
const TS_MLS_MESSAGES = 200;
const PLAINTEXT = new Uint8Array(100).fill(0x61);

interface PerMessage {
  readonly send: number;
  readonly receive: number;
}

function parley(g: ParleyGroup): PerMessage {
  // Warm-up (JIT), not measured.
  for (let i = 0; i < 200; i++) {
    processMessage(g.newcomer, encodeMlsMessage(sendApplicationMessage(g.committer, PLAINTEXT)));
  }
  const sent: Uint8Array[] = [];
  let t0 = performance.now();
  for (let i = 0; i < PARLEY_MESSAGES; i++) {
    sent.push(encodeMlsMessage(sendApplicationMessage(g.committer, PLAINTEXT)));
  }
  const send = (performance.now() - t0) / PARLEY_MESSAGES;
  t0 = performance.now();
  for (const m of sent) {
    const r = processMessage(g.newcomer, m);
    if (r.kind !== 'application' || !equalBytes(r.data, PLAINTEXT)) throw new Error('garbled');
  }
  return { send, receive: (performance.now() - t0) / PARLEY_MESSAGES };
}

/** ts-mls sends (Parley reads them), then Parley sends and ts-mls reads. */
async function tsMls(g: TsMlsGroup): Promise<PerMessage> {
  const { cs } = g;
  let state = g.newcomer;
  const sent: Uint8Array[] = [];
  let t0 = performance.now();
  for (let i = 0; i < TS_MLS_MESSAGES; i++) {
    const r = await tsMlsSend(cs, state, PLAINTEXT);
    state = r.state;
    sent.push(r.bytes);
  }
  const send = (performance.now() - t0) / TS_MLS_MESSAGES;
  for (const m of sent) {
    const r = processMessage(g.committer, m);
    if (r.kind !== 'application' || !equalBytes(r.data, PLAINTEXT)) {
      throw new Error('Parley could not read a ts-mls message');
    }
  }
  const fromParley: Uint8Array[] = [];
  for (let i = 0; i < TS_MLS_MESSAGES; i++) {
    fromParley.push(encodeMlsMessage(sendApplicationMessage(g.committer, PLAINTEXT)));
  }
  t0 = performance.now();
  for (const m of fromParley) {
    const r = await tsMlsReceive(cs, state, m);
    state = r.state;
    if (!equalBytes(r.data, PLAINTEXT)) throw new Error('ts-mls could not read a Parley message');
  }
  return { send, receive: (performance.now() - t0) / TS_MLS_MESSAGES };
}

export default async function groupMessages(): Promise<void> {
  const max = tsMlsMax('BENCH_TSMLS_MSG_MAX', 1000);
  const rows: string[][] = [
    [
      'members',
      'Parley send',
      'Parley receive',
      'ts-mls send',
      'ts-mls receive',
      'ts-mls / Parley',
    ],
  ];
  for (const n of sizes(SIZES)) {
    const p = parley(parleyGroup('populated', n));
    const t = n <= max ? await tsMls(await tsMlsGroup('populated', n)) : undefined;
    rows.push([
      String(n),
      formatMs(p.send),
      formatMs(p.receive),
      t === undefined ? `- (above ${max})` : formatMs(t.send),
      t === undefined ? '-' : formatMs(t.receive),
      t === undefined
        ? '-'
        : `${(t.send / p.send).toFixed(1)}x, ${(t.receive / p.receive).toFixed(1)}x`,
    ]);
  }
  console.log(`${commandLine('group-messages')}: mean per message; 100-byte messages;`);
  console.log(
    `Parley ${PARLEY_MESSAGES} messages, ts-mls ${TS_MLS_MESSAGES}; encoded and decoded as MLSMessage bytes.\n`,
  );
  printTable(rows);
}
