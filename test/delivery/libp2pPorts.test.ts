import { afterEach, describe, expect, it } from 'vitest';
import { cipherSuite } from '../../src-core/crypto/index.js';
import { hexOf } from '../../src-core/delivery/ciphertextLog.js';
import {
  KeyPackageHolder,
  KeyPackagePublisher,
  fetchKeyPackage,
} from '../../src-core/delivery/keyPackageDirectory.js';
import { MailboxHolder, depositMail, fetchMail } from '../../src-core/delivery/mailbox.js';
import { MlsClient } from '../../src-core/mls/client/index.js';
import { basicCredential } from '../mls/groupHarness.js';
import { DeliveryError } from '../../src-core/delivery/errors.js';
import {
  INLINE_BODY_BYTES,
  Libp2pPorts,
  PeerRefusedError,
  SystemClock,
  SystemRandom,
} from '../../src-core/delivery/libp2pPorts.js';
import type { ChannelMessage } from '../../src-core/delivery/ports.js';
import type { ParleyNode } from '../../src-core/net/index.js';
import { startNodes, stopAll, waitFor } from '../net/helpers.js';

const opened: Libp2pPorts[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((p) => p.close()));
  await stopAll();
});

/**
 * Three nodes on 127.0.0.1 (port 0), a dialling b, b dialling c and c dialling a, with ports
 * over each. (With a dialling both b and c, c was seen not to list a among its connections.)
 */
async function three(): Promise<{ nodes: ParleyNode[]; ports: Libp2pPorts[] }> {
  const nodes = await startNodes(3);
  await nodes[0]!.dial(nodes[1]!.addresses()[0]!);
  await nodes[1]!.dial(nodes[2]!.addresses()[0]!);
  await nodes[2]!.dial(nodes[0]!.addresses()[0]!);
  const ports = nodes.map((n) => new Libp2pPorts(n));
  opened.push(...ports);
  return { nodes, ports };
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('DeliveryPorts over libp2p', () => {
  it('channels: publish reaches every subscriber, once per local handler; unsubscribe leaves', async () => {
    const { nodes, ports } = await three();
    const [a, b, c] = ports as [Libp2pPorts, Libp2pPorts, Libp2pPorts];
    const ch = 'parley/test/channel';
    const got: Record<string, ChannelMessage[]> = { b1: [], b2: [], c: [] };
    b.channels.subscribe(ch, (m) => got.b1!.push(m));
    const offB2 = b.channels.subscribe(ch, (m) => got.b2!.push(m));
    c.channels.subscribe(ch, (m) => got.c!.push(m));
    a.channels.subscribe(ch, () => undefined);
    await waitFor(() => a.channels.subscribers(ch).length === 2, 'a to see both subscribers');
    await a.channels.publish(ch, bytes('one'));
    await waitFor(
      () => got.b1!.length === 1 && got.b2!.length === 1 && got.c!.length === 1,
      'delivery',
    );
    expect(got.c![0]).toMatchObject({ channel: ch, data: bytes('one') });
    expect([nodes[0]!.peerId, nodes[1]!.peerId]).toContain(got.c![0]!.receivedFrom);
    // The same bytes again are one message on the network: no error, no second delivery.
    await a.channels.publish(ch, bytes('one'));
    offB2();
    await a.channels.publish(ch, bytes('two'));
    await waitFor(() => got.b1!.length === 2 && got.c!.length === 2, 'second message');
    expect(got.b2).toHaveLength(1);
    await expect(a.channels.publish(ch, new Uint8Array(300 * 1024))).rejects.toMatchObject({
      code: 'invalid_argument',
    });
  });

  it('requests: small and streamed bodies both ways, refusals with their code, unknown protocols', async () => {
    const { nodes, ports } = await three();
    const [a, b] = ports as [Libp2pPorts, Libp2pPorts];
    b.requests.handle('echo', (body, from) => {
      if (body.byteLength === 1) throw new DeliveryError('not_member', 'no');
      if (body.byteLength === 2) throw new Error('a bug with a secret in its message');
      const out = new Uint8Array(body.byteLength + 1);
      out.set(body);
      out[body.byteLength] = from === nodes[0]!.peerId ? 1 : 0;
      return Promise.resolve(out);
    });
    expect(() => b.requests.handle('echo', () => Promise.resolve(new Uint8Array()))).toThrow(
      DeliveryError,
    );
    await b.ready();
    const small = await a.requests.request(b.self, 'echo', bytes('hello'));
    expect(small).toEqual(new Uint8Array([...bytes('hello'), 1]));
    const big = new Uint8Array(3 * INLINE_BODY_BYTES + 17);
    for (let i = 0; i < big.length; i += 97) big[i] = i & 0xff;
    const echoed = await a.requests.request(b.self, 'echo', big);
    expect(echoed.byteLength).toBe(big.byteLength + 1);
    expect(hexOf(echoed.subarray(0, big.byteLength))).toBe(hexOf(big));
    const refused = await a.requests
      .request(b.self, 'echo', new Uint8Array(1))
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PeerRefusedError);
    expect((refused as PeerRefusedError).remoteCode).toBe('not_member');
    const internal = await a.requests
      .request(b.self, 'echo', new Uint8Array(2))
      .catch((e: unknown) => e);
    expect((internal as PeerRefusedError).remoteCode).toBe('internal');
    expect((internal as Error).message).not.toContain('secret');
    await expect(a.requests.request(b.self, 'nothing', bytes('x'))).rejects.toMatchObject({
      code: 'peer_unreachable',
    });
  });

  it('a handler that never answers gives peer_timeout; an abort stops a request', async () => {
    const { ports } = await three();
    const [a, b] = ports as [Libp2pPorts, Libp2pPorts];
    b.requests.handle('slow', () => new Promise<Uint8Array>(() => undefined));
    await b.ready();
    await expect(
      a.requests.request(b.self, 'slow', bytes('x'), { timeoutMs: 300 }),
    ).rejects.toMatchObject({
      code: 'peer_timeout',
    });
    const ctl = new AbortController();
    const pending = a.requests.request(b.self, 'slow', bytes('y'), { signal: ctl.signal });
    ctl.abort(new Error('user gave up'));
    await expect(pending).rejects.toThrow('user gave up');
  });
});

describe('directory and mailbox over libp2p', () => {
  it("carol fetches an offline contact's KeyPackage from a holder, leaves the Welcome in its mailbox, and alice joins", async () => {
    const { ports } = await three();
    const [holder, carolPorts, alicePorts] = ports as [Libp2pPorts, Libp2pPorts, Libp2pPorts];
    const suite = cipherSuite(1);
    const mk = (name: string) => {
      const signatureKeyPair = suite.generateSignatureKeyPair();
      return {
        signatureKeyPair,
        client: new MlsClient({ suite, credential: basicCredential(name), signatureKeyPair }),
      };
    };
    const alice = mk('alice');
    const carol = mk('carol');
    new KeyPackageHolder({ requests: holder.requests, suite });
    const mailbox = new MailboxHolder({ requests: holder.requests, self: holder.self });
    await holder.ready();
    const publisher = new KeyPackagePublisher({ ...alice, requests: alicePorts.requests });
    expect((await publisher.distribute([holder.self], 2))[0]).toMatchObject({ accepted: 3 });
    // alice goes offline; carol adds her from the holder.
    const kp = await fetchKeyPackage(
      carolPorts.requests,
      suite,
      [holder.self],
      alice.signatureKeyPair.publicKey,
    );
    const g = carol.client.createGroup();
    const added = g.add([kp.message]);
    g.merge(added.pending);
    // A large message too, to take the streamed path both ways (over 256 KiB).
    const large = new Uint8Array(700 * 1024).fill(7);
    const to = alice.signatureKeyPair.publicKey;
    for (const payload of [added.welcome!, large]) {
      expect(await depositMail(carolPorts.requests, [holder.self], to, payload)).toEqual([
        { holder: holder.self },
      ]);
    }
    // alice is back: she fetches her mailbox, proving she holds the key, and joins.
    let auth = '';
    const got = await fetchMail(
      alicePorts.requests,
      [holder.self],
      { suite, signatureKeyPair: alice.signatureKeyPair },
      (item) => {
        if (item.payload.byteLength === large.byteLength)
          return hexOf(item.payload) === hexOf(large);
        auth = hexOf(alice.client.joinGroup(item.payload).epochAuthenticator());
        return true;
      },
    );
    expect(got.holders).toEqual([{ holder: holder.self }]);
    expect(got.items).toHaveLength(2);
    expect(auth).toBe(hexOf(g.epochAuthenticator()));
    expect(mailbox.count(to)).toBe(0);
  });
});

describe('system clock and randomness', () => {
  it('timers fire once in order, cleared ones never', async () => {
    const clock = new SystemClock();
    const fired: string[] = [];
    const t0 = clock.now();
    clock.setTimer(30, () => fired.push('late'));
    const cleared = clock.setTimer(5, () => fired.push('cleared'));
    clock.setTimer(1, () => fired.push('early'));
    clock.clearTimer(cleared);
    await waitFor(() => fired.length === 2, 'timers');
    expect(fired).toEqual(['early', 'late']);
    expect(clock.now()).toBeGreaterThanOrEqual(t0 + 30);
    expect(clock.pending).toBe(0);
  });

  it('random numbers lie in [0, 1) and are not constant', () => {
    const r = new SystemRandom();
    const xs = Array.from({ length: 2000 }, () => r.next());
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(xs).size).toBe(xs.length);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05); // 2000 draws: sd of the mean ~0.0065
  });
});
