/** HPKE suites by (KEM, KDF, AEAD) identifiers, constructed once per backend. */
import { makeAead } from '../aead.js';
import type { Backend } from '../backend.js';
import { makeKdf } from '../kdf.js';
import { makeKem } from '../kem/index.js';
import { HpkeSuite } from './hpke.js';

const cache = new Map<string, HpkeSuite>();

/** Throws CryptoError('unsupported') for an identifier this module does not implement. */
export function hpkeSuite(
  kemId: number,
  kdfId: number,
  aeadId: number,
  backend: Backend = 'auto',
): HpkeSuite {
  const key = `${backend}:${kemId}:${kdfId}:${aeadId}`;
  let suite = cache.get(key);
  if (suite === undefined) {
    suite = new HpkeSuite(
      makeKem(kemId, backend),
      makeKdf(kdfId, backend),
      makeAead(aeadId, backend),
    );
    cache.set(key, suite);
  }
  return suite;
}

export { HpkeMode, HpkeSuite } from './hpke.js';
export type { KeyScheduleOutput, Psk, SenderSetup } from './hpke.js';
export { ReceiverContext, SenderContext } from './context.js';
