import { describe, expect, it } from 'vitest';
import { encode } from '../../src-core/codec/index.js';
import { cipherSuite } from '../../src-core/crypto/index.js';
import {
  epochCode,
  epochCodeContextCodec,
  groupEpochCode,
  sameEpochCode,
} from '../../src-core/identity/epochCode.js';
import { IdentityError } from '../../src-core/identity/errors.js';
import type { Group, GroupEvent, PendingCommit } from '../../src-core/mls/client/index.js';
import { MlsClient } from '../../src-core/mls/client/index.js';
import { CredentialType } from '../../src-core/mls/credential.js';
import { toHex } from '../support/shared.js';

const suite = cipherSuite(1);

function client(name: string): MlsClient {
  return new MlsClient({
    suite,
    credential: { credentialType: CredentialType.basic, identity: new TextEncoder().encode(name) },
    signatureKeyPair: suite.generateSignatureKeyPair(),
  });
}

function pendingOf(e: GroupEvent): PendingCommit {
  if (e.kind !== 'commit') throw new Error(`expected a commit, got ${e.kind}`);
  return e.commit;
}

function settle(by: Group, out: { commit: Uint8Array; pending: PendingCommit }, others: Group[]) {
  for (const g of others) g.merge(pendingOf(g.process(out.commit)));
  by.merge(out.pending);
}

describe('epoch code', () => {
  it('known answer: context encoding and code for a fixed authenticator', () => {
    const groupId = new TextEncoder().encode('group');
    const context = encode(epochCodeContextCodec, {
      label: 'parley epoch code',
      version: 1,
      groupId,
      epoch: 7n,
    });
    expect(toHex(context)).toBe(
      '11' +
        toHex(new TextEncoder().encode('parley epoch code')) +
        '0001' +
        '05' +
        toHex(groupId) +
        '0000000000000007',
    );
    const code = epochCode({
      groupId,
      epoch: 7n,
      epochAuthenticator: Uint8Array.from({ length: 32 }, (_, i) => i),
    });
    // HMAC-SHA-256 computed independently (Python hmac/hashlib) over the context above.
    expect(code.digits).toBe('81803100009825197289');
    expect(code.groups).toEqual(['81803', '10000', '98251', '97289']);
  });

  it('every member of a group of 3 shows the same code, and it changes each epoch', () => {
    const alice = client('alice');
    const bob = client('bob');
    const carol = client('carol');
    const a = alice.createGroup();
    const added = a.add([
      bob.createKeyPackages({ count: 1, lastResort: false }).oneTime[0]!.message,
      carol.createKeyPackages({ count: 1, lastResort: false }).oneTime[0]!.message,
    ]);
    // The code can be compared before merging (from the pending commit's authenticator).
    const before = epochCode({
      groupId: a.groupId,
      epoch: added.pending.epoch,
      epochAuthenticator: added.pending.epochAuthenticator(),
    });
    a.merge(added.pending);
    const b = bob.joinGroup(added.welcome!);
    const c = carol.joinGroup(added.welcome!);
    const group = [a, b, c];

    const seen = new Set<string>();
    const check = (): string => {
      const codes = group.map((g) => groupEpochCode(g).digits);
      expect(new Set(codes).size).toBe(1);
      expect(codes[0]).toMatch(/^\d{20}$/);
      seen.add(codes[0]!);
      return codes[0]!;
    };
    expect(check()).toBe(before.digits);

    settle(b, b.update(), [a, c]);
    check();
    settle(c, c.update(), [a, b]);
    check();
    settle(a, a.commit({ path: 'always' }), [b, c]);
    check();
    expect(seen.size).toBe(4);
    expect(a.epoch).toBe(4n);
    expect(sameEpochCode(groupEpochCode(b), groupEpochCode(c).groups.join(' '))).toBe(true);
  });

  it('differs across groups even for the same epoch number; mismatch is detected', () => {
    const alice = client('alice');
    const g1 = alice.createGroup();
    const g2 = alice.createGroup();
    expect(g1.epoch).toBe(g2.epoch);
    const c1 = groupEpochCode(g1);
    const c2 = groupEpochCode(g2);
    expect(c1.digits).not.toBe(c2.digits);
    expect(sameEpochCode(c1, c2.digits)).toBe(false);
    expect(sameEpochCode(c1, c1.digits.slice(0, 19))).toBe(false);
  });

  it('the same authenticator under another group id or epoch gives another code', () => {
    const auth = new Uint8Array(32).fill(9);
    const base = epochCode({ groupId: new Uint8Array([1]), epoch: 1n, epochAuthenticator: auth });
    const otherGroup = epochCode({
      groupId: new Uint8Array([2]),
      epoch: 1n,
      epochAuthenticator: auth,
    });
    const otherEpoch = epochCode({
      groupId: new Uint8Array([1]),
      epoch: 2n,
      epochAuthenticator: auth,
    });
    expect(otherGroup.digits).not.toBe(base.digits);
    expect(otherEpoch.digits).not.toBe(base.digits);
  });

  it('rejects a too-short authenticator', () => {
    expect(() =>
      epochCode({ groupId: new Uint8Array(1), epoch: 0n, epochAuthenticator: new Uint8Array(8) }),
    ).toThrow(IdentityError);
  });
});
