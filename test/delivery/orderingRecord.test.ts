import { describe, expect, it } from 'vitest';
import { encode } from '../../src-core/codec/index.js';
import { groupChannel } from '../../src-core/delivery/channel.js';
import { EnvelopeKind, decodeEnvelope, encodeEnvelope } from '../../src-core/delivery/envelope.js';
import { DeliveryError } from '../../src-core/delivery/errors.js';
import type { DeliveryErrorCode } from '../../src-core/delivery/errors.js';
import type { OrderingRecord } from '../../src-core/delivery/orderingRecord.js';
import {
  ORDERING_RECORD_LABEL,
  commitHash,
  orderingRecordTBSCodec,
} from '../../src-core/delivery/orderingRecord.js';
import { toHex } from '../support/shared.js';
import { groupOf } from './support/groupFixture.js';
import type { Fixture } from './support/groupFixture.js';

function rejectedCodes(f: Fixture, name: string): DeliveryErrorCode[] {
  return (f.members.find((m) => m.name === name)!.seen.rejected ?? []).map((r) => r.error.code);
}

/** Bob's commit reaches carol, the leader's record does not. */
function pendingCommitAtCarol(f: Fixture): Uint8Array {
  let commit: Uint8Array | undefined;
  f.net.drop = (m) => {
    const env = decodeEnvelope(m.data);
    if (env.kind === EnvelopeKind.commit) commit = env.mlsMessage;
    return env.kind === EnvelopeKind.orderingRecord && m.to === 'carol';
  };
  f.members[1]!.session.update();
  f.run(10);
  f.net.drop = () => false;
  return commit!;
}

function forged(f: Fixture, commit: Uint8Array, change: Partial<OrderingRecord>, signer: number) {
  const carol = f.members[2]!.session;
  const tbs = {
    groupId: carol.group.groupId,
    epoch: carol.epoch,
    term: 0n,
    commitHash: commitHash(f.suite, commit),
    leaderLeaf: 0,
    reach: 3,
    ...change,
  };
  const signature = f.suite.signWithLabel(
    f.members[signer]!.keys.privateKey,
    ORDERING_RECORD_LABEL,
    encode(orderingRecordTBSCodec, tbs),
  );
  const record: OrderingRecord = { ...tbs, signature };
  return encodeEnvelope({
    groupId: tbs.groupId,
    epoch: carol.epoch,
    kind: EnvelopeKind.orderingRecord,
    record,
  });
}

describe('ordering records and envelopes', () => {
  it('a forged record (wrong signer, wrong epoch, not the leader) is rejected and changes nothing', () => {
    const f = groupOf(['alice', 'bob', 'carol']);
    const commit = pendingCommitAtCarol(f);
    const carol = f.members[2]!.session;
    const before = toHex(carol.group.epochAuthenticator());
    expect(carol.epoch).toBe(1n);

    // Claims to be alice's (leaf 0) but carol signed it.
    carol.receive(forged(f, commit, {}, 2));
    // Signed by carol as herself, but carol does not lead term 0.
    carol.receive(forged(f, commit, { leaderLeaf: 2 }, 2));
    // Alice's real key, but for another epoch than the envelope says.
    carol.receive(forged(f, commit, { epoch: 0n }, 0));
    // Not an envelope at all.
    carol.receive(new Uint8Array([0, 1, 2, 3]));
    expect(rejectedCodes(f, 'carol')).toEqual([
      'invalid_signature',
      'not_leader',
      'wrong_epoch',
      'decode_failed',
    ]);
    expect(carol.epoch).toBe(1n);
    expect(toHex(carol.group.epochAuthenticator())).toBe(before);

    // The real record (alice's key, her leaf, this epoch) is accepted.
    carol.receive(forged(f, commit, {}, 0));
    expect(carol.epoch).toBe(2n);
    expect(toHex(carol.group.epochAuthenticator())).toBe(
      toHex(f.members[0]!.session.group.epochAuthenticator()),
    );
  });

  it('an envelope must agree with the MLS message it carries', () => {
    const f = groupOf(['alice', 'bob']);
    const alice = f.members[0]!.session;
    const app = alice.group.send(new Uint8Array([1]));
    const groupId = alice.group.groupId;
    const ok = encodeEnvelope({
      groupId,
      epoch: 1n,
      kind: EnvelopeKind.application,
      mlsMessage: app,
    });
    expect(decodeEnvelope(ok).kind).toBe(EnvelopeKind.application);
    const cases: [Uint8Array, DeliveryErrorCode][] = [
      [
        encodeEnvelope({ groupId, epoch: 1n, kind: EnvelopeKind.commit, mlsMessage: app }),
        'wrong_kind',
      ],
      [
        encodeEnvelope({ groupId, epoch: 2n, kind: EnvelopeKind.application, mlsMessage: app }),
        'wrong_epoch',
      ],
      [
        encodeEnvelope({
          groupId: new Uint8Array([9]),
          epoch: 1n,
          kind: EnvelopeKind.application,
          mlsMessage: app,
        }),
        'wrong_group',
      ],
      [ok.slice(0, ok.length - 1), 'decode_failed'],
      [Uint8Array.of(0, 2, ...ok.slice(2)), 'unsupported_version'],
    ];
    for (const [bytes, code] of cases) {
      let caught: unknown;
      try {
        decodeEnvelope(bytes);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(DeliveryError);
      expect((caught as DeliveryError).code).toBe(code);
    }
  });

  it('the channel name is derived from the group id, not equal to it', () => {
    const id = new TextEncoder().encode('a group');
    const name = groupChannel(id);
    expect(name).toMatch(/^parley\/g\/[a-z2-7]{32}$/);
    expect(name).not.toContain(toHex(id));
    expect(groupChannel(id)).toBe(name);
    expect(groupChannel(new TextEncoder().encode('a group!'))).not.toBe(name);
  });
});
