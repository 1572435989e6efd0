/** The application-message content format (appContent.ts) and its error. */
export * from './appContent.js';
export { ContentError } from './contentError.js';
export type { ContentErrorCode } from './contentError.js';
