// Validation happens before forwarding, and scoring turns away a peer that keeps sending junk.
// Setup: raw peer M (publishes whatever it likes) -> Parley node A -> raw observer O. O has no
// validator, so anything A forwards shows up at O.
import { multiaddr } from '@multiformats/multiaddr';
import { afterEach, describe, expect, it } from 'vitest';
import type { NetEvents } from '../../src-core/net/index.js';
import { ENVELOPE_VERSION } from '../../src-core/net/index.js';
import { GossipEnvelope } from '../../src-core/net/pb/gossip.js';
import { wireBytes } from '../../src-core/net/reqresp.js';
import { bytes, startNode, stopAll, text, waitFor } from './helpers.js';
import { startRawPeer, stopRawPeers } from './rawPeer.js';

afterEach(async () => {
  await stopAll();
  await stopRawPeers();
});

const TOPIC = '/parley/test/validation';

function envelope(payload: string, version = ENVELOPE_VERSION): Uint8Array {
  return GossipEnvelope.encode({ version, kind: 1, payload: wireBytes(bytes(payload)) });
}

describe('gossip validation and scoring', () => {
  it('drops malformed envelopes before forwarding, and graylists a peer that keeps sending them', async () => {
    const a = await startNode();
    const statuses: NetEvents['topic:status'][] = [];
    a.events.on('topic:status', (s) => statuses.push(s));
    const atA: string[] = [];
    a.gossip.subscribe(TOPIC, {
      onMessage: (m) => atA.push(text(m.payload)),
      validate: (m) => (text(m.payload).startsWith('spam') ? 'reject' : 'accept'),
    });
    const m = await startRawPeer();
    const o = await startRawPeer();
    const atO: string[] = [];
    o.services.pubsub.addEventListener('message', (e) => {
      try {
        atO.push(text(GossipEnvelope.decode(e.detail.data).payload));
      } catch {
        atO.push('<garbage>');
      }
    });
    o.services.pubsub.subscribe(TOPIC);
    await m.dial(multiaddr(a.addresses()[0]!));
    await o.dial(multiaddr(a.addresses()[0]!));
    await waitFor(
      () =>
        m.services.pubsub.getSubscribers(TOPIC).length === 1 &&
        a.gossip.meshPeers(TOPIC).includes(o.peerId.toString()),
      'M to see A subscribed and A to graft O',
    );
    expect(statuses.at(-1)).toMatchObject({ topic: TOPIC, mesh: 1, subscribers: 1 });

    const publish = (data: Uint8Array) => m.services.pubsub.publish(TOPIC, data);
    // Envelopes of a newer version are dropped without blame; the next valid one still flows.
    for (let i = 0; i < 3; i++) await publish(envelope(`future ${i}`, ENVELOPE_VERSION + 1));
    await publish(envelope('hello 1'));
    await waitFor(() => atO.includes('hello 1'), 'the first valid message to reach O');
    expect(atA).toEqual(['hello 1']);

    // Junk of every kind: not protobuf, kind 0, empty payload, refused by the layer above.
    await publish(Uint8Array.from([0xff, 0xff, 0xff]));
    await publish(
      GossipEnvelope.encode({ version: ENVELOPE_VERSION, kind: 0, payload: wireBytes(bytes('x')) }),
    );
    await publish(
      GossipEnvelope.encode({ version: ENVELOPE_VERSION, kind: 1, payload: new Uint8Array(0) }),
    );
    await publish(envelope('spam 1'));
    // Scores are refreshed on A's heartbeat; after it, M's messages are ignored outright.
    await new Promise((r) => setTimeout(r, 3 * a.config.gossip.heartbeatIntervalMs));
    await publish(envelope('hello 2'));
    await a.gossip.publish(TOPIC, 1, bytes('from a'));
    await waitFor(() => atO.includes('from a'), "A's own message to reach O");
    await new Promise((r) => setTimeout(r, 500));
    expect(atO).toEqual(['hello 1', 'from a']);
    expect(atA).toEqual(['hello 1']);
  });
});
