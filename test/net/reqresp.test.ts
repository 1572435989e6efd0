import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { Uint8ArrayList } from 'uint8arraylist';
import type { NetEvents } from '../../src-core/net/index.js';
import {
  FRAMING_VERSION,
  RemoteRequestError,
  RequestRefused,
  protocolId,
} from '../../src-core/net/index.js';
import { RequestHead, ResponseHead } from '../../src-core/net/pb/rpc.js';
import { wireBytes } from '../../src-core/net/reqresp.js';
import { bytes, startNode, startNodes, stopAll, text, waitFor } from './helpers.js';
import { startRawPeer, stopRawPeers } from './rawPeer.js';

afterEach(async () => {
  await stopAll();
  await stopRawPeers();
});

const ECHO = protocolId('echo', 1);
const MiB = 1024 * 1024;

/** Deterministic bytes: piece i of `size` bytes, so both ends can hash the same stream. */
function* pieces(total: number, size: number): Generator<Uint8Array> {
  for (let off = 0, i = 0; off < total; off += size, i++) {
    const piece = new Uint8Array(Math.min(size, total - off));
    for (let k = 0; k < piece.length; k += 4096) piece[k] = (i + k) & 0xff;
    yield piece;
  }
}

function sha256(chunks: Iterable<Uint8Array>): string {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
}

async function pair() {
  const [a, b] = await startNodes(2);
  await a!.dial(b!.addresses()[0]!);
  return [a!, b!] as const;
}

describe('request/response', () => {
  it('answers a plain request', async () => {
    const [a, b] = await pair();
    await b.requests.handle(ECHO, (req) => ({
      body: bytes(`${req.peerId === a.peerId ? 'from a' : '?'}: ${text(req.body)}`),
    }));
    const res = await a.requests.request(b.peerId, ECHO, { body: bytes('hi') });
    expect(text(res.body)).toBe('from a: hi');
    expect(res.stream).toBeNull();
  });

  it('streams 16 MiB down and 16 MiB up, intact', async () => {
    const [a, b] = await pair();
    const total = 16 * MiB;
    await b.requests.handle(protocolId('down', 1), () => ({
      body: bytes('here it comes'),
      stream: pieces(total, 256 * 1024),
    }));
    let upHash = '';
    let upBytes = 0;
    await b.requests.handle(protocolId('up', 1), async (req) => {
      const h = createHash('sha256');
      for await (const c of req.stream!) {
        h.update(c);
        upBytes += c.byteLength;
      }
      upHash = h.digest('hex');
      return { body: bytes('got it') };
    });
    const res = await a.requests.request(b.peerId, protocolId('down', 1));
    expect(text(res.body)).toBe('here it comes');
    const h = createHash('sha256');
    let got = 0;
    for await (const c of res.stream!) {
      h.update(c);
      got += c.byteLength;
    }
    expect(got).toBe(total);
    expect(h.digest('hex')).toBe(sha256(pieces(total, 256 * 1024)));

    const up = await a.requests.request(b.peerId, protocolId('up', 1), {
      stream: pieces(total, 1 * MiB),
    });
    expect(text(up.body)).toBe('got it');
    expect(upBytes).toBe(total);
    expect(upHash).toBe(sha256(pieces(total, 1 * MiB)));
  }, 60_000);

  it('applies back-pressure: a slow reader holds the sender back', async () => {
    const [a, b] = await pair();
    let produced = 0;
    let maxAhead = 0;
    let consumed = 0;
    async function* producer(): AsyncGenerator<Uint8Array> {
      for (const p of pieces(16 * MiB, 64 * 1024)) {
        produced += p.byteLength;
        maxAhead = Math.max(maxAhead, produced - consumed);
        yield p;
      }
    }
    await b.requests.handle(protocolId('slow', 1), () => ({ stream: producer() }));
    const res = await a.requests.request(b.peerId, protocolId('slow', 1));
    let n = 0;
    for await (const c of res.stream!) {
      consumed += c.byteLength;
      // Read 4 MiB slowly, then the rest at full speed.
      if (consumed < 4 * MiB && ++n % 4 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    expect(consumed).toBe(16 * MiB);
    // Without back-pressure the producer would run the whole 16 MiB ahead. Bounded by the
    // yamux window (2 MiB), the reader's high-water mark (1 MiB) and stream buffers.
    expect(maxAhead).toBeLessThan(6 * MiB);
  }, 60_000);

  it('times out on a handler that never answers, and keeps the connection', async () => {
    const [a, b] = await pair();
    await b.requests.handle(protocolId('hang', 1), (req) => {
      return new Promise((_, reject) =>
        req.signal.addEventListener('abort', () => reject(new Error('gone'))),
      );
    });
    await b.requests.handle(ECHO, (req) => ({ body: req.body }));
    const t0 = Date.now();
    await expect(
      a.requests.request(b.peerId, protocolId('hang', 1), {}, { limits: { timeoutMs: 500 } }),
    ).rejects.toMatchObject({ code: 'timeout' });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(a.isConnected(b.peerId)).toBe(true);
    expect(
      text((await a.requests.request(b.peerId, ECHO, { body: bytes('still here') })).body),
    ).toBe('still here');
  });

  it('times out on a raw peer that accepts the stream and stays silent', async () => {
    const [a] = await startNodes(1);
    const raw = await startRawPeer();
    await raw.handle(ECHO, () => undefined); // never reads, never writes
    await a.dial(raw.getMultiaddrs()[0]!.toString());
    await expect(
      a.requests.request(
        raw.peerId.toString(),
        ECHO,
        { body: bytes('x') },
        { limits: { timeoutMs: 400 } },
      ),
    ).rejects.toMatchObject({ code: 'timeout' });
    expect(a.isConnected(raw.peerId.toString())).toBe(true);
  });

  it('gives a typed error on garbage from the responder, and survives', async () => {
    const [a] = await startNodes(1);
    const raw = await startRawPeer();
    const misbehaved: NetEvents['peer:misbehaved'][] = [];
    a.events.on('peer:misbehaved', (e) => misbehaved.push(e));
    await raw.handle(protocolId('garbage', 1), (stream) => {
      // A valid length prefix (10) and ten bytes that are not a ResponseHead.
      stream.send(
        Uint8Array.from([10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      );
      void stream.close();
    });
    await raw.handle(protocolId('huge', 1), (stream) => {
      stream.send(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f])); // announces 4 GiB
      void stream.close();
    });
    await raw.handle(protocolId('cut', 1), (stream) => {
      stream.send(Uint8Array.from([100, 1, 2, 3])); // 100 announced, 3 sent
      void stream.close();
    });
    await a.dial(raw.getMultiaddrs()[0]!.toString());
    const peer = raw.peerId.toString();
    await expect(a.requests.request(peer, protocolId('garbage', 1))).rejects.toMatchObject({
      code: 'malformed_message',
    });
    await expect(a.requests.request(peer, protocolId('huge', 1))).rejects.toMatchObject({
      code: 'message_too_large',
    });
    await expect(a.requests.request(peer, protocolId('cut', 1))).rejects.toMatchObject({
      code: 'truncated',
    });
    await expect(a.requests.request(peer, protocolId('absent', 1))).rejects.toMatchObject({
      code: 'protocol_unsupported',
    });
    expect(misbehaved.map((e) => e.code)).toEqual([
      'malformed_message',
      'message_too_large',
      'truncated',
    ]);
    expect(a.isConnected(peer)).toBe(true);
  });

  it('answers garbage and unknown framing versions from a requester, and keeps serving', async () => {
    const [b] = await startNodes(1);
    await b!.requests.handle(ECHO, (req) => ({ body: req.body }));
    const raw = await startRawPeer();
    const misbehaved: NetEvents['peer:misbehaved'][] = [];
    b!.events.on('peer:misbehaved', (e) => misbehaved.push(e));
    const target = peerIdFromString(b!.peerId);
    await raw.dial(multiaddr(b!.addresses()[0]!));

    /** Sends raw bytes on a new stream and decodes the first frame that comes back. */
    async function rawRequest(payload: Uint8Array): Promise<ResponseHead> {
      const stream = await raw.dialProtocol(target, ECHO);
      const got = new Uint8ArrayList();
      stream.addEventListener('message', (e) => got.append(e.data));
      stream.send(payload);
      await stream.close().catch(() => undefined);
      await waitFor(() => stream.status !== 'open', 'the server to end the stream');
      const len = got.get(0);
      expect(len).toBeLessThan(0x80);
      return ResponseHead.decode(got.subarray(1, 1 + len));
    }
    function framed(frame: Uint8Array): Uint8Array {
      return Uint8Array.from([frame.byteLength, ...frame]);
    }

    const garbage = await rawRequest(Uint8Array.from([3, 0xff, 0xff, 0xff]));
    expect(garbage.status).toBe(ResponseHead.Status.BAD_REQUEST);
    await waitFor(() => misbehaved.length === 1, 'a misbehaviour event');
    expect(misbehaved[0]).toMatchObject({
      peerId: raw.peerId.toString(),
      code: 'malformed_message',
    });

    const future = await rawRequest(
      framed(RequestHead.encode({ version: FRAMING_VERSION + 1, body: wireBytes(bytes('v2')) })),
    );
    expect(future.status).toBe(ResponseHead.Status.UNSUPPORTED_VERSION);

    // A well-formed request on the same connection is still served.
    const good = await rawRequest(
      framed(RequestHead.encode({ version: FRAMING_VERSION, body: wireBytes(bytes('ok?')) })),
    );
    expect(good.status).toBe(ResponseHead.Status.OK);
    expect(text(good.body)).toBe('ok?');
    expect(b!.isConnected(raw.peerId.toString())).toBe(true);
  });

  it('refuses a head over the limit with TOO_LARGE', async () => {
    const [a, b] = await pair();
    await b.requests.handle(ECHO, (req) => ({ body: req.body }), {
      limits: { maxHeadBytes: 4096 },
    });
    await expect(
      a.requests.request(b.peerId, ECHO, { body: new Uint8Array(10_000) }),
    ).rejects.toMatchObject({ code: 'message_too_large' });
  });

  it('reports handler refusals and busy handlers', async () => {
    const [a, b] = await pair();
    await b.requests.handle(protocolId('nope', 1), () => {
      throw new RequestRefused('not_found');
    });
    const err = await a.requests.request(b.peerId, protocolId('nope', 1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteRequestError);
    expect((err as RemoteRequestError).remoteCode).toBe('not_found');

    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await b.requests.handle(
      protocolId('one', 1),
      async () => {
        await gate;
        return { body: bytes('done') };
      },
      { limits: { maxConcurrentPerProtocol: 1 } },
    );
    const first = a.requests.request(b.peerId, protocolId('one', 1));
    await new Promise((r) => setTimeout(r, 100));
    await expect(a.requests.request(b.peerId, protocolId('one', 1))).rejects.toMatchObject({
      code: 'busy',
    });
    release();
    expect(text((await first).body)).toBe('done');
  });

  it('a streamed response abandoned midway resets only that stream', async () => {
    const [a, b] = await pair();
    await b.requests.handle(protocolId('long', 1), () => ({ stream: pieces(8 * MiB, 64 * 1024) }));
    await b.requests.handle(ECHO, (req) => ({ body: req.body }));
    const res = await a.requests.request(b.peerId, protocolId('long', 1));
    let n = 0;
    for await (const _ of res.stream!) if (++n === 3) break;
    expect(text((await a.requests.request(b.peerId, ECHO, { body: bytes('next') })).body)).toBe(
      'next',
    );
    expect(a.isConnected(b.peerId)).toBe(true);
  });

  it('rejects bad protocol names, a second handler, and a request to a non-peer', async () => {
    expect(() => protocolId('Bad Name', 1)).toThrow();
    expect(() => protocolId('ok', 0)).toThrow();
    const a = await startNode();
    await a.requests.handle(ECHO, () => ({}));
    await expect(a.requests.handle(ECHO, () => ({}))).rejects.toMatchObject({
      code: 'invalid_argument',
    });
    await expect(a.requests.request('not-a-peer', ECHO)).rejects.toMatchObject({
      code: 'invalid_argument',
    });
  });
});
