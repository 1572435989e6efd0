/**
 * Command arguments name groups and people the way a person would: a full id, a unique id prefix
 * (at least 6 characters), or a name. Ambiguity is an error that lists nothing secret.
 */
import type { ParleyApi, GroupSummary, Contact } from '../app/api.js';
import { CliError } from './errors.js';

function pick<T>(
  what: string,
  arg: string,
  items: readonly T[],
  id: (t: T) => string,
  name: (t: T) => string,
): T {
  const exact = items.find((t) => id(t) === arg);
  if (exact !== undefined) return exact;
  const lower = arg.toLowerCase();
  const byPrefix = arg.length >= 6 ? items.filter((t) => id(t).startsWith(lower)) : [];
  const byName = items.filter((t) => name(t) === arg);
  const found = [...new Set([...byPrefix, ...byName])];
  if (found.length === 1) return found[0] as T;
  if (found.length === 0) throw new CliError('usage', `no ${what} "${arg}"`);
  throw new CliError('usage', `"${arg}" names ${found.length} ${what}s: use the id`);
}

export async function resolveGroup(api: ParleyApi, arg: string): Promise<GroupSummary> {
  return pick(
    'group',
    arg,
    await api.groups.list(),
    (g) => g.groupId,
    (g) => g.name,
  );
}

export async function resolveContact(api: ParleyApi, arg: string): Promise<Contact> {
  return pick(
    'contact',
    arg,
    await api.contacts.list(),
    (c) => c.userId,
    (c) => c.displayName,
  );
}

/** A member of the group (removing someone who is no longer a contact still works). */
export async function resolveMember(api: ParleyApi, groupId: string, arg: string): Promise<string> {
  const members = await api.groups.members({ groupId });
  return pick(
    'member',
    arg,
    members,
    (m) => m.userId,
    (m) => m.displayName,
  ).userId;
}
