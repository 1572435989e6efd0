// Regression: rememberPeer read the record, merged, and wrote it back with nothing ordering two
// updates of one peer. An identify result and addContact arriving together both read the old
// record; the identify write, landing second, cleared the contact flag set a moment before, and
// the contact was never redialled. The book here is the real in-memory book with a delay on
// each read and write, as a disk-backed book has.
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryPeerAddressBook, forgetPeer, rememberPeer } from '../../src-core/net/index.js';
import type { PeerRecord } from '../../src-core/net/index.js';
import { startNode, stopAll, waitFor } from './helpers.js';

afterEach(stopAll);

const PEER = '12D3KooWGRU6JU6UJqyLHuXajPJi5ksvt8zTxKL9u5hEHtmHHuVL';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class SlowBook extends MemoryPeerAddressBook {
  constructor(readonly delayMs = 5) {
    super();
  }
  override async get(peerId: string): Promise<PeerRecord | undefined> {
    await sleep(this.delayMs);
    return super.get(peerId);
  }
  override async put(record: PeerRecord): Promise<void> {
    await sleep(this.delayMs);
    return super.put(record);
  }
}

describe('address book updates', () => {
  it('a concurrent identify update keeps the contact flag set by addContact', async () => {
    const book = new SlowBook();
    await Promise.all([
      rememberPeer(book, PEER, ['/ip4/127.0.0.1/tcp/1'], { contact: true }),
      rememberPeer(book, PEER, ['/ip4/127.0.0.1/tcp/2'], { seenAtMs: 5 }),
    ]);
    const r = await book.get(PEER);
    expect(r?.contact).toBe(true);
    expect(r?.addrs).toEqual(['/ip4/127.0.0.1/tcp/2', '/ip4/127.0.0.1/tcp/1']);
    expect(r?.lastSeenMs).toBe(5);
  });

  it('an update queued before a delete does not bring the record back', async () => {
    const book = new SlowBook();
    await rememberPeer(book, PEER, ['/ip4/127.0.0.1/tcp/1'], { contact: true });
    await Promise.all([
      rememberPeer(book, PEER, ['/ip4/127.0.0.1/tcp/2'], { seenAtMs: 5 }),
      forgetPeer(book, PEER),
    ]);
    expect(await book.get(PEER)).toBeUndefined();
  });

  it('a failed update does not block the next one', async () => {
    const book = new SlowBook();
    await expect(rememberPeer(book, 'not a peer id', [])).rejects.toMatchObject({
      code: 'invalid_argument',
    });
    await expect(rememberPeer(book, PEER, [], { contact: true })).resolves.toMatchObject({
      contact: true,
    });
  });

  it('a node that makes a peer a contact as it connects keeps it a contact', async () => {
    for (let round = 0; round < 5; round++) {
      const book = new SlowBook(40);
      const a = await startNode({ addressBook: book });
      const b = await startNode();
      // addContact lands while identify's update of the same record is under way.
      const added = new Promise<void>((resolve, reject) => {
        a.events.on('peer:online', ({ peerId }) => {
          if (peerId === b.peerId) a.addContact(b.peerId, b.addresses()).then(resolve, reject);
        });
      });
      await a.dial(b.addresses()[0]!);
      await added;
      await waitFor(async () => ((await book.get(b.peerId))?.lastSeenMs ?? 0) > 0, 'identify');
      expect((await book.get(b.peerId))?.contact).toBe(true);
      await stopAll();
    }
  });
});
