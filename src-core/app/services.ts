/**
 * One service object per API group. `ParleyApp` (parleyApp.ts) delegates each call to the
 * service of its group; a service gets the `AppContext` at construction and, if it needs the
 * unlocked profile, joins the session (`ctx.join`) to be opened after the core and closed before it.
 */
import type { ParleyCalls } from './api.js';
import type { AppContext } from './appContext.js';
import { AppError } from './errors.js';

export type ProfileService = ParleyCalls['profile'];
export type IdentityService = ParleyCalls['identity'];
export type DevicesService = ParleyCalls['devices'];
export type ContactsService = ParleyCalls['contacts'];
export type GroupsService = ParleyCalls['groups'];
export type MessagesService = ParleyCalls['messages'];
export type AttachmentsService = ParleyCalls['attachments'];
export type NetworkService = ParleyCalls['network'];

/** What the groups, messages and attachments services are made from. */
export type ServiceFactory<S> = (ctx: AppContext) => S;

/**
 * A service whose methods all answer AppError('unavailable'): the placeholder of a group whose
 * implementation has not landed yet (groupsService.ts, messagesService.ts, attachmentsService.ts
 * are replaced by theirs).
 */
export function unavailableService<S extends object>(
  group: string,
  methods: readonly (keyof S & string)[],
): S {
  const out: Record<string, () => Promise<never>> = {};
  for (const m of methods) {
    out[m] = () => Promise.reject(new AppError('unavailable', `${group}.${m}: not built yet`));
  }
  return out as unknown as S;
}
