import { describe, expect, it } from 'vitest';
import { encode } from '../../src-core/codec/index.js';
import { cipherSuite } from '../../src-core/crypto/index.js';
import type { CipherSuite } from '../../src-core/crypto/types.js';
import { MlsError } from '../../src-core/mls/errors.js';
import { PROTOCOL_VERSION_MLS10, groupContextCodec } from '../../src-core/mls/groupContext.js';
import type { EpochSecretName } from '../../src-core/mls/keySchedule.js';
import {
  EPOCH_SECRET_LABELS,
  EpochSecrets,
  deriveEpoch,
  deriveJoinerSecret,
  epochFromJoinerSecret,
  externalInitReceive,
  externalInitSend,
  welcomeKeyNonce,
  zeroSecret,
} from '../../src-core/mls/keySchedule.js';
import { PSKType, computePskSecret } from '../../src-core/mls/psk.js';
import { toHex } from '../support/shared.js';

const suite = cipherSuite(1);
const NAMES = Object.keys(EPOCH_SECRET_LABELS) as EpochSecretName[];

function groupContext(s: CipherSuite, epoch: bigint): Uint8Array {
  return encode(groupContextCodec, {
    version: PROTOCOL_VERSION_MLS10,
    cipherSuite: s.id,
    groupId: new TextEncoder().encode('group'),
    epoch,
    treeHash: new Uint8Array(s.kdf.size).fill(3),
    confirmedTranscriptHash: new Uint8Array(s.kdf.size).fill(4),
    extensions: [],
  });
}

function input(s: CipherSuite, pskSecret = zeroSecret(s)) {
  return {
    initSecret: new Uint8Array(s.kdf.size).fill(1),
    commitSecret: new Uint8Array(s.kdf.size).fill(2),
    pskSecret,
    groupContext: groupContext(s, 1n),
  };
}

function expectMlsCode(f: () => unknown, code: string): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(MlsError);
    expect((e as MlsError).code).toBe(code);
    return;
  }
  throw new Error(`expected MlsError ${code}`);
}

function allSecrets(e: EpochSecrets): Record<string, string> {
  return Object.fromEntries(NAMES.map((n) => [n, toHex(e.get(n))]));
}

describe('key schedule', () => {
  it('gives a joiner the same epoch as the committer, and leaves the inputs intact', () => {
    const inp = input(suite);
    const before = toHex(inp.initSecret) + toHex(inp.commitSecret);
    const committer = deriveEpoch(suite, inp);
    expect(toHex(inp.initSecret) + toHex(inp.commitSecret)).toBe(before);
    const joiner = epochFromJoinerSecret(
      suite,
      Uint8Array.from(committer.joinerSecret),
      inp.pskSecret,
      inp.groupContext,
    );
    expect(toHex(joiner.welcomeSecret)).toBe(toHex(committer.welcomeSecret));
    expect(allSecrets(joiner.epoch)).toEqual(allSecrets(committer.epoch));
    expect(new Set(Object.values(allSecrets(committer.epoch))).size).toBe(NAMES.length);
  });

  it('mixes a PSK in after the joiner secret: same joiner secret, different welcome and epoch', () => {
    const psk = computePskSecret(suite, [
      {
        id: { pskType: PSKType.external, pskId: new Uint8Array([1]), pskNonce: new Uint8Array(32) },
        psk: new Uint8Array(32).fill(5),
      },
    ]);
    const without = deriveEpoch(suite, input(suite, computePskSecret(suite, [])));
    const zero = deriveEpoch(suite, input(suite));
    const withPsk = deriveEpoch(suite, input(suite, psk));
    expect(allSecrets(without.epoch)).toEqual(allSecrets(zero.epoch));
    expect(toHex(withPsk.joinerSecret)).toBe(toHex(without.joinerSecret));
    expect(toHex(withPsk.welcomeSecret)).not.toBe(toHex(without.welcomeSecret));
    for (const n of NAMES)
      expect(toHex(withPsk.epoch.get(n))).not.toBe(toHex(without.epoch.get(n)));
  });

  it('binds the epoch to the GroupContext', () => {
    const a = deriveEpoch(suite, input(suite));
    const b = deriveEpoch(suite, { ...input(suite), groupContext: groupContext(suite, 2n) });
    expect(toHex(a.joinerSecret)).not.toBe(toHex(b.joinerSecret));
  });

  it('chains epochs through init_secret', () => {
    const first = deriveEpoch(suite, input(suite)).epoch;
    const viaMethod = first.next(zeroSecret(suite), zeroSecret(suite), groupContext(suite, 2n));
    const viaFunction = deriveEpoch(suite, {
      initSecret: first.initSecret,
      commitSecret: zeroSecret(suite),
      pskSecret: zeroSecret(suite),
      groupContext: groupContext(suite, 2n),
    });
    expect(allSecrets(viaMethod.epoch)).toEqual(allSecrets(viaFunction.epoch));
  });

  it('rejects secrets of the wrong length', () => {
    expectMlsCode(
      () => deriveJoinerSecret(suite, new Uint8Array(31), new Uint8Array(32), new Uint8Array(0)),
      'invalid_argument',
    );
    expectMlsCode(
      () => deriveEpoch(suite, { ...input(suite), pskSecret: new Uint8Array(64) }),
      'invalid_argument',
    );
    expectMlsCode(
      () => EpochSecrets.fromEpochSecret(suite, new Uint8Array(16)),
      'invalid_argument',
    );
  });

  it('derives welcome key and nonce of the AEAD sizes', () => {
    const { welcomeSecret } = deriveEpoch(suite, input(suite));
    const { key, nonce } = welcomeKeyNonce(suite, welcomeSecret);
    expect(key).toHaveLength(suite.aead.keySize);
    expect(nonce).toHaveLength(suite.aead.nonceSize);
  });
});

describe('EpochSecrets lifecycle', () => {
  it('zeroizes the epoch secret it was built from', () => {
    const epochSecret = new Uint8Array(32).fill(9);
    EpochSecrets.fromEpochSecret(suite, epochSecret);
    expect(epochSecret).toEqual(new Uint8Array(32));
  });

  it('hands a secret over once with take, then reports it deleted', () => {
    const e = deriveEpoch(suite, input(suite)).epoch;
    const enc = e.take('encryption');
    expect(enc).toHaveLength(32);
    expect(e.has('encryption')).toBe(false);
    expectMlsCode(() => e.encryptionSecret, 'secret_deleted');
    expectMlsCode(() => e.take('encryption'), 'secret_deleted');
    expect(enc.some((b) => b !== 0)).toBe(true);
  });

  it('forget and destroy zeroize the buffers', () => {
    const e = deriveEpoch(suite, input(suite)).epoch;
    const init = e.initSecret;
    e.forget('init');
    expect(init).toEqual(new Uint8Array(32));
    expectMlsCode(
      () => e.next(zeroSecret(suite), zeroSecret(suite), new Uint8Array(0)),
      'secret_deleted',
    );
    const held = NAMES.filter((n) => n !== 'init').map((n) => e.get(n));
    const priv = e.externalKeyPair().privateKey;
    e.destroy();
    for (const s of held) expect(s.every((b) => b === 0)).toBe(true);
    expect(priv.every((b) => b === 0)).toBe(true);
    for (const n of NAMES) expectMlsCode(() => e.get(n), 'secret_deleted');
    expectMlsCode(() => e.exporter('x', new Uint8Array(0), 16), 'secret_deleted');
  });

  it('computes and checks the confirmation tag', () => {
    const e = deriveEpoch(suite, input(suite)).epoch;
    const cth = new Uint8Array(32).fill(6);
    const tag = e.confirmationTag(cth);
    expect(toHex(tag)).toBe(toHex(suite.hash.mac(e.confirmationKey, cth)));
    expect(e.verifyConfirmationTag(cth, tag)).toBe(true);
    const bad = Uint8Array.from(tag);
    bad[31]! ^= 1;
    expect(e.verifyConfirmationTag(cth, bad)).toBe(false);
    expect(e.verifyConfirmationTag(cth, tag.subarray(0, 16))).toBe(false);
  });
});

describe('MLS-Exporter', () => {
  const e = deriveEpoch(suite, input(suite)).epoch;
  const ctx = new Uint8Array([1, 2, 3]);

  it('gives exactly the requested length, up to min(65535, 255·Nh)', () => {
    for (const len of [0, 1, 16, 32, 33, 64, 1000, 255 * 32])
      expect(e.exporter('app', ctx, len)).toHaveLength(len);
    expectMlsCode(() => e.exporter('app', ctx, 255 * 32 + 1), 'invalid_argument');
    expectMlsCode(() => e.exporter('app', ctx, -1), 'invalid_argument');
    expectMlsCode(() => e.exporter('app', ctx, 2.5), 'invalid_argument');
  });

  it('binds label, context and length', () => {
    const base = toHex(e.exporter('app', ctx, 32));
    expect(toHex(e.exporter('app', ctx, 32))).toBe(base);
    expect(toHex(e.exporter('app2', ctx, 32))).not.toBe(base);
    expect(toHex(e.exporter('app', new Uint8Array([1, 2]), 32))).not.toBe(base);
    // The length is part of KDFLabel, so a shorter export is not a prefix of a longer one.
    expect(base.startsWith(toHex(e.exporter('app', ctx, 16)))).toBe(false);
  });
});

describe('external init', () => {
  for (const id of [1, 2, 3, 5, 7] as const) {
    it(`gives joiner and members the same init_secret (suite ${id})`, () => {
      const s = cipherSuite(id);
      const e = deriveEpoch(s, input(s)).epoch;
      const { kemOutput, initSecret } = externalInitSend(s, e.externalPub);
      expect(initSecret).toHaveLength(s.kdf.size);
      expect(kemOutput).toHaveLength(s.hpke.kem.encSize);
      expect(toHex(e.externalInitSecret(kemOutput))).toBe(toHex(initSecret));
      // A second joiner gets a different secret.
      expect(toHex(externalInitSend(s, e.externalPub).initSecret)).not.toBe(toHex(initSecret));
    });
  }

  it('is deterministic with a fixed ikmE and matches the external key pair derivation', () => {
    const e = deriveEpoch(suite, input(suite)).epoch;
    expect(toHex(e.externalPub)).toBe(toHex(suite.deriveHpkeKeyPair(e.externalSecret).publicKey));
    const ikm = new Uint8Array(32).fill(0x42);
    const a = externalInitSend(suite, e.externalPub, ikm);
    const b = externalInitSend(suite, e.externalPub, ikm);
    expect(toHex(a.kemOutput)).toBe(toHex(b.kemOutput));
    expect(toHex(a.initSecret)).toBe(toHex(b.initSecret));
    expect(toHex(externalInitReceive(suite, e.externalKeyPair().privateKey, a.kemOutput))).toBe(
      toHex(a.initSecret),
    );
  });

  it('rejects a malformed kem_output with a typed error', () => {
    const e = deriveEpoch(suite, input(suite)).epoch;
    expectMlsCode(() => e.externalInitSecret(new Uint8Array(31)), 'invalid_kem_output');
    // The all-zero X25519 point has low order: the shared secret would be zero.
    expectMlsCode(() => e.externalInitSecret(new Uint8Array(32)), 'invalid_kem_output');
    const p256 = cipherSuite(2);
    const e2 = deriveEpoch(p256, input(p256)).epoch;
    const notAPoint = new Uint8Array(65).fill(0xff);
    notAPoint[0] = 4;
    expectMlsCode(() => e2.externalInitSecret(notAPoint), 'invalid_kem_output');
  });
});
