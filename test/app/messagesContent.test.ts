import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AppContent, ContentBody } from '../../src-core/app/content/index.js';
import {
  CONTENT_LIMITS,
  ContentError,
  ContentType,
  decodeAppContent,
  encodeAppContent,
} from '../../src-core/app/content/index.js';

const id = (n: number): Uint8Array => new Uint8Array(16).fill(n);

function content(body: ContentBody): AppContent {
  return { messageId: id(1), sentAtMs: 1_700_000_000_000n, body };
}

const bodies: ContentBody[] = [
  { type: ContentType.text, text: 'hello ✓' },
  { type: ContentType.reply, ref: id(2), text: 'yes' },
  { type: ContentType.edit, ref: id(2), text: 'fixed' },
  { type: ContentType.delete, ref: id(2) },
  { type: ContentType.reaction, ref: id(2), emoji: '👍', on: true },
  { type: ContentType.readUpTo, ref: id(3) },
  {
    type: ContentType.attachment,
    manifest: {
      fileKey: new Uint8Array(32).fill(7),
      size: 300_000n,
      chunkSize: 256 * 1024,
      chunkHashes: new Uint8Array(64).fill(9),
      name: 'a.bin',
      mime: 'application/octet-stream',
    },
    caption: 'the file',
  },
  { type: ContentType.rename, name: 'Team' },
  { type: ContentType.role, userId: 'ab'.repeat(16), role: 1 },
  {
    type: ContentType.policy,
    policy: {
      membership: 1,
      keyUpdateAfterMs: 86_400_000n,
      keyUpdateAfterMessages: 100,
      removeIdleAfterMs: undefined,
      disappearAfterMs: 3_600_000n,
    },
  },
];

describe('app content format', () => {
  it('round-trips every content type', () => {
    for (const body of bodies) {
      const c = content(body);
      expect(decodeAppContent(encodeAppContent(c))).toEqual(c);
    }
  });

  it('refuses an unknown version, type, truncation and trailing bytes with ContentError', () => {
    const good = encodeAppContent(content(bodies[0]!));
    const v2 = good.slice();
    v2[1] = 2;
    expect(() => decodeAppContent(v2)).toThrow(
      expect.objectContaining({ code: 'unsupported_version' }),
    );
    const badType = good.slice();
    badType[2 + 16 + 8] = 99;
    expect(() => decodeAppContent(badType)).toThrow(expect.objectContaining({ code: 'malformed' }));
    expect(() => decodeAppContent(good.subarray(0, good.length - 1))).toThrow(ContentError);
    expect(() => decodeAppContent(new Uint8Array([...good, 0]))).toThrow(ContentError);
  });

  it('enforces the bounds when encoding and decoding', () => {
    const long = 'x'.repeat(CONTENT_LIMITS.textBytes + 1);
    expect(() => encodeAppContent(content({ type: ContentType.text, text: long }))).toThrow(
      ContentError,
    );
    const manifest = (bodies[6] as Extract<ContentBody, { type: 7 }>).manifest;
    // One chunk hash short of what the size needs.
    expect(() =>
      encodeAppContent(
        content({
          type: ContentType.attachment,
          manifest: { ...manifest, chunkHashes: new Uint8Array(32) },
          caption: '',
        }),
      ),
    ).toThrow(ContentError);
    expect(() =>
      encodeAppContent(content({ type: ContentType.reaction, ref: id(1), emoji: '', on: true })),
    ).toThrow(ContentError);
  });

  it('never throws anything but ContentError on arbitrary bytes', () => {
    const samples = bodies.map((b) => encodeAppContent(content(b)));
    fc.assert(
      fc.property(
        fc.nat(samples.length - 1),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.nat(),
        (which, flips, cut) => {
          const b = samples[which]!.slice(0, Math.max(2, samples[which]!.length - (cut % 8)));
          for (const [at, v] of flips) b[at % b.length] = v;
          try {
            decodeAppContent(b);
          } catch (e) {
            expect(e).toBeInstanceOf(ContentError);
          }
        },
      ),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        try {
          decodeAppContent(b);
        } catch (e) {
          expect(e).toBeInstanceOf(ContentError);
        }
      }),
    );
  });
});
