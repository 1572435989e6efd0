// src-core/identity: user keys, device certificates, leaf certificates, the Parley credential
// inside MLS BasicCredentials, identity records, credential validation and device linking.
// Each part adds its exports below (one block per file).
export { IdentityError } from './errors.js';
export type { IdentityErrorCode } from './errors.js';
export * from './keys.js';
export { IDENTITY_FORMAT_VERSION } from './format.js';
export * from './deviceCertificate.js';
export * from './identityRecord.js';
export * from './leafCertificate.js';
export * from './parleyCredential.js';
export * from './credentialValidator.js';
export * from './deviceLinking.js';
// Out-of-band checks, trust, records, membership (identity B).
export * from './safetyNumber.js';
export * from './epochCode.js';
export * from './trustStore.js';
export * from './recordBook.js';
export * from './membershipLog.js';
