import { describe, expect, it } from 'vitest';
import { cipherSuite } from '../../src-core/crypto/index.js';
import { MlsError } from '../../src-core/mls/errors.js';
import type { PaddingPolicy } from '../../src-core/mls/framing/index.js';
import {
  DEFAULT_PADDING,
  SenderType,
  WireFormat,
  padmeLength,
  paddedLength,
  protectApplicationData,
  unprotectPrivateMessage,
} from '../../src-core/mls/framing/index.js';
import { SecretTree } from '../../src-core/mls/secretTree.js';

describe('padding policies', () => {
  it('none keeps the length', () => {
    for (const n of [0, 1, 100, 5000]) expect(paddedLength({ kind: 'none' }, n)).toBe(n);
  });

  it('multiple rounds up to the block size', () => {
    const p: PaddingPolicy = { kind: 'multiple', of: 64 };
    expect([0, 1, 63, 64, 65, 200].map((n) => paddedLength(p, n))).toEqual([
      0, 64, 64, 64, 128, 256,
    ]);
  });

  it('buckets pick the smallest that fits, then multiples of the largest', () => {
    const p: PaddingPolicy = { kind: 'buckets', sizes: [1024, 256, 4096] };
    expect([1, 256, 257, 1024, 1025, 4096, 4097, 9000].map((n) => paddedLength(p, n))).toEqual([
      256, 256, 1024, 1024, 4096, 4096, 8192, 12288,
    ]);
  });

  it('Padmé never shrinks, is idempotent, and costs at most 12% above 256 bytes', () => {
    for (let n = 0; n < 70_000; n += n < 2048 ? 1 : 97) {
      const p = padmeLength(n);
      expect(p).toBeGreaterThanOrEqual(n);
      expect(padmeLength(p)).toBe(p);
      if (n >= 256) expect((p - n) / n).toBeLessThanOrEqual(0.12);
    }
  });

  it('Padmé leaves O(log log L) bits: 17 lengths for 1024..2047', () => {
    const outs = new Set<number>();
    for (let n = 1024; n < 2048; n++) outs.add(padmeLength(n));
    // E = 10, S = bitlength(10) = 4: the low E - S = 6 bits are rounded away, so the outputs are
    // the multiples of 64 from 1024 to 2048 inclusive.
    expect(outs.size).toBe(17);
    expect(padmeLength(1025)).toBe(1088);
  });

  it('padme with a minimum pads short messages to the minimum', () => {
    expect(paddedLength({ kind: 'padme', minimum: 256 }, 10)).toBe(256);
    expect(paddedLength({ kind: 'padme', minimum: 256 }, 1025)).toBe(1088);
  });

  it('rejects nonsense parameters with invalid_argument', () => {
    const bad: PaddingPolicy[] = [
      { kind: 'multiple', of: 0 },
      { kind: 'multiple', of: 1.5 },
      { kind: 'buckets', sizes: [] },
      { kind: 'buckets', sizes: [256, -1] },
      { kind: 'padme', minimum: -1 },
    ];
    for (const p of bad) {
      expect(() => paddedLength(p, 10)).toThrow(MlsError);
      try {
        paddedLength(p, 10);
      } catch (e) {
        expect((e as MlsError).code).toBe('invalid_argument');
      }
    }
  });
});

describe('padding in PrivateMessages', () => {
  const suite = cipherSuite(1);
  const keys = suite.generateSignatureKeyPair();
  const groupContext = {
    version: 1,
    cipherSuite: 1,
    groupId: suite.randomBytes(16),
    epoch: 1n,
    treeHash: new Uint8Array(32),
    confirmedTranscriptHash: new Uint8Array(32),
    extensions: [],
  };
  const secret = suite.randomBytes(32);
  const view = () => ({
    suite,
    groupContext,
    membershipKey: new Uint8Array(32),
    senderDataSecret: new Uint8Array(32).fill(7),
    secretTree: new SecretTree(suite, secret.slice(), 2),
  });
  const me = { leafIndex: 0, signaturePrivateKey: keys.privateKey };
  const lookup = () => keys.publicKey;

  /** The padded plaintext length the receiver's AEAD saw: ciphertext minus the tag. */
  function plaintextLength(message: ReturnType<typeof protectApplicationData>['message']): number {
    if (message.wireFormat !== WireFormat.privateMessage) throw new Error('not private');
    return message.privateMessage.ciphertext.length - suite.aead.tagSize;
  }

  function sizesFor(policy: PaddingPolicy, lengths: number[]): number[] {
    const sender = view();
    const receiver = view();
    return lengths.map((n) => {
      const m = protectApplicationData(sender, me, new Uint8Array(n).fill(0x61), {
        padding: policy,
      });
      // Every padded message still decrypts to exactly what was sent.
      if (m.message.wireFormat !== WireFormat.privateMessage) throw new Error('not private');
      const back = unprotectPrivateMessage(receiver, m.message.privateMessage, lookup);
      expect(back.content.sender).toEqual({ senderType: SenderType.member, leafIndex: 0 });
      expect(back.content.contentType === 1 && back.content.applicationData.length).toBe(n);
      return plaintextLength(m.message);
    });
  }

  it('multiple of 64: every plaintext length is a multiple of 64', () => {
    const sizes = sizesFor({ kind: 'multiple', of: 64 }, [0, 1, 7, 30, 100, 1000, 3000]);
    for (const s of sizes) expect(s % 64).toBe(0);
  });

  it('buckets: short messages of different lengths are indistinguishable', () => {
    const sizes = sizesFor({ kind: 'buckets', sizes: [256, 1024] }, [1, 9, 40, 120]);
    expect(new Set(sizes)).toEqual(new Set([256]));
    expect(sizesFor({ kind: 'buckets', sizes: [256, 1024] }, [500, 900])).toEqual([1024, 1024]);
    expect(sizesFor({ kind: 'buckets', sizes: [256, 1024] }, [1500])).toEqual([2048]);
  });

  it('the default hides "Wednesday" vs "When are we going to the movie?"', () => {
    const enc = new TextEncoder();
    const sender = view();
    const a = protectApplicationData(sender, me, enc.encode('Wednesday'));
    const b = protectApplicationData(sender, me, enc.encode('When are we going to the movie?'));
    expect(plaintextLength(a.message)).toBe(plaintextLength(b.message));
    expect(DEFAULT_PADDING).toEqual({ kind: 'padme', minimum: 256 });
    expect(plaintextLength(a.message)).toBe(256);
  });

  it('none: the plaintext length follows the content byte for byte', () => {
    const [a, b] = sizesFor({ kind: 'none' }, [10, 11]);
    expect(b! - a!).toBe(1);
  });
});
