import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { open, seal } from '../../src-core/store/aead.js';
import { StoreError, mapLevelError } from '../../src-core/store/errors.js';

describe('store AEAD: XChaCha20-Poly1305 from HChaCha20 + native ChaCha20-Poly1305', () => {
  it('matches noble xchacha20poly1305 byte for byte, and opens what noble seals', () => {
    for (const size of [0, 1, 15, 16, 63, 64, 65, 1000, 70_000]) {
      const key = randomBytes(32);
      const nonce = randomBytes(24);
      const aad = randomBytes(size % 40);
      const plain = randomBytes(size);
      const ours = seal(key, plain, aad, nonce);
      const noble = xchacha20poly1305(key, nonce, aad).encrypt(plain);
      expect(Buffer.from(ours.subarray(24)).equals(Buffer.from(noble))).toBe(true);
      expect(Buffer.from(open(key, ours, aad)!).equals(plain)).toBe(true);
    }
  });

  it('draft-irtf-cfrg-xchacha-03 §A.3.1 test vector', () => {
    const h = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');
    const plaintext = Buffer.from(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
    );
    const aad = h('50515253c0c1c2c3c4c5c6c7');
    const key = h('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
    const nonce = h('404142434445464748494a4b4c4d4e4f5051525354555657');
    const sealed = seal(key, plaintext, aad, nonce);
    const expectedTag = h('c0875924c1c7987947deafd8780acf49');
    expect(Buffer.from(sealed.subarray(sealed.length - 16)).equals(expectedTag)).toBe(true);
    expect(Buffer.from(sealed.subarray(24, 24 + 16)).toString('hex')).toBe(
      'bd6d179d3e83d43b9576579493c0e939',
    );
  });

  it('rejects any flipped bit, a wrong aad, a wrong key, and short input', () => {
    const key = randomBytes(32);
    const sealed = seal(key, Buffer.from('secret value'), Buffer.from('record key'));
    for (let i = 0; i < sealed.length; i++) {
      const bad = Uint8Array.from(sealed);
      bad[i]! ^= 0x80;
      expect(open(key, bad, Buffer.from('record key'))).toBeUndefined();
    }
    expect(open(key, sealed, Buffer.from('other key'))).toBeUndefined();
    expect(open(randomBytes(32), sealed, Buffer.from('record key'))).toBeUndefined();
    expect(open(key, sealed.subarray(0, 39), Buffer.from('record key'))).toBeUndefined();
  });
});

describe('level error mapping', () => {
  it('maps level error chains to store codes', () => {
    const chain = (outer: string, inner: string, message: string) =>
      Object.assign(new Error('Database failed to open'), {
        code: outer,
        cause: Object.assign(new Error(message), { code: inner }),
      });
    const cases: [unknown, string][] = [
      [
        chain(
          'LEVEL_DATABASE_NOT_OPEN',
          'LEVEL_LOCKED',
          'IO error: lock x/LOCK: Resource temporarily unavailable',
        ),
        'locked',
      ],
      [chain('LEVEL_DATABASE_NOT_OPEN', 'LEVEL_CORRUPTION', 'Corruption: bad block'), 'damaged'],
      [
        Object.assign(new Error('IO error: x/000005.log: No space left on device'), {
          code: 'LEVEL_IO_ERROR',
        }),
        'disk_full',
      ],
      [
        Object.assign(new Error('IO error: x: Disk quota exceeded'), { code: 'LEVEL_IO_ERROR' }),
        'disk_full',
      ],
      [
        Object.assign(new Error('Database is not open'), { code: 'LEVEL_DATABASE_NOT_OPEN' }),
        'closed',
      ],
      [
        Object.assign(new Error('IO error: x: Permission denied'), { code: 'LEVEL_IO_ERROR' }),
        'io_error',
      ],
    ];
    for (const [err, code] of cases) {
      const mapped = mapLevelError(err, 'test');
      expect(mapped).toBeInstanceOf(StoreError);
      expect(mapped.code).toBe(code);
    }
  });
});
