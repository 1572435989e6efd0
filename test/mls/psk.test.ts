import { describe, expect, it } from 'vitest';
import { CodecError, decode, encode } from '../../src-core/codec/index.js';
import { cipherSuite } from '../../src-core/crypto/index.js';
import { MlsError } from '../../src-core/mls/errors.js';
import type { PreSharedKeyID, PskInput } from '../../src-core/mls/psk.js';
import {
  MAX_PSKS,
  PSKType,
  ResumptionPSKUsage,
  computePskSecret,
  newPskNonce,
  preSharedKeyIdCodec,
  pskLabelCodec,
} from '../../src-core/mls/psk.js';
import { hex, toHex } from '../support/shared.js';

const suite = cipherSuite(1);
const suite512 = cipherSuite(5);

function external(id: string, nonce = new Uint8Array(32).fill(7)): PreSharedKeyID {
  return { pskType: PSKType.external, pskId: new TextEncoder().encode(id), pskNonce: nonce };
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

describe('PreSharedKeyID codec', () => {
  it('encodes an external PSK id in wire order: type, psk_id, psk_nonce', () => {
    const id: PreSharedKeyID = {
      pskType: PSKType.external,
      pskId: hex('aabb'),
      pskNonce: hex('010203'),
    };
    expect(toHex(encode(preSharedKeyIdCodec, id))).toBe('01' + '02aabb' + '03010203');
    expect(decode(preSharedKeyIdCodec, encode(preSharedKeyIdCodec, id))).toEqual(id);
  });

  it('encodes a resumption PSK id: type, usage, group id, epoch, nonce', () => {
    const id: PreSharedKeyID = {
      pskType: PSKType.resumption,
      usage: ResumptionPSKUsage.branch,
      pskGroupId: hex('cafe'),
      pskEpoch: 0x0102030405060708n,
      pskNonce: hex('ff'),
    };
    const bytes = encode(preSharedKeyIdCodec, id);
    expect(toHex(bytes)).toBe('02' + '03' + '02cafe' + '0102030405060708' + '01ff');
    expect(decode(preSharedKeyIdCodec, bytes)).toEqual(id);
  });

  it('rejects reserved and unknown types and usages', () => {
    for (const bad of [
      '00' + '00' + '00',
      '03' + '00' + '00',
      '02' + '00' + '00' + '0000000000000000' + '00',
      '02' + '04' + '00' + '0000000000000000' + '00',
    ]) {
      expect(() => decode(preSharedKeyIdCodec, hex(bad))).toThrow(CodecError);
    }
  });

  it('encodes PSKLabel as id, uint16 index, uint16 count', () => {
    const id: PreSharedKeyID = { pskType: PSKType.external, pskId: hex('aa'), pskNonce: hex('bb') };
    expect(toHex(encode(pskLabelCodec, { id, index: 2, count: 0x0103 }))).toBe(
      '01' + '01aa' + '01bb' + '0002' + '0103',
    );
  });
});

describe('computePskSecret', () => {
  it('is the all-zero vector of length Nh without PSKs', () => {
    expect(computePskSecret(suite, [])).toEqual(new Uint8Array(32));
    expect(computePskSecret(suite512, [])).toEqual(new Uint8Array(64));
  });

  it('differs for every count from 0 to 4, is deterministic and leaves inputs intact', () => {
    const psks: PskInput[] = [0, 1, 2, 3].map((i) => ({
      id: external(`psk ${i}`),
      psk: new Uint8Array(32).fill(i + 1),
    }));
    const copies = psks.map((p) => Uint8Array.from(p.psk));
    const seen = new Set<string>();
    for (let n = 0; n <= psks.length; n++) {
      const s = computePskSecret(suite, psks.slice(0, n));
      expect(s).toHaveLength(32);
      expect(computePskSecret(suite, psks.slice(0, n))).toEqual(s);
      seen.add(toHex(s));
    }
    expect(seen.size).toBe(5);
    psks.forEach((p, i) => expect(p.psk).toEqual(copies[i]));
  });

  it('depends on order, on the id and on the nonce, not only on the key material', () => {
    const a = { id: external('a'), psk: new Uint8Array(32).fill(1) };
    const b = { id: external('b'), psk: new Uint8Array(32).fill(2) };
    const ab = toHex(computePskSecret(suite, [a, b]));
    expect(toHex(computePskSecret(suite, [b, a]))).not.toBe(ab);
    expect(toHex(computePskSecret(suite, [{ ...a, id: external('c') }, b]))).not.toBe(ab);
    expect(
      toHex(computePskSecret(suite, [{ ...a, id: external('a', new Uint8Array(32).fill(8)) }, b])),
    ).not.toBe(ab);
  });

  it('accepts resumption PSKs', () => {
    const id: PreSharedKeyID = {
      pskType: PSKType.resumption,
      usage: ResumptionPSKUsage.application,
      pskGroupId: hex('0102'),
      pskEpoch: 5n,
      pskNonce: newPskNonce(suite),
    };
    expect(computePskSecret(suite, [{ id, psk: new Uint8Array(32).fill(9) }])).toHaveLength(32);
  });

  it('rejects a psk_nonce whose length is not Nh, and too many PSKs', () => {
    expectMlsCode(
      () =>
        computePskSecret(suite, [
          { id: external('x', new Uint8Array(31)), psk: new Uint8Array(32) },
        ]),
      'psk_invalid',
    );
    expectMlsCode(
      () => computePskSecret(suite512, [{ id: external('x'), psk: new Uint8Array(64) }]),
      'psk_invalid',
    );
    const many = new Array<PskInput>(MAX_PSKS + 1).fill({
      id: external('x'),
      psk: new Uint8Array(32),
    });
    expectMlsCode(() => computePskSecret(suite, many), 'psk_invalid');
  });

  it('makes fresh Nh-byte nonces', () => {
    expect(newPskNonce(suite512)).toHaveLength(64);
    expect(toHex(newPskNonce(suite))).not.toBe(toHex(newPskNonce(suite)));
  });
});
