/**
 * Test scaffolding of the RPC boundary, NOT a stand-in for the app: a few ParleyApi methods over
 * in-memory data, enough to see calls, results, errors and events cross the carriers. Every call
 * that reaches the implementation is recorded, so a test can say "nothing was executed". Methods
 * the tests do not need answer `internal` (and are recorded too).
 */
import type {
  GroupSummary,
  Me,
  Message,
  MethodName,
  ParleyApi,
  ParleyCalls,
  ParleyEvent,
} from '../../src-core/app/api.js';
import { AppError } from '../../src-core/app/errors.js';
import { METHOD_NAMES } from '../../src-core/app/rpc/schema.js';

export const sampleMe: Me = {
  userId: 'dXNlcg',
  displayName: 'Ada',
  deviceId: 'ZGV2aWNl',
  deviceName: 'laptop',
  inviteCode: 'parley-invite-1',
  inviteQr: { size: 21, modules: Buffer.alloc(21 * 21, 1).toString('base64url') },
  fingerprint: '123451234512345123451234512345',
};

export interface Scaffold {
  api: ParleyApi;
  calls: { method: MethodName; params: unknown }[];
  emit(e: ParleyEvent): void;
  /** Emits without the type check, as a broken implementation would. */
  emitRaw(e: { event: string; data: unknown }): void;
  /** Overrides a method's behaviour. */
  override(method: MethodName, fn: (params: unknown) => Promise<unknown>): void;
}

export function scaffold(): Scaffold {
  const calls: Scaffold['calls'] = [];
  const listeners = new Set<(e: ParleyEvent) => void>();
  const groups: GroupSummary[] = [];
  const messages: Message[] = [];
  const behaviour = new Map<MethodName, (params: unknown) => Promise<unknown>>();

  behaviour.set('profile.status', async () => ({ state: 'unlocked', keyProtection: 'passphrase' }));
  behaviour.set('identity.me', async () => sampleMe);
  behaviour.set('profile.lock', async () => undefined);
  behaviour.set('groups.list', async () => groups);
  behaviour.set('contacts.list', async () => []);
  behaviour.set('network.status', async () => ({
    online: true,
    peerId: '12D3KooWscaffold',
    listenAddrs: ['/ip4/127.0.0.1/tcp/4001'],
    connectedPeers: 0,
    lanDiscovery: false,
    relayed: false,
    sync: [],
  }));
  behaviour.set('groups.create', async (p) => {
    const { name } = p as { name: string };
    const g: GroupSummary = {
      groupId: `g${groups.length + 1}`,
      name,
      epoch: 0,
      memberCount: 1,
      myRole: 'admin',
      state: 'active',
      unread: 0,
      lastMessage: null,
    };
    groups.push(g);
    return g;
  });
  behaviour.set('messages.send', async (p) => {
    const { groupId, text } = p as { groupId: string; text: string };
    if (!groups.some((g) => g.groupId === groupId))
      throw new AppError('not_found', 'no such group');
    const m: Message = {
      messageId: `m${messages.length + 1}`,
      groupId,
      senderUserId: sampleMe.userId,
      senderName: sampleMe.displayName,
      mine: true,
      sentAt: 1_700_000_000_000 + messages.length,
      text,
      replyTo: null,
      editedAt: null,
      deleted: false,
      reactions: [],
      attachment: null,
      delivery: 'pending',
      read: true,
    };
    messages.push(m);
    return m;
  });

  const table: Record<string, Record<string, (p?: unknown) => Promise<unknown>>> = {};
  for (const method of METHOD_NAMES) {
    const [group, name] = method.split('.') as [string, string];
    table[group] ??= {};
    table[group][name] = async (params?: unknown) => {
      calls.push({ method, params });
      const fn = behaviour.get(method);
      if (!fn) throw new AppError('internal', `${method} is not part of this scaffolding`);
      return fn(params);
    };
  }
  const api: ParleyApi = {
    ...(table as unknown as ParleyCalls),
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return {
    api,
    calls,
    emit: (e) => listeners.forEach((l) => l(e)),
    emitRaw: (e) => listeners.forEach((l) => l(e as ParleyEvent)),
    override: (method, fn) => behaviour.set(method, fn),
  };
}
