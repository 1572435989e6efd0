// Regression: `dial` used to return when the dialler's side of the connection was open, before the
// listener's side was. The listener, asked at once to reach the dialler, did not list it and, with
// no address learnt yet, failed with "no valid addresses" (seen with one node dialling two).
import { afterEach, describe, expect, it } from 'vitest';
import { bytes, startNodes, stopAll } from './helpers.js';

afterEach(stopAll);

describe('dial', () => {
  it('returns once the dialled node holds the connection: it lists the dialler and can request it at once', async () => {
    for (let round = 0; round < 5; round++) {
      const [a, b, c] = await startNodes(3);
      await a!.requests.handle('/parley/echo/1', (req) => ({ body: req.body }));
      await a!.dial(b!.addresses()[0]!);
      await a!.dial(c!.addresses()[0]!);
      expect(b!.isConnected(a!.peerId)).toBe(true);
      expect(c!.isConnected(a!.peerId)).toBe(true);
      const res = await c!.requests.request(a!.peerId, '/parley/echo/1', { body: bytes('hi') });
      expect(Buffer.from(res.body).toString()).toBe('hi');
      await stopAll();
    }
  });

  it('dialling a peer already connected returns at once', async () => {
    const [a, b] = await startNodes(2);
    const addr = b!.addresses()[0]!;
    expect(await a!.dial(addr)).toBe(b!.peerId);
    const t0 = Date.now();
    expect(await a!.dial(addr)).toBe(b!.peerId);
    expect(await a!.dial(b!.peerId)).toBe(b!.peerId);
    // Not a timing assertion on speed: only that the second dial does not wait out the dial timeout.
    expect(Date.now() - t0).toBeLessThan(a!.config.connections.dialTimeoutMs);
  });
});
