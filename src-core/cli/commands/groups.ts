/** `parley group create|add|remove|leave|members|log|list|code`. */
import type { Command } from 'commander';
import type { GroupSummary, MembershipLogEntry } from '../../app/api.js';
import type { Env } from '../env.js';
import { envOf, withPeer } from '../env.js';
import { formatGroup, formatLogEntry, formatMember } from '../format.js';
import type { Peer } from '../peer.js';
import { awaitContacts, linger } from '../peer.js';
import { resolveContact, resolveGroup, resolveMember } from '../resolve.js';

/** Invite codes are upper-case base32 with `:` and `-`; user ids and names never have a `:`. */
const looksLikeInvite = (s: string): boolean => /^[A-Z0-9]+[:-][A-Z0-9:-]+$/.test(s);

/** A change that goes to the group: an in-process peer waits for a contact first, lingers after. */
async function change<T>(env: Env, fn: (peer: Peer) => Promise<T>): Promise<T> {
  return withPeer(env, async (peer) => {
    if (!(await awaitContacts(peer, env.g.wait ?? 0))) {
      env.out.notice('no contact is online: the change is stored and goes out when one is');
    }
    const result = await fn(peer);
    await linger(peer, env.g.linger ?? 0);
    return result;
  });
}

export function registerGroups(program: Command): void {
  const group = program.command('group').description('your groups');
  const summary = (g: GroupSummary): string => formatGroup(g);

  group
    .command('create <name>')
    .description('create a group (you are its admin), optionally with contacts as members')
    .option('--member <user...>', 'contacts to add (id, id prefix or name)')
    .action(async (name: string, o: { member?: string[] }, cmd: Command) => {
      const env = envOf(cmd);
      const g = await change(env, async (peer) => {
        const members: string[] = [];
        for (const m of o.member ?? []) members.push((await resolveContact(peer.api, m)).userId);
        return peer.api.groups.create({ name, members });
      });
      env.out.result(g, (x) => `Created ${summary(x)}`);
    });

  group
    .command('add <group> <user>')
    .description('add a contact (id, id prefix or name), or someone by their invite code')
    .action(async (groupArg: string, user: string, _o: unknown, cmd: Command) => {
      const env = envOf(cmd);
      const g = await change(env, async (peer) => {
        const { groupId } = await resolveGroup(peer.api, groupArg);
        if (looksLikeInvite(user)) return peer.api.groups.invite({ groupId, inviteCode: user });
        const c = await resolveContact(peer.api, user);
        return peer.api.groups.add({ groupId, userIds: [c.userId] });
      });
      env.out.result(g, (x) => `Added: ${summary(x)}`);
    });

  group
    .command('remove <group> <user>')
    .description('remove a member (all of their devices)')
    .action(async (groupArg: string, user: string, _o: unknown, cmd: Command) => {
      const env = envOf(cmd);
      const g = await change(env, async (peer) => {
        const { groupId } = await resolveGroup(peer.api, groupArg);
        const userId = await resolveMember(peer.api, groupId, user);
        return peer.api.groups.remove({ groupId, userIds: [userId] });
      });
      env.out.result(g, (x) => `Removed: ${summary(x)}`);
    });

  group
    .command('leave <group>')
    .description('leave a group (its history stays readable here)')
    .action(async (groupArg: string, _o: unknown, cmd: Command) => {
      const env = envOf(cmd);
      const groupId = await change(env, async (peer) => {
        const { groupId: id } = await resolveGroup(peer.api, groupArg);
        await peer.api.groups.leave({ groupId: id });
        return id;
      });
      env.out.result({ groupId }, () => 'Left the group.');
    });

  group
    .command('members <group>')
    .description('members with their roles and verification state')
    .action(async (groupArg: string, _o: unknown, cmd: Command) => {
      const env = envOf(cmd);
      const members = await withPeer(env, async (peer) => {
        const { groupId } = await resolveGroup(peer.api, groupArg);
        return peer.api.groups.members({ groupId });
      });
      env.out.result(members, (l) => l.map(formatMember).join('\n'));
    });

  group
    .command('log <group>')
    .description('the membership log, oldest first')
    .action(async (groupArg: string, _o: unknown, cmd: Command) => {
      const env = envOf(cmd);
      const entries = await withPeer(env, async (peer) => {
        const { groupId } = await resolveGroup(peer.api, groupArg);
        // Pages come newest first (each page too); people read a log oldest first.
        const all: MembershipLogEntry[][] = [];
        let before: string | undefined;
        do {
          const page = await peer.api.groups.membershipLog(
            before === undefined ? { groupId } : { groupId, before },
          );
          all.push(page.entries);
          before = page.nextCursor ?? undefined;
        } while (before !== undefined);
        return all.flat().reverse();
      });
      env.out.result(entries, (l) => l.map(formatLogEntry).join('\n'));
    });

  group
    .command('list')
    .description('your groups')
    .action(async (_o: unknown, cmd: Command) => {
      const env = envOf(cmd);
      const list = await withPeer(env, (peer) => peer.api.groups.list());
      env.out.result(list, (l) => (l.length === 0 ? 'No groups yet.' : l.map(summary).join('\n')));
    });

  group
    .command('code <group>')
    .description('the code of the current epoch, to compare with the other members')
    .action(async (groupArg: string, _o: unknown, cmd: Command) => {
      const env = envOf(cmd);
      const code = await withPeer(env, async (peer) => {
        const { groupId } = await resolveGroup(peer.api, groupArg);
        return peer.api.groups.epochCode({ groupId });
      });
      env.out.result(code, (c) => `epoch ${c.epoch}: ${c.groups.join(' ')}`);
    });
}

export { change };
