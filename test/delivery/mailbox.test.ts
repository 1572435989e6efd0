import { describe, expect, it } from 'vitest';
import { encode, fixedBytes, opaque, struct, uint16, uint8 } from '../../src-core/codec/index.js';
import { cipherSuite } from '../../src-core/crypto/index.js';
import { hexOf } from '../../src-core/delivery/ciphertextLog.js';
import { MailboxHolder, depositMail, fetchMail } from '../../src-core/delivery/mailbox.js';
import type { MailItem } from '../../src-core/delivery/mailbox.js';
import { MlsClient } from '../../src-core/mls/client/index.js';
import { basicCredential } from '../mls/groupHarness.js';
import { MemoryRequestNet } from './storeForwardFixture.js';

const suite = cipherSuite(1);

function person(name: string) {
  const signatureKeyPair = suite.generateSignatureKeyPair();
  return {
    client: new MlsClient({ suite, credential: basicCredential(name), signatureKeyPair }),
    owner: { suite, signatureKeyPair },
    key: signatureKeyPair.publicKey,
  };
}

function holders(net: MemoryRequestNet, names: string[], extra = {}) {
  return names.map((self) => new MailboxHolder({ requests: net.port(self), self, ...extra }));
}

const bytes = (n: number, fill = 1): Uint8Array => new Uint8Array(n).fill(fill);

describe('mailboxes', () => {
  it('a Welcome left at two holders is fetched once by its recipient, who joins, and then deleted', async () => {
    const net = new MemoryRequestNet();
    const [h1, h2] = holders(net, ['h1', 'h2']);
    const alice = person('alice');
    const carol = person('carol');
    const g = carol.client.createGroup();
    const kp = alice.client.createKeyPackages({ count: 1 }).oneTime[0]!;
    const added = g.add([kp.message]);
    g.merge(added.pending);
    const reports = await depositMail(
      net.port('carol'),
      ['h1', 'h2', 'gone'],
      alice.key,
      added.welcome!,
    );
    expect(reports.map((r) => r.error)).toEqual([undefined, undefined, 'peer_unreachable']);
    expect(h1!.count(alice.key) + h2!.count(alice.key)).toBe(2);
    let joinedAuth = '';
    const result = await fetchMail(net.port('alice'), ['h1', 'h2'], alice.owner, (item) => {
      joinedAuth = hexOf(alice.client.joinGroup(item.payload).epochAuthenticator());
      return true;
    });
    expect(result.items).toHaveLength(1);
    expect(joinedAuth).toBe(hexOf(g.epochAuthenticator()));
    expect(h1!.count(alice.key) + h2!.count(alice.key)).toBe(0);
    expect(h1!.totalBytes).toBe(0);
  });

  it('only the owner of the key can read or delete a mailbox', async () => {
    const net = new MemoryRequestNet();
    const [h] = holders(net, ['h']);
    const alice = person('alice');
    const mallory = person('mallory');
    await depositMail(net.port('x'), ['h'], alice.key, bytes(100));
    // Mallory signs with her own key for alice's mailbox.
    const port = net.port('mallory');
    const nonce = (await port.request('h', 'mailbox', challenge(alice.key))).subarray(2);
    const forged = fetchBody(alice.key, nonce, mallory.owner.signatureKeyPair.privateKey, 'h');
    await expect(port.request('h', 'mailbox', forged)).rejects.toMatchObject({
      code: 'peer_refused',
    });
    // Alice's proof cannot be replayed: the challenge is gone once used.
    const nonce2 = (await port.request('h', 'mailbox', challenge(alice.key))).subarray(2);
    const good = fetchBody(alice.key, nonce2, alice.owner.signatureKeyPair.privateKey, 'h');
    await port.request('h', 'mailbox', good);
    await expect(port.request('h', 'mailbox', good)).rejects.toMatchObject({
      code: 'peer_refused',
    });
    // A proof made for another holder does not verify here.
    const nonce3 = (await port.request('h', 'mailbox', challenge(alice.key))).subarray(2);
    const elsewhere = fetchBody(
      alice.key,
      nonce3,
      alice.owner.signatureKeyPair.privateKey,
      'other',
    );
    await expect(port.request('h', 'mailbox', elsewhere)).rejects.toMatchObject({
      code: 'peer_refused',
    });
    expect(h!.count(alice.key)).toBe(1);
    // Not accepting leaves the message in place; a second fetch sees it again.
    const none = await fetchMail(net.port('alice'), ['h'], alice.owner, () => false);
    expect(none.items).toHaveLength(1);
    expect(h!.count(alice.key)).toBe(1);
  });

  it('bounds mailboxes per recipient, per depositor, per message and in total; refuses garbage', async () => {
    const net = new MemoryRequestNet();
    const [h] = holders(net, ['h'], {
      limits: {
        maxItemsPerRecipient: 4,
        maxItemsPerDepositor: 2,
        maxItemBytes: 1000,
        maxTotalBytes: 2500,
      },
      acceptRecipient: (r: Uint8Array) => r[0] !== 0xee,
    });
    const alice = person('alice');
    const dep = (from: string, payload: Uint8Array, to = alice.key) =>
      depositMail(net.port(from), ['h'], to, payload).then((r) => r[0]!.error);
    expect(await dep('a', bytes(10, 1))).toBeUndefined();
    expect(await dep('a', bytes(10, 1))).toBeUndefined(); // the same message again is one
    expect(await dep('a', bytes(10, 2))).toBeUndefined();
    expect(await dep('a', bytes(10, 3))).toBe('peer_refused'); // depositor a has 2
    expect(await dep('b', bytes(1001))).toBe('peer_refused'); // too big
    expect(await dep('b', bytes(900, 4))).toBeUndefined();
    expect(await dep('c', bytes(900, 5))).toBeUndefined();
    expect(await dep('d', bytes(10, 6))).toBe('peer_refused'); // recipient has 4
    expect(await dep('d', bytes(900, 7), bytes(32, 9))).toBe('peer_refused'); // total 2500
    expect(await dep('d', bytes(10, 7), bytes(32, 0xee))).toBe('peer_refused'); // not ours to hold
    expect(h!.count(alice.key)).toBe(4);
    const before = h!.totalBytes;
    for (const body of [new Uint8Array([1]), new Uint8Array([1, 9, 0]), new Uint8Array([3, 1])]) {
      await expect(net.port('e').request('h', 'mailbox', body)).rejects.toMatchObject({
        code: 'peer_refused',
      });
    }
    expect(h!.totalBytes).toBe(before);
  });

  it('messages expire', async () => {
    const net = new MemoryRequestNet();
    let now = 1_000_000n;
    const [h] = holders(net, ['h'], { now: () => now });
    const alice = person('alice');
    await depositMail(net.port('x'), ['h'], alice.key, bytes(10), { ttlSeconds: 60 });
    await depositMail(net.port('x'), ['h'], alice.key, bytes(10, 2), { ttlSeconds: 3600 });
    now += 61n;
    const got: MailItem[] = [];
    await fetchMail(net.port('alice'), ['h'], alice.owner, (i) => (got.push(i), true));
    expect(got.map((i) => i.payload[0])).toEqual([2]);
    expect(h!.count(alice.key)).toBe(0);
  });
});

// Hand-built wire bodies, as another implementation would send them.
function challenge(recipient: Uint8Array): Uint8Array {
  return encode(struct({ v: uint8, t: uint8, r: opaque }), { v: 1, t: 2, r: recipient });
}

function fetchBody(
  recipient: Uint8Array,
  nonce: Uint8Array,
  signer: Uint8Array,
  holder: string,
): Uint8Array {
  const tbs = encode(struct({ h: opaque, r: opaque, n: fixedBytes(32) }), {
    h: new TextEncoder().encode(holder),
    r: recipient,
    n: nonce,
  });
  const sig = suite.signWithLabel(signer, 'Parley MailboxFetch', tbs);
  return encode(
    struct({ v: uint8, t: uint8, r: opaque, s: uint16, n: fixedBytes(32), sig: opaque }),
    {
      v: 1,
      t: 3,
      r: recipient,
      s: 1,
      n: nonce,
      sig,
    },
  );
}
