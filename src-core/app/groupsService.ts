/**
 * `groups.*` of the app API over the group hub (groups/groupHub.ts): each group an MLS group with
 * a delivery GroupSession, its rules (roles, policy) in a GroupContext extension that every
 * member enforces, its state stored with the messages each epoch carries.
 *
 * Role and policy changes are GroupContextExtensions commits (groups/rulesChange.ts): only admins
 * may make them, which every member enforces (groupRules.ts `parleyProposalPolicy`); the last
 * admin cannot step down (`conflict`).
 */
import { randomBytes } from 'node:crypto';
import { groupEpochCode } from '../identity/index.js';
import type { GroupPolicy, GroupSummary, Member } from './api.js';
import type { AppContext } from './appContext.js';
import { ContentType } from './content/index.js';
import { mapped } from './errorMapping.js';
import { AppError } from './errors.js';
import { GroupHub } from './groups/groupHub.js';
import { roleOf, userIdOfCredential } from './groups/groupRules.js';
import { changeRules } from './groups/rulesChange.js';
import { checkPolicy, policyEdit, roleEdit, samePolicy } from './groups/rulesEdit.js';
import { waitFor } from './groups/joinFlow.js';
import type { GroupsService } from './services.js';

const MAX_NAME = 128;
const PAGE_MAX = 200;

function checkName(name: string): string {
  const n = name.trim();
  if (n.length === 0 || Buffer.byteLength(n) > MAX_NAME) {
    throw new AppError('bad_request', `a group name is 1..${MAX_NAME} bytes`);
  }
  return n;
}

function cursorOf(seq: bigint | null): string | null {
  return seq === null ? null : seq.toString(10);
}

export function parseCursor(c: string | undefined): bigint | undefined {
  if (c === undefined) return undefined;
  if (!/^[0-9]{1,20}$/.test(c)) throw new AppError('bad_request', 'not a cursor of ours');
  return BigInt(c);
}

export interface GroupsServiceDeps {
  /** Adds a contact by invite code (the contacts service); `invite` uses it. */
  readonly addContact?: (code: string) => Promise<{ userId: string }>;
}

export function createGroupsService(ctx: AppContext, deps: GroupsServiceDeps = {}): GroupsService {
  const hub = GroupHub.of(ctx);

  const requireAdminRule = (groupId: string): void => {
    const e = hub.get(groupId);
    const rules = hub.rules(e);
    if (rules?.policy.membership === 'everyone') return;
    if (roleOf(rules, hub.myUserId) !== 'admin') {
      throw new AppError('forbidden', "the group's policy lets only admins change its members");
    }
  };

  /**
   * Leaving as the group's last admin (no other device of ours stays): the remaining member with
   * the lowest leaf becomes admin first, so the group is never left without one.
   */
  const handOverAdmin = async (groupHex: string): Promise<void> => {
    const e = hub.active(groupHex);
    const rules = hub.rules(e);
    const me = hub.myUserId;
    if (rules === undefined || roleOf(rules, me) !== 'admin') return;
    const others = e.group
      .members()
      .filter((m) => m.leafIndex !== e.group.ownLeaf)
      .map((m) => userIdOfCredential(m.credential))
      .filter((u): u is string => u !== undefined);
    if (others.length === 0 || others.some((u) => u === me || rules.admins.includes(u))) return;
    const successor = others[0]!;
    const present = (): ReadonlySet<string> =>
      new Set(e.session.group.members().map((m) => userIdOfCredential(m.credential) ?? ''));
    await changeRules(hub, groupHex, roleEdit(successor, 'admin', present), (r) =>
      r.admins.some((a) => a !== me && present().has(a)),
    );
  };

  return {
    list: () =>
      mapped('groups.list', async () => {
        const out: GroupSummary[] = [];
        for (const e of hub.groups.values()) out.push(await hub.views.summary(e));
        return out;
      }),

    create: (p) =>
      mapped('groups.create', async () => {
        const e = await hub.joins.create(checkName(p.name), p.members);
        const summary = await hub.views.summary(e);
        ctx.events.emit('group.changed', { group: summary });
        return summary;
      }),

    invite: (p) =>
      mapped('groups.invite', async () => {
        if (deps.addContact === undefined) {
          throw new AppError('unavailable', 'adding contacts is not wired to the groups service');
        }
        requireAdminRule(p.groupId);
        const e = hub.active(p.groupId);
        const contact = await deps.addContact(p.inviteCode);
        await hub.joins.add(e, [contact.userId]);
        return hub.views.summary(e);
      }),

    add: (p) =>
      mapped('groups.add', async () => {
        requireAdminRule(p.groupId);
        const e = hub.active(p.groupId);
        await hub.joins.add(e, p.userIds);
        return hub.views.summary(e);
      }),

    remove: (p) =>
      mapped('groups.remove', async () => {
        requireAdminRule(p.groupId);
        const e = hub.active(p.groupId);
        const targets = new Set(p.userIds);
        if (targets.has(hub.myUserId)) throw new AppError('bad_request', 'use leave to leave');
        const leaves = e.group
          .members()
          .filter((m) => targets.has(userIdOfCredential(m.credential) ?? ''))
          .map((m) => m.leafIndex);
        if (leaves.length === 0) throw new AppError('not_found', 'none of them is a member');
        const gone = new Set(leaves);
        const merged = waitFor(e.session, 'membership', (m) =>
          m.removed.some((r) => gone.has(r.leafIndex)),
        );
        e.session.remove(leaves);
        await merged;
        return hub.views.summary(e);
      }),

    leave: (p) =>
      mapped('groups.leave', async () => {
        const e = hub.active(p.groupId);
        await handOverAdmin(e.hex);
        e.leaving = true;
        if (e.group.members().length === 1) {
          // Nobody is left to commit our removal: the group ends here.
          e.session.stop();
          e.meta.state = 'left';
          const entry = await hub.persist(e, (tx) =>
            hub.logEntry(tx, e, 'left', hub.myUserId, hub.myUserId),
          );
          hub.emitLog(e, entry);
          hub.views.emitGroup(e);
          return;
        }
        const removed = waitFor(e.session, 'removed', () => true);
        e.session.leave();
        await removed;
      }),

    rename: (p) =>
      mapped('groups.rename', async () => {
        const name = checkName(p.name);
        const e = hub.active(p.groupId);
        const rules = hub.rules(e);
        if (rules?.policy.membership === 'admins' && roleOf(rules, hub.myUserId) !== 'admin') {
          throw new AppError('forbidden', 'only admins rename this group');
        }
        await hub.send(e, {
          messageId: new Uint8Array(randomBytes(16)),
          sentAtMs: BigInt(ctx.nowMs()),
          body: { type: ContentType.rename, name },
        });
        const entry = await hub.persist(e, (tx) =>
          hub.logEntry(tx, e, 'renamed', hub.myUserId, undefined, name),
        );
        hub.emitLog(e, entry);
        const summary = await hub.views.summary(e);
        ctx.events.emit('group.changed', { group: summary });
        return summary;
      }),

    setRole: (p) =>
      mapped('groups.setRole', async () => {
        const e = hub.active(p.groupId);
        const rules = hub.rules(e);
        if (rules === undefined) throw new AppError('internal', 'the group carries no rules');
        const member = hub.views.members(e).find((m) => m.userId === p.userId);
        if (member === undefined) throw new AppError('not_found', 'not a member');
        if (member.role === p.role) return member;
        if (roleOf(rules, hub.myUserId) !== 'admin') {
          throw new AppError('forbidden', 'only admins change roles');
        }
        // Users in the tree when the edit runs (an admin who left still stands in the list).
        const present = (): ReadonlySet<string> =>
          new Set(e.session.group.members().map((m) => userIdOfCredential(m.credential) ?? ''));
        const others = rules.admins.filter((a) => a !== p.userId && present().has(a));
        if (p.role === 'member' && others.length === 0) {
          throw new AppError(
            'conflict',
            'the last admin cannot step down; make another admin first',
          );
        }
        await changeRules(
          hub,
          e.hex,
          roleEdit(p.userId, p.role, present),
          (r) => roleOf(r, p.userId) === p.role,
        );
        const now = hub.views.members(e).find((m) => m.userId === p.userId);
        if (now === undefined) throw new AppError('conflict', 'no longer a member');
        return now;
      }),

    updateKeys: (p) =>
      mapped('groups.updateKeys', async () => {
        const e = hub.active(p.groupId);
        const own = e.group.ownLeaf;
        const merged = waitFor(e.session, 'epoch', (m) => m.committer === own);
        e.session.update();
        await merged;
        return hub.views.summary(e);
      }),

    members: (p) =>
      mapped('groups.members', async (): Promise<Member[]> =>
        hub.views.members(hub.get(p.groupId)),
      ),

    membershipLog: (p) =>
      mapped('groups.membershipLog', async () => {
        const e = hub.get(p.groupId);
        const limit = Math.max(1, Math.min(PAGE_MAX, p.limit ?? 50));
        const page = await hub.membershipLog(e, parseCursor(p.before), limit);
        return { entries: page.entries, nextCursor: cursorOf(page.next) };
      }),

    epochCode: (p) =>
      mapped('groups.epochCode', async () => {
        const e = hub.active(p.groupId);
        const code = groupEpochCode(e.group);
        return {
          groupId: e.hex,
          epoch: Number(code.epoch),
          code: code.digits,
          groups: [...code.groups],
        };
      }),

    policy: (p) =>
      mapped('groups.policy', async (): Promise<GroupPolicy> => {
        const rules = hub.rules(hub.get(p.groupId));
        if (rules === undefined) throw new AppError('internal', 'the group carries no rules');
        return rules.policy;
      }),

    setPolicy: (p) =>
      mapped('groups.setPolicy', async () => {
        const e = hub.active(p.groupId);
        const policy = checkPolicy(p.policy);
        const rules = hub.rules(e);
        if (rules === undefined) throw new AppError('internal', 'the group carries no rules');
        if (roleOf(rules, hub.myUserId) !== 'admin') {
          throw new AppError('forbidden', 'only admins change the policy');
        }
        if (samePolicy(rules.policy, policy)) return rules.policy;
        await changeRules(hub, e.hex, policyEdit(policy), (r) => samePolicy(r.policy, policy));
        return policy;
      }),
  };
}
