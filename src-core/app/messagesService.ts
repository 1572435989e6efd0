// Placeholder until the messages service lands (app B replaces this file): every call answers
// AppError('unavailable').
import type { AppContext } from './appContext.js';
import type { MessagesService } from './services.js';
import { unavailableService } from './services.js';

export function createMessagesService(_ctx: AppContext): MessagesService {
  return unavailableService<MessagesService>('messages', [
    'history',
    'get',
    'send',
    'reply',
    'edit',
    'delete',
    'react',
    'markRead',
    'search',
  ]);
}
