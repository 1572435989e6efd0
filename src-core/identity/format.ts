/**
 * What every identity wire format shares: a leading `uint16 version`, checked before anything
 * else is parsed so a newer format is reported as such rather than as garbage, and one error type
 * (IdentityError) for every way untrusted bytes can be wrong.
 */
import { CodecError, decode, fixedBytes, refine, utf8String } from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import { IdentityError } from './errors.js';
import { ED25519_PUBLIC_KEY_BYTES } from './keys.js';

/** The only version of every identity format defined so far. */
export const IDENTITY_FORMAT_VERSION = 1;

/** `opaque key[32]`: an Ed25519 public key (user key, device key). */
export const ed25519PublicKey: Codec<Uint8Array> = fixedBytes(ED25519_PUBLIC_KEY_BYTES);

/** A UTF-8 string of at most `max` bytes; longer ones are rejected when decoded. */
export function boundedString(max: number, what: string): Codec<string> {
  return refine(utf8String, (s) =>
    utf8Length(s) > max ? `${what} longer than ${max} bytes` : undefined,
  );
}

const textEncoder = new TextEncoder();

export function utf8Length(s: string): number {
  return textEncoder.encode(s).length;
}

/**
 * Decodes a versioned structure from untrusted bytes. Throws IdentityError 'unsupported_version'
 * for a version other than 1 and 'malformed' (with the CodecError as cause) for anything else
 * that does not parse; nothing else escapes.
 */
export function decodeVersioned<T>(codec: Codec<T>, bytes: Uint8Array, what: string): T {
  if (bytes.length < 2) throw new IdentityError('malformed', `${what}: ${bytes.length} bytes`);
  const version = (bytes[0]! << 8) | bytes[1]!;
  if (version !== IDENTITY_FORMAT_VERSION) {
    throw new IdentityError('unsupported_version', `${what} version ${version}`);
  }
  try {
    return decode(codec, bytes);
  } catch (e) {
    if (e instanceof CodecError) {
      throw new IdentityError('malformed', `${what} does not parse (${e.code})`, { cause: e });
    }
    throw new IdentityError('malformed', `${what} does not parse`, { cause: e });
  }
}

/** Throws 'unsupported_version' for a nested structure of a version this code cannot check. */
export function requireVersion(version: number, what: string): void {
  if (version !== IDENTITY_FORMAT_VERSION) {
    throw new IdentityError('unsupported_version', `${what} version ${version}`);
  }
}

/**
 * Time checks with a tolerance for clocks that disagree a little. Times are seconds since the
 * Unix epoch, as in MLS lifetimes.
 */
export function checkValidity(
  notBefore: bigint,
  notAfter: bigint,
  now: bigint,
  skew: bigint,
  what: string,
): void {
  if (notAfter < notBefore)
    throw new IdentityError('invalid_lifetime', `${what} ends before it starts`);
  if (now + skew < notBefore) throw new IdentityError('not_yet_valid', `${what} not valid yet`);
  if (now > notAfter + skew) throw new IdentityError('expired', `${what} expired`);
}

/** Constant-time equality of two byte strings. */
export { equalBytes } from '../crypto/bytes.js';

/** Lower-case hex, for map keys (never for secrets in messages). */
export function hexKey(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
