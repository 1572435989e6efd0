// Batch receive (framing/unprotectBatch.ts): the same results and the same secret-tree state as
// unprotectPrivateMessage one by one, with signatures verified on worker threads.
import { afterAll, describe, expect, it } from 'vitest';
import { createBatchVerifier } from '../../src-core/crypto/batchVerify.js';
import { cipherSuite } from '../../src-core/crypto/index.js';
import type { KeyPair } from '../../src-core/crypto/types.js';
import { MlsError } from '../../src-core/mls/errors.js';
import type {
  AuthenticatedContent,
  EpochFramingState,
  PrivateMessage,
  SignatureKeyLookup,
  UnprotectResult,
} from '../../src-core/mls/framing/index.js';
import {
  SenderType,
  WireFormat,
  protectApplicationData,
  unprotectPrivateMessage,
  unprotectPrivateMessages,
} from '../../src-core/mls/framing/index.js';
import type { GroupContext } from '../../src-core/mls/groupContext.js';
import { SecretTree } from '../../src-core/mls/secretTree.js';
import { toHex } from '../support/shared.js';

const suite = cipherSuite(1);
const LEAVES = 16;
const signers: KeyPair[] = Array.from({ length: LEAVES }, () => suite.generateSignatureKeyPair());
const impostor = suite.generateSignatureKeyPair();
const lookup: SignatureKeyLookup = (sender) =>
  sender.senderType === SenderType.member ? signers[sender.leafIndex]?.publicKey : undefined;

const groupContext: GroupContext = {
  version: 1,
  cipherSuite: suite.id,
  groupId: new TextEncoder().encode('batch-group'),
  epoch: 3n,
  treeHash: new Uint8Array(32).fill(1),
  confirmedTranscriptHash: new Uint8Array(32).fill(2),
  extensions: [],
};

function epochState(secret: Uint8Array, leaves = LEAVES): EpochFramingState {
  return {
    suite,
    groupContext,
    membershipKey: new Uint8Array(32).fill(3),
    senderDataSecret: new Uint8Array(32).fill(4),
    secretTree: new SecretTree(suite, secret.slice(), leaves),
  };
}

/** Everything the tree holds, as hex, to compare two trees. */
function snapshot(tree: SecretTree): string {
  const c = tree.contents();
  return JSON.stringify({
    nodes: c.nodes.map(([x, s]) => [x, toHex(s)]),
    leaves: c.leaves.map(([leaf, lr]) => [
      leaf,
      [lr.handshake, lr.application].map((r) => ({
        next: r.next,
        secret: toHex(r.secret),
        skipped: r.skipped.map(([g, kn]) => [g, toHex(kn.key), toHex(kn.nonce)]),
      })),
    ]),
  });
}

function send(state: EpochFramingState, leaf: number, body: string, key = signers[leaf]!) {
  const { message } = protectApplicationData(
    state,
    { leafIndex: leaf, signaturePrivateKey: key.privateKey },
    new TextEncoder().encode(body),
  );
  if (message.wireFormat !== WireFormat.privateMessage) throw new Error('not private');
  return message.privateMessage;
}

type Outcome = string; // "ok:<sender>:<text>" or "err:<code>"

const describeContent = (ac: AuthenticatedContent): string => {
  const c = ac.content;
  if (c.sender.senderType !== SenderType.member || c.contentType !== 1) return 'other';
  return `${c.sender.leafIndex}:${new TextDecoder().decode(c.applicationData)}`;
};

function oneByOne(state: EpochFramingState, messages: readonly PrivateMessage[]): Outcome[] {
  return messages.map((m) => {
    try {
      return `ok:${unprotectPrivateMessage(state, m, lookup, describeContent)}`;
    } catch (e) {
      if (!(e instanceof MlsError)) throw e;
      return `err:${e.code}`;
    }
  });
}

const outcomes = (rs: UnprotectResult<string>[]): Outcome[] =>
  rs.map((r) => (r.ok ? `ok:${r.value}` : `err:${r.error.code}`));

/** Deterministic PRNG (xorshift32) so a failing scenario can be replayed by its seed. */
function prng(seed: number): () => number {
  let x = seed | 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

const inline = createBatchVerifier(suite.signature, { workers: 0 });
afterAll(() => inline.close());

describe('unprotectPrivateMessages', () => {
  it('matches one by one, in order, with the same tree state afterwards', async () => {
    const secret = suite.randomBytes(32);
    const sender = epochState(secret);
    const messages: PrivateMessage[] = [];
    for (let i = 0; i < 150; i++) messages.push(send(sender, (i * 5) % LEAVES, `m${i}`));
    const a = epochState(secret);
    const b = epochState(secret);
    const batch = await unprotectPrivateMessages(a, messages, lookup, describeContent);
    expect(outcomes(batch)).toEqual(oneByOne(b, messages));
    expect(batch.every((r) => r.ok)).toBe(true);
    expect(snapshot(a.secretTree)).toEqual(snapshot(b.secretTree));
  });

  it('rejects exactly the forged message; its key stays for the genuine one', async () => {
    const secret = suite.randomBytes(32);
    // Two senders in lockstep: `real` produces the genuine twin of each message of `forger`.
    const forger = epochState(secret);
    const real = epochState(secret);
    const messages: PrivateMessage[] = [];
    const twins: PrivateMessage[] = [];
    for (let i = 0; i < 40; i++) {
      const leaf = i % 4;
      // Leaf 1's third message (generation 2) and leaf 3's last one (generation 9) are forged.
      const forged = i === 9 || i === 39;
      messages.push(send(forger, leaf, `m${i}`, forged ? impostor : signers[leaf]));
      twins.push(send(real, leaf, `m${i}`));
    }
    const a = epochState(secret);
    const results = await unprotectPrivateMessages(a, messages, lookup, describeContent);
    results.forEach((r, i) => {
      if (i === 9 || i === 39) {
        expect(r.ok).toBe(false);
        if (!r.ok) {
          expect(r.error).toBeInstanceOf(MlsError);
          expect(r.error.code).toBe('invalid_signature');
        }
      } else {
        expect(r).toEqual({ ok: true, value: `${i % 4}:m${i}` });
      }
    });
    // The state is the one-by-one state of the batch without the forged messages.
    const b = epochState(secret);
    oneByOne(
      b,
      messages.filter((_, i) => i !== 9 && i !== 39),
    );
    expect(snapshot(a.secretTree)).toEqual(snapshot(b.secretTree));
    expect(a.secretTree.leafState(3)!.application.next).toBe(9); // generation 9 not consumed
    // The genuine messages with the forged ones' generations still decrypt, once.
    expect(oneByOne(a, [twins[9]!, twins[39]!, twins[9]!, twins[5]!])).toEqual([
      'ok:1:m9',
      'ok:3:m39',
      'err:key_already_used',
      'err:key_already_used',
    ]);
  });

  it('takes messages out of order within the window, and rejects replays', async () => {
    const secret = suite.randomBytes(32);
    const sender = epochState(secret);
    const sent: PrivateMessage[] = [];
    for (let i = 0; i < 120; i++) sent.push(send(sender, 6, `m${i}`));
    const shuffled = [...sent].reverse();
    shuffled.splice(10, 0, sent[100]!); // a replay inside the batch
    const a = epochState(secret);
    const b = epochState(secret);
    const batch = outcomes(await unprotectPrivateMessages(a, shuffled, lookup, describeContent));
    expect(batch).toEqual(oneByOne(b, shuffled));
    expect(batch.filter((o) => o === 'err:key_already_used')).toHaveLength(1);
    expect(batch.filter((o) => o.startsWith('ok:'))).toHaveLength(120);
    expect(snapshot(a.secretTree)).toEqual(snapshot(b.secretTree));
    expect(a.secretTree.stats().skippedKeys).toBe(0);
  });

  it('agrees with one by one on random mixes of forgeries, replays, damage and reordering', async () => {
    for (let seed = 1; seed <= 12; seed++) {
      const rand = prng(seed * 7919);
      const secret = suite.randomBytes(32);
      const forger = epochState(secret, 4);
      const messages: PrivateMessage[] = [];
      for (let i = 0; i < 30; i++) {
        const leaf = Math.floor(rand() * 4);
        const forged = rand() < 0.15;
        let m = send(forger, leaf, `s${seed}m${i}`, forged ? impostor : signers[leaf]);
        const r = rand();
        if (r < 0.05) {
          const ciphertext = m.ciphertext.slice();
          ciphertext[ciphertext.length - 1]! ^= 1;
          m = { ...m, ciphertext };
        } else if (r < 0.08) {
          const encryptedSenderData = m.encryptedSenderData.slice();
          encryptedSenderData[0]! ^= 1;
          m = { ...m, encryptedSenderData };
        } else if (r < 0.1) {
          m = { ...m, epoch: 4n };
        }
        messages.push(m);
        if (rand() < 0.1) messages.push(messages[Math.floor(rand() * messages.length)]!);
      }
      // Swap neighbours at random: out of order within the window.
      for (let i = 0; i + 1 < messages.length; i++) {
        if (rand() < 0.3) [messages[i], messages[i + 1]] = [messages[i + 1]!, messages[i]!];
      }
      const a = epochState(secret, 4);
      const b = epochState(secret, 4);
      const verifier = seed % 2 === 0 ? { verifier: inline } : {};
      const batch = await unprotectPrivateMessages(a, messages, lookup, describeContent, verifier);
      expect(outcomes(batch), `seed ${seed}`).toEqual(oneByOne(b, messages));
      expect(snapshot(a.secretTree), `seed ${seed}`).toEqual(snapshot(b.secretTree));
    }
  });

  it('decides in pass 3 for keys the peeker did not keep (a forged message far ahead)', async () => {
    const secret = suite.randomBytes(32);
    const forger = epochState(secret);
    const sent: PrivateMessage[] = [];
    for (let i = 0; i < 500; i++)
      sent.push(send(forger, 1, `m${i}`, i === 499 ? impostor : signers[1]));
    // The forged generation 499 comes first: the peeker walks past 0..114 without keeping them,
    // but in order they are all still to be taken, since 499 consumes nothing.
    const messages = [sent[499]!, ...sent.slice(0, 115)];
    const a = epochState(secret);
    const b = epochState(secret);
    const batch = outcomes(await unprotectPrivateMessages(a, messages, lookup, describeContent));
    expect(batch).toEqual(oneByOne(b, messages));
    expect(batch[0]).toBe('err:invalid_signature');
    expect(batch.slice(1).every((o) => o.startsWith('ok:'))).toBe(true);
    expect(snapshot(a.secretTree)).toEqual(snapshot(b.secretTree));
  });

  it('consumes nothing for a message its accept callback rejects', async () => {
    const secret = suite.randomBytes(32);
    const sender = epochState(secret);
    const messages = [send(sender, 2, 'a'), send(sender, 2, 'b'), send(sender, 5, 'c')];
    const a = epochState(secret);
    const results = await unprotectPrivateMessages(a, messages, lookup, (ac) => {
      const d = describeContent(ac);
      if (d === '2:b') throw new MlsError('own_message', 'refused by the caller');
      return d;
    });
    expect(outcomes(results)).toEqual(['ok:2:a', 'err:own_message', 'ok:5:c']);
    expect(oneByOne(a, [messages[1]!])).toEqual(['ok:2:b']);
  });

  it('rejects every message, typed, once the tree is destroyed', async () => {
    const secret = suite.randomBytes(32);
    const sender = epochState(secret);
    const messages = [send(sender, 1, 'a'), send(sender, 2, 'b')];
    const a = epochState(secret);
    a.secretTree.destroy();
    expect(outcomes(await unprotectPrivateMessages(a, messages, lookup, describeContent))).toEqual([
      'err:secret_deleted',
      'err:secret_deleted',
    ]);
  });
});

describe('SecretTree.peekKeys', () => {
  it('gives the keys withKey gives, and changes nothing', () => {
    const secret = suite.randomBytes(32);
    const a = new SecretTree(suite, secret.slice(), 8);
    const b = new SecretTree(suite, secret.slice(), 8);
    b.withKey(3, 'application', 4, () => undefined); // generations 0..3 kept as skipped
    const before = snapshot(b);
    const requests = [
      { leaf: 3, kind: 'application', generation: 2 },
      { leaf: 3, kind: 'application', generation: 4 }, // used
      { leaf: 3, kind: 'application', generation: 7 },
      { leaf: 5, kind: 'handshake', generation: 0 },
      { leaf: 5, kind: 'handshake', generation: 2000 }, // beyond the forward distance
      { leaf: 9, kind: 'handshake', generation: 0 }, // no such leaf
    ] as const;
    const peeked = b.peekKeys(requests);
    expect(snapshot(b)).toBe(before);
    expect(peeked[1]).toBeUndefined();
    expect(peeked[4]).toBeUndefined();
    expect(peeked[5]).toBeUndefined();
    for (const i of [0, 2, 3]) {
      const q = requests[i]!;
      const want = a.keyFor(q.leaf, q.kind, q.generation);
      expect(toHex(peeked[i]!.key)).toBe(toHex(want.key));
      expect(toHex(peeked[i]!.nonce)).toBe(toHex(want.nonce));
    }
  });

  it('reaches a generation through a chain of in-reach ones, as consumption in order would', () => {
    const tree = new SecretTree(suite, suite.randomBytes(32), 2, { maxForwardDistance: 10 });
    const peeked = tree.peekKeys([
      { leaf: 0, kind: 'application', generation: 10 },
      { leaf: 0, kind: 'application', generation: 21 },
      { leaf: 0, kind: 'application', generation: 33 }, // 11 beyond 21 + 1
    ]);
    expect(peeked.map((k) => k !== undefined)).toEqual([true, true, false]);
  });
});
