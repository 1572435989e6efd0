// Placeholder until the groups service lands (app B replaces this file): every call answers
// AppError('unavailable').
import type { AppContext } from './appContext.js';
import type { GroupsService } from './services.js';
import { unavailableService } from './services.js';

export function createGroupsService(_ctx: AppContext): GroupsService {
  return unavailableService<GroupsService>('groups', [
    'list',
    'create',
    'invite',
    'add',
    'remove',
    'leave',
    'rename',
    'setRole',
    'updateKeys',
    'members',
    'membershipLog',
    'epochCode',
    'policy',
    'setPolicy',
  ]);
}
