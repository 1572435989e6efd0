/**
 * Fresh reuse guards (RFC 9420 §6.3.1) for PrivateMessages.
 *
 * Each message needs four random bytes, and a CSPRNG call costs ~2.5 µs whatever its size (a
 * measurable part of protecting a message), so guards are cut from a buffer of CSPRNG output
 * filled 1 KiB at a time. A guard is no key: it travels inside the encrypted sender data and
 * only keeps two messages under one secret-tree key from sharing a nonce. Each guard is wiped
 * from the buffer as it is handed out, so the buffer only holds guards not yet used.
 */
import { randomBytes } from '../../crypto/random.js';
import { REUSE_GUARD_LENGTH } from './senderData.js';

const POOL_SIZE = 1024;

let pool: Uint8Array = new Uint8Array(0);
let at = 0;

export function freshReuseGuard(): Uint8Array {
  if (at + REUSE_GUARD_LENGTH > pool.length) {
    pool = randomBytes(POOL_SIZE);
    at = 0;
  }
  const guard = pool.slice(at, at + REUSE_GUARD_LENGTH);
  pool.fill(0, at, at + REUSE_GUARD_LENGTH);
  at += REUSE_GUARD_LENGTH;
  return guard;
}
