/**
 * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03) for values at rest: HChaCha20 (noble) turns the
 * key and the first 16 nonce bytes into a subkey, then node's native ChaCha20-Poly1305 (RFC 8439)
 * runs with nonce 0x00000000 ‖ nonce[16..24]. The output is byte for byte what noble's
 * `xchacha20poly1305` gives (test/store/aead.test.ts checks it), at close to AES-256-GCM's speed
 * here; noble's pure-JS ChaCha is 2–10x slower on large values (see README, "Measured").
 *
 * Why XChaCha and not AES-GCM: every record gets a fresh random 192-bit nonce, so there is no
 * limit on how many values one database key may encrypt (AES-GCM's random 96-bit nonces allow
 * 2^32 per key) and no nonce state to keep across crashes.
 */
import { hchacha } from '@noble/ciphers/chacha.js';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const KEY_LENGTH = 32;
export const NONCE_LENGTH = 24;
export const TAG_LENGTH = 16;

// "expand 32-byte k" as four little-endian words.
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

function words(bytes: Uint8Array, offset: number, count: number): Uint32Array {
  const out = new Uint32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * 4);
  for (let i = 0; i < count; i++) out[i] = view.getUint32(i * 4, true);
  return out;
}

function subkey(key: Uint8Array, nonce: Uint8Array): Buffer {
  const out = new Uint32Array(8);
  hchacha(SIGMA, words(key, 0, 8), words(nonce, 0, 4), out);
  const bytes = Buffer.alloc(32);
  for (let i = 0; i < 8; i++) bytes.writeUInt32LE(out[i]!, i * 4);
  out.fill(0);
  return bytes;
}

function innerNonce(nonce: Uint8Array): Buffer {
  const iv = Buffer.alloc(12);
  iv.set(nonce.subarray(16, 24), 4);
  return iv;
}

/** Encrypts `plaintext` into `out` at `offset`: nonce ‖ ciphertext ‖ tag. */
export function sealInto(
  key: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
  out: Uint8Array,
  offset: number,
  nonce: Uint8Array = randomBytes(NONCE_LENGTH),
): void {
  const k = subkey(key, nonce);
  const cipher = createCipheriv('chacha20-poly1305', k, innerNonce(nonce), {
    authTagLength: TAG_LENGTH,
  });
  cipher.setAAD(aad, { plaintextLength: plaintext.length });
  out.set(nonce, offset);
  const body = cipher.update(plaintext);
  const tail = cipher.final();
  out.set(body, offset + NONCE_LENGTH);
  out.set(tail, offset + NONCE_LENGTH + body.length);
  out.set(cipher.getAuthTag(), offset + NONCE_LENGTH + plaintext.length);
  k.fill(0);
}

/** nonce ‖ ciphertext ‖ tag, with a fresh random nonce unless one is given (tests only). */
export function seal(
  key: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
  nonce?: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(NONCE_LENGTH + plaintext.length + TAG_LENGTH);
  sealInto(key, plaintext, aad, out, 0, nonce);
  return out;
}

/** The plaintext, or undefined if the tag does not verify (wrong key, aad, or tampering). */
export function open(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined {
  if (sealed.length < NONCE_LENGTH + TAG_LENGTH) return undefined;
  const nonce = sealed.subarray(0, NONCE_LENGTH);
  const body = sealed.subarray(NONCE_LENGTH, sealed.length - TAG_LENGTH);
  const k = subkey(key, nonce);
  let first: Buffer | undefined;
  try {
    const decipher = createDecipheriv('chacha20-poly1305', k, innerNonce(nonce), {
      authTagLength: TAG_LENGTH,
    });
    decipher.setAAD(aad, { plaintextLength: body.length });
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LENGTH));
    first = decipher.update(body);
    const last = decipher.final();
    if (last.length === 0) return new Uint8Array(first.buffer, first.byteOffset, first.length);
    return Uint8Array.from(Buffer.concat([first, last]));
  } catch {
    // Never hand out (or keep) bytes that failed authentication.
    first?.fill(0);
    return undefined;
  } finally {
    k.fill(0);
  }
}
