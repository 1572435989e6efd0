/**
 * The crypto layer: the seven MLS cipher suites behind one synchronous interface, and HPKE.
 *
 *   cipherSuite(id, { backend })   the CipherSuite MLS is written against (types.ts)
 *   hpkeSuite(kem, kdf, aead)      RFC 9180 in all four modes, for other uses and the vectors
 */
export { cipherSuite, isCipherSuiteId, SUITES } from './suites.js';
export { CryptoError } from './errors.js';
export type { CryptoErrorCode } from './errors.js';
export type { Backend } from './backend.js';
export { activeBackend } from './backend.js';
export { hpkeSuite, HpkeMode, HpkeSuite, ReceiverContext, SenderContext } from './hpke/index.js';
export type { KeyScheduleOutput, Psk, SenderSetup } from './hpke/index.js';
export { DhKem } from './kem/index.js';
export type { Encapsulation } from './kem/index.js';
export { makeSignatureScheme } from './signature/index.js';
export { AEAD_EXPORT_ONLY } from './aead.js';
export type * from './types.js';
