/** Message framing and protection (RFC 9420 §6), transcript hashes (§8.2). */
export * from './authenticatedContent.js';
export * from './framedContent.js';
export * from './mlsMessage.js';
export * from './padding.js';
export * from './privateMessage.js';
export * from './protect.js';
export * from './publicMessage.js';
export * from './sender.js';
export * from './senderData.js';
export * from './transcriptHash.js';
export * from './unprotect.js';
export { constantTimeEqual } from './mac.js';
export { checkHeader, checkSenderContent, checkWireFormatContent } from './rules.js';
export * from './unprotectBatch.js';
