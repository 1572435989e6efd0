import { describe, expect, it } from 'vitest';
import { stripPeer } from '../../src-core/net/discovery.js';
import {
  MAX_ADDRS_PER_PEER,
  MemoryPeerAddressBook,
  NetError,
  defaultNetConfig,
  loopbackNetConfig,
  rememberPeer,
} from '../../src-core/net/index.js';

const PEER = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA';

describe('net config', () => {
  it('names no host on the internet by default', () => {
    const c = defaultNetConfig();
    expect(c.webrtc.iceServers).toEqual([]);
    expect(c.announce).toEqual([]);
    for (const a of c.listen) expect(a).toMatch(/^\/(ip4\/0\.0\.0\.0\/|p2p-circuit$|webrtc$)/);
    expect(c.mdns.enabled).toBe(true);
    expect(c.gossip.floodPublish).toBe(true);
  });

  it('keeps tests on loopback with mDNS off', () => {
    const c = loopbackNetConfig();
    expect(c.listen).toEqual(['/ip4/127.0.0.1/tcp/0']);
    expect(c.mdns.enabled).toBe(false);
    expect(c.relayServer.enabled).toBe(false);
    expect(loopbackNetConfig({ gossip: { D: 8, Dhi: 12 } }).gossip).toMatchObject({ D: 8, Dlo: 4 });
  });

  it('refuses settings that cannot work, naming the setting', () => {
    const bad: [Parameters<typeof defaultNetConfig>[0], RegExp][] = [
      [{ listen: ['not a multiaddr'] }, /listen/],
      [{ transports: { tcp: false, websockets: false, webrtc: false } }, /at least one/],
      [{ transports: { circuitRelay: false } }, /webrtc needs circuitRelay/],
      [{ webrtc: { iceServers: ['https://example.invalid'] } }, /STUN/],
      [{ gossip: { Dlo: 7 } }, /Dlo <= D/],
      [{ gossip: { invalidMessageWeight: 1 } }, /negative/],
      [{ requests: { chunkBytes: 0 } }, /chunkBytes/],
      [{ requests: { chunkBytes: 2 * 1024 * 1024 } }, /chunkBytes must not exceed/],
      [{ reconnect: { jitter: 1 } }, /jitter/],
      [{ reconnect: { maxDelayMs: 10 } }, /maxDelayMs/],
    ];
    for (const [overrides, message] of bad) {
      let err: unknown;
      try {
        defaultNetConfig(overrides);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(overrides)).toBeInstanceOf(NetError);
      expect((err as NetError).code).toBe('invalid_config');
      expect((err as NetError).message).toMatch(message);
    }
  });
});

describe('address book', () => {
  it('keeps the newest addresses first, bounded, and never demotes a contact', async () => {
    const book = new MemoryPeerAddressBook();
    await rememberPeer(book, PEER, ['/ip4/10.0.0.1/tcp/1'], { contact: true, seenAtMs: 5 });
    const many = Array.from({ length: 20 }, (_, i) => `/ip4/10.0.1.${i}/tcp/2`);
    const r = await rememberPeer(book, PEER, many, { seenAtMs: 9 });
    expect(r.addrs).toHaveLength(MAX_ADDRS_PER_PEER);
    expect(r.addrs[0]).toBe('/ip4/10.0.1.0/tcp/2');
    expect(r.contact).toBe(true);
    expect(r.lastSeenMs).toBe(9);
    await expect(
      book.put({ peerId: 'nope', addrs: [], lastSeenMs: 0, contact: false }),
    ).rejects.toMatchObject({
      code: 'invalid_argument',
    });
    await expect(
      book.put({ peerId: PEER, addrs: ['garbage'], lastSeenMs: 0, contact: false }),
    ).rejects.toMatchObject({ code: 'invalid_argument' });
  });

  it('strips only the trailing /p2p of the peer itself', () => {
    expect(stripPeer(`/ip4/1.2.3.4/tcp/1/p2p/${PEER}`, PEER)).toBe('/ip4/1.2.3.4/tcp/1');
    const relay = '12D3KooWA1J1u2kNt5E7ZNRTN3N6T9JdsGa8spYaYXnHm9ee3d1R';
    const circuit = `/ip4/1.2.3.4/tcp/1/p2p/${relay}/p2p-circuit`;
    expect(stripPeer(circuit, PEER)).toBe(circuit);
    expect(stripPeer(`${circuit}/p2p/${PEER}`, PEER)).toBe(circuit);
  });
});
