import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FilePeerIdentityStore,
  MemoryPeerAddressBook,
  MemoryPeerIdentityStore,
  loadOrCreatePeerKey,
} from '../../src-core/net/index.js';
import type { NetEvents } from '../../src-core/net/index.js';
import { startNode, stopAll, stopNode, waitFor } from './helpers.js';

afterEach(stopAll);

const fastReconnect = {
  reconnect: { initialDelayMs: 100, maxDelayMs: 400, factor: 2, jitter: 0.1 },
};

describe('peer identity', () => {
  it('is created once and then loaded (memory store)', async () => {
    const store = new MemoryPeerIdentityStore();
    const a = await loadOrCreatePeerKey(store);
    const b = await loadOrCreatePeerKey(store);
    expect(a.type).toBe('Ed25519');
    expect(peerIdFromPrivateKey(b).toString()).toBe(peerIdFromPrivateKey(a).toString());
  });

  it('is kept in an owner-only file, and a corrupt or foreign key is refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-net-'));
    try {
      const path = join(dir, 'sub', 'peer.key');
      const first = await loadOrCreatePeerKey(new FilePeerIdentityStore(path));
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      const again = await loadOrCreatePeerKey(new FilePeerIdentityStore(path));
      expect(peerIdFromPrivateKey(again).equals(peerIdFromPrivateKey(first))).toBe(true);

      const good = await readFile(path);
      await writeFile(path, good.subarray(0, 10));
      await expect(loadOrCreatePeerKey(new FilePeerIdentityStore(path))).rejects.toMatchObject({
        code: 'identity_invalid',
      });
      await writeFile(path, privateKeyToProtobuf(await generateKeyPair('secp256k1')));
      await expect(loadOrCreatePeerKey(new FilePeerIdentityStore(path))).rejects.toMatchObject({
        code: 'identity_invalid',
      });
      // The bad file was not replaced by a fresh key: the peer id must never change silently.
      expect((await readFile(path)).byteLength).toBeGreaterThan(0);
      expect(Buffer.compare(await readFile(path), good)).not.toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('restart and reconnection', () => {
  it('a restarted node keeps its peer id and a contact finds it again at its last address', async () => {
    const identity = new MemoryPeerIdentityStore();
    const a = await startNode({ identity, config: fastReconnect });
    const b = await startNode({ config: fastReconnect });
    const addr = a.addresses()[0]!;
    await b.addContact(a.peerId, a.addresses());
    await waitFor(() => b.isConnected(a.peerId), 'b to connect to its contact a');

    const unreachable: NetEvents['contact:unreachable'][] = [];
    b.events.on('contact:unreachable', (e) => unreachable.push(e));
    const offline = b.events.once('peer:offline', (e) => e.peerId === a.peerId);
    await stopNode(a);
    await offline;
    await waitFor(() => unreachable.length >= 2, 'b to retry a few times while a is down');
    // Backoff: the announced delays grow (up to the cap).
    expect(unreachable[1]!.retryInMs).toBeGreaterThan(unreachable[0]!.retryInMs);
    expect(unreachable.every((u) => u.peerId === a.peerId)).toBe(true);

    // Same identity, same port: a is the same peer at its last address.
    const port = addr.split('/tcp/')[1]!.split('/')[0]!;
    const online = b.events.once('peer:online', (e) => e.peerId === a.peerId, 15_000);
    const a2 = await startNode({
      identity,
      config: { ...fastReconnect, listen: [`/ip4/127.0.0.1/tcp/${port}`] },
    });
    expect(a2.peerId).toBe(a.peerId);
    await online;
    expect(b.isConnected(a2.peerId)).toBe(true);
  });

  it('a restarted node redials its contacts from its address book at start', async () => {
    const identity = new MemoryPeerIdentityStore();
    const book = new MemoryPeerAddressBook();
    const b = await startNode({ config: fastReconnect });
    const a = await startNode({ identity, addressBook: book, config: fastReconnect });
    await a.addContact(b.peerId, b.addresses());
    await waitFor(() => a.isConnected(b.peerId), 'a to connect to b');
    await waitFor(
      async () => ((await book.get(b.peerId))?.lastSeenMs ?? 0) > 0,
      'a to record when it saw b',
    );
    await stopNode(a);

    // New port (0), same identity and address book: a dials b on its own, b sees the same peer.
    const online = b.events.once('peer:online', (e) => e.peerId === a.peerId, 15_000);
    const a2 = await startNode({ identity, addressBook: book, config: fastReconnect });
    expect(a2.peerId).toBe(a.peerId);
    await online;
    expect((await book.get(b.peerId))?.contact).toBe(true);
  });

  it('backoff delays grow by the factor, stay under the cap and carry jitter', async () => {
    const { backoffDelay } = await import('../../src-core/net/discovery.js');
    const cfg = { initialDelayMs: 1000, maxDelayMs: 60_000, factor: 2, jitter: 0.2 };
    expect(backoffDelay(cfg, 1, () => 0.5)).toBe(1000);
    expect(backoffDelay(cfg, 3, () => 0.5)).toBe(4000);
    expect(backoffDelay(cfg, 3, () => 0)).toBe(3200);
    expect(backoffDelay(cfg, 3, () => 1)).toBe(4800);
    expect(backoffDelay(cfg, 30, () => 1)).toBe(60_000);
  });
});
