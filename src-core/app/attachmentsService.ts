// Placeholder until the attachments service lands (app B replaces this file): every call answers
// AppError('unavailable').
import type { AppContext } from './appContext.js';
import type { AttachmentsService } from './services.js';
import { unavailableService } from './services.js';

export function createAttachmentsService(_ctx: AppContext): AttachmentsService {
  return unavailableService<AttachmentsService>('attachments', [
    'send',
    'fetch',
    'progress',
    'preview',
  ]);
}
