// Group.processBatch: the outcome of Group.process on each message in order.
import { describe, expect, it } from 'vitest';
import { cipherSuite } from '../../src-core/crypto/index.js';
import type { CipherSuite } from '../../src-core/crypto/types.js';
import type { BatchOutcome, Group, GroupEvent } from '../../src-core/mls/client/index.js';
import { Group as GroupHandle, MlsClient } from '../../src-core/mls/client/index.js';
import { ParleyError } from '../../src-core/errors.js';
import { decodeGroupState, encodeGroupState } from '../../src-core/mls/storage/index.js';
import { toHex } from '../support/shared.js';
import { basicCredential, text, untext } from './groupHarness.js';

function client(suite: CipherSuite, name: string): MlsClient {
  return new MlsClient({
    suite,
    credential: basicCredential(name),
    signatureKeyPair: suite.generateSignatureKeyPair(),
  });
}

function summary(e: GroupEvent): string {
  switch (e.kind) {
    case 'application':
      return `app:${e.sender.leafIndex}:${untext(e.data)}:${e.epoch}`;
    case 'proposal':
      return `proposal:${toHex(e.ref)}`;
    case 'commit':
      return `commit:${e.commit.epoch}`;
  }
}

function oneByOne(g: Group, messages: readonly Uint8Array[]): string[] {
  return messages.map((m) => {
    try {
      return summary(g.process(m));
    } catch (e) {
      if (!(e instanceof ParleyError)) throw e;
      return `err:${e.code}`;
    }
  });
}

/** The group's storage records (its whole state, secrets included) as hex, by key. */
function records(g: Group): [string, string][] {
  return [...encodeGroupState(g.state)]
    .map(([k, v]): [string, string] => [String(k), toHex(v)])
    .sort((x, y) => (x[0] < y[0] ? -1 : 1));
}

const summarize = (out: BatchOutcome[]): string[] =>
  out.map((o) => (o.ok ? summary(o.event) : `err:${o.error.code}`));

describe('Group.processBatch', () => {
  const suite = cipherSuite(1);

  it('gives the events and errors of process() one by one, and the same state', async () => {
    const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((n) => client(suite, n));
    const a = alice!.createGroup();
    const out = a.add([
      bob!.createKeyPackages({ count: 1 }).oneTime[0]!.message,
      carol!.createKeyPackages({ count: 1 }).oneTime[0]!.message,
    ]);
    a.merge(out.pending);
    const b = bob!.joinGroup(out.welcome!);
    const c = carol!.joinGroup(out.welcome!);

    const messages: Uint8Array[] = [];
    for (let i = 0; i < 70; i++) messages.push((i % 3 === 0 ? c : b).send(text(`hello ${i}`)));
    messages.push(a.send(text('our own'))); // rejected: its key was used when we sent it
    messages.push(new Uint8Array([0, 1, 0, 2, 9])); // not an MLSMessage
    messages.push(messages[5]!); // a replay
    messages.push(b.proposeUpdate().message); // a handshake message in the middle
    messages.push(...[1, 2, 3].map((i) => c.send(text(`after ${i}`))));
    messages.splice(20, 0, ...messages.splice(30, 5)); // out of order within the window

    const copy = new GroupHandle(decodeGroupState(encodeGroupState(a.state)));
    const expected = oneByOne(copy, messages);
    const got = summarize(await a.processBatch(messages));
    expect(got).toEqual(expected);
    expect(got.filter((s) => s.startsWith('app:'))).toHaveLength(73);
    expect(got.filter((s) => s.startsWith('err:'))).toEqual([
      'err:key_already_used',
      'err:decode_failed',
      'err:key_already_used',
    ]);
    // Both ended in the same state: the next messages read the same on each.
    const next = [c.send(text('next')), messages[40]!];
    expect(summarize(await a.processBatch(next))).toEqual(oneByOne(copy, next));
    expect(records(a)).toEqual(records(copy));
  });
});
