// Shared by the store-and-forward tests: an in-process RequestPort network (the same contract as
// libp2pPorts: a handler's DeliveryError comes back as 'peer_refused', an absent peer as
// 'peer_unreachable'), and a real MLS history (alice and bob; alice chats and commits with signed
// ordering records while bob is offline) to catch up on.
import { cipherSuite } from '../../src-core/crypto/index.js';
import type { CipherSuite } from '../../src-core/crypto/types.js';
import type { Group } from '../../src-core/mls/client/index.js';
import { MlsClient } from '../../src-core/mls/client/index.js';
import { EntryKind } from '../../src-core/delivery/ciphertextLog.js';
import type { NewLogEntry } from '../../src-core/delivery/ciphertextLog.js';
import { DeliveryError, isDeliveryError } from '../../src-core/delivery/errors.js';
import {
  commitHash,
  decodeOrderingRecord,
  encodeOrderingRecord,
  signOrderingRecord,
  verifyOrderingRecord,
} from '../../src-core/delivery/orderingRecord.js';
import type { PeerIdString, RequestPort } from '../../src-core/delivery/ports.js';
import type { SyncItem } from '../../src-core/delivery/syncProtocol.js';
import { basicCredential, untext } from '../mls/groupHarness.js';

type Handler = (body: Uint8Array, from: PeerIdString) => Promise<Uint8Array>;

export class MemoryRequestNet {
  readonly #handlers = new Map<PeerIdString, Map<string, Handler>>();
  readonly offline = new Set<PeerIdString>();
  requests = 0;

  port(self: PeerIdString): RequestPort {
    const mine = new Map<string, Handler>();
    this.#handlers.set(self, mine);
    return {
      request: async (peer, protocol, body) => {
        this.requests++;
        await Promise.resolve();
        const h = this.offline.has(peer) ? undefined : this.#handlers.get(peer)?.get(protocol);
        if (h === undefined || this.offline.has(self)) {
          throw new DeliveryError('peer_unreachable', `${peer} does not answer ${protocol}`);
        }
        try {
          return (await h(body.slice(), self)).slice();
        } catch (err) {
          const code = isDeliveryError(err) ? err.code : 'internal';
          throw new DeliveryError('peer_refused', `${peer} refused ${protocol}: ${code}`);
        }
      },
      handle: (protocol, handler) => {
        if (mine.has(protocol)) throw new DeliveryError('invalid_argument', 'already handled');
        mine.set(protocol, handler);
        return () => mine.delete(protocol);
      },
    };
  }
}

const enc = new TextEncoder();

export interface History {
  readonly suite: CipherSuite;
  readonly groupId: Uint8Array;
  /** Bob's group at the epoch he went offline in. */
  readonly bob: Group;
  readonly alice: Group;
  /** What alice logged while bob was away, in the order she sent it. */
  readonly entries: readonly NewLogEntry[];
  readonly startEpoch: bigint;
  readonly texts: readonly string[];
}

/**
 * Alice and bob in a group; bob goes offline at the epoch he joined in; alice then sends
 * `perEpoch` messages and an update commit (with her signed ordering record) per epoch, `epochs`
 * times, then `tail` more messages in the last epoch.
 */
export function buildHistory(epochs: number, perEpoch: number, tail = 0): History {
  const suite = cipherSuite(1);
  const mk = (name: string): MlsClient =>
    new MlsClient({
      suite,
      credential: basicCredential(name),
      signatureKeyPair: suite.generateSignatureKeyPair(),
    });
  const aliceClient = mk('alice');
  const bobClient = mk('bob');
  const alice = aliceClient.createGroup();
  const added = alice.add([bobClient.createKeyPackages({ count: 1 }).oneTime[0]!.message]);
  alice.merge(added.pending);
  const bob = bobClient.joinGroup(added.welcome!);
  const startEpoch = alice.epoch;
  const entries: NewLogEntry[] = [];
  const texts: string[] = [];
  const chat = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const t = `message ${texts.length} in epoch ${alice.epoch}`;
      texts.push(t);
      entries.push({
        kind: EntryKind.application,
        epoch: alice.epoch,
        message: alice.send(enc.encode(t)),
      });
    }
  };
  for (let e = 0; e < epochs; e++) {
    chat(perEpoch);
    const out = alice.update();
    const record = signOrderingRecord(alice.state, {
      term: 1n,
      commitHash: commitHash(suite, out.commit),
      reach: 1,
    });
    entries.push({
      kind: EntryKind.commit,
      epoch: alice.epoch,
      message: out.commit,
      orderingRecord: encodeOrderingRecord(record),
    });
    alice.merge(out.pending);
  }
  chat(tail);
  return { suite, groupId: alice.groupId, bob, alice, entries, startEpoch, texts };
}

/**
 * What a session does with caught-up items, done here for real: decrypt application messages and
 * merge each commit only after checking its ordering record against the epoch it orders.
 */
export function applyTo(group: Group, read: string[]): (items: readonly SyncItem[]) => void {
  return (items) => {
    for (const item of items) {
      if (item.kind === EntryKind.commit) {
        if (item.orderingRecord === undefined) throw new Error('commit without a record');
        verifyOrderingRecord(group.state, decodeOrderingRecord(item.orderingRecord));
        const ev = group.process(item.message);
        if (ev.kind !== 'commit') throw new Error(`expected a commit, got ${ev.kind}`);
        group.merge(ev.commit);
      } else {
        const ev = group.process(item.message);
        if (ev.kind !== 'application') throw new Error(`expected application data, got ${ev.kind}`);
        read.push(untext(ev.data));
      }
    }
  };
}
