// Random and mutated bytes at every store-and-forward decoder and request handler: each answer is
// a typed refusal or a well-formed reply, nothing throws anything else, and nothing is kept.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cipherSuite } from '../../src-core/crypto/index.js';
import {
  CiphertextLog,
  MemoryLogStore,
  decodeLogEntry,
  encodeLogEntry,
  messageIdOf,
} from '../../src-core/delivery/ciphertextLog.js';
import { isDeliveryError } from '../../src-core/delivery/errors.js';
import { IdentityGossip } from '../../src-core/delivery/identityGossip.js';
import { KeyPackageHolder } from '../../src-core/delivery/keyPackageDirectory.js';
import { MailboxHolder } from '../../src-core/delivery/mailbox.js';
import {
  SyncServer,
  decodeSyncRequest,
  decodeSyncResponse,
} from '../../src-core/delivery/syncProtocol.js';
import { CodecError } from '../../src-core/codec/index.js';
import { MemoryRequestNet } from './storeForwardFixture.js';

const suite = cipherSuite(1);

describe('hostile bytes at the store-and-forward protocols', () => {
  it('decoders throw only DeliveryError (sync) or CodecError (stored entries)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        for (const f of [decodeSyncRequest, decodeSyncResponse]) {
          try {
            f(b);
          } catch (e) {
            expect(isDeliveryError(e)).toBe(true);
          }
        }
        try {
          decodeLogEntry(b);
        } catch (e) {
          expect(e).toBeInstanceOf(CodecError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('every handler answers garbage with a refusal and keeps nothing', async () => {
    const net = new MemoryRequestNet();
    const log = await CiphertextLog.open(new MemoryLogStore());
    new SyncServer({ log, requests: net.port('s'), authorize: () => true });
    const kp = new KeyPackageHolder({ requests: net.port('k'), suite });
    const mb = new MailboxHolder({ requests: net.port('m'), self: 'm' });
    let records = 0;
    new IdentityGossip({
      channels: {
        publish: () => Promise.resolve(),
        subscribe: () => () => undefined,
        subscribers: () => [],
      },
      requests: net.port('i'),
      clock: { now: () => 0, setTimer: () => ({ id: 0 }), clearTimer: () => undefined },
      random: { next: () => 0.5 },
      validate: () => 'accept',
      onRecord: () => records++,
    });
    const port = net.port('x');
    const versioned = fc.tuple(
      fc.constantFrom(1, 2),
      fc.integer({ min: 0, max: 5 }),
      fc.uint8Array({ maxLength: 200 }),
    );
    await fc.assert(
      fc.asyncProperty(versioned, async ([v, t, rest]) => {
        const body = new Uint8Array([v, t, ...rest]);
        for (const [peer, protocol] of [
          ['s', 'sync'],
          ['k', 'keypackages'],
          ['m', 'mailbox'],
          ['i', 'identity'],
        ] as const) {
          try {
            await port.request(peer, protocol, body);
          } catch (e) {
            expect(e).toMatchObject({ code: 'peer_refused' });
            expect(String((e as Error).message)).not.toContain('internal');
          }
        }
      }),
      { numRuns: 500 },
    );
    expect(log.groups()).toEqual([]);
    expect(kp.held(new Uint8Array(32))).toEqual({ oneTime: 0, lastResort: false });
    // (A random body can be a valid mailbox deposit or identity push: any bytes are a payload, so
    // the mailbox and the identity records are not expected to stay empty.)
    void mb;
    void records;
  });

  it('a stored entry survives encode/decode for any content', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 100 }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.option(fc.uint8Array({ maxLength: 50 }), { nil: undefined }),
        fc.nat(),
        (message, epoch, record, seq) => {
          const e = {
            kind: record === undefined ? (1 as const) : (3 as const),
            epoch,
            message,
            orderingRecord: record,
            messageId: messageIdOf(message),
            seq,
            receivedAt: 1_700_000_000_000,
          };
          expect(decodeLogEntry(encodeLogEntry(e))).toEqual(e);
        },
      ),
    );
  });
});
