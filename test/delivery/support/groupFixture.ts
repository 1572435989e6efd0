/**
 * Real MLS members with group sessions over the in-memory ports: one client creates the group and
 * adds the others directly (before the sessions start), so every test begins at epoch 1 with all
 * members in and a session per member.
 */
import { cipherSuite } from '../../../src-core/crypto/index.js';
import type { CipherSuite, KeyPair } from '../../../src-core/crypto/types.js';
import { GroupSession } from '../../../src-core/delivery/groupSession.js';
import type { GroupSessionOptions } from '../../../src-core/delivery/groupSession.js';
import type { SessionEventName, SessionEvents } from '../../../src-core/delivery/sessionEvents.js';
import { MlsClient } from '../../../src-core/mls/client/index.js';
import { CredentialType } from '../../../src-core/mls/credential.js';
import { ManualClock, MemoryNet } from './memoryNet.js';

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const untext = (b: Uint8Array): string => new TextDecoder().decode(b);

export interface Member {
  readonly name: string;
  readonly client: MlsClient;
  readonly keys: KeyPair;
  session: GroupSession;
  readonly seen: { [K in SessionEventName]?: SessionEvents[K][] };
  /** Every envelope the member published, in order (a stand-in for its ciphertext log). */
  readonly published: SessionEvents['published'][];
}

export function newClient(suite: CipherSuite, name: string): { client: MlsClient; keys: KeyPair } {
  const keys = suite.generateSignatureKeyPair();
  const client = new MlsClient({
    suite,
    credential: { credentialType: CredentialType.basic, identity: text(name) },
    signatureKeyPair: keys,
  });
  return { client, keys };
}

const EVENTS: SessionEventName[] = [
  'message',
  'epoch',
  'membership',
  'welcome',
  'commitLost',
  'changeFailed',
  'sendFailed',
  'notDelivered',
  'leader',
  'fork',
  'rejoinNeeded',
  'behind',
  'removed',
  'rejected',
];

export function record(session: GroupSession): Member['seen'] {
  const seen: Member['seen'] = {};
  for (const name of EVENTS) {
    session.on(name, (e) => {
      ((seen[name] ??= []) as unknown[]).push(e);
    });
  }
  return seen;
}

export interface Fixture {
  readonly suite: CipherSuite;
  readonly clock: ManualClock;
  readonly net: MemoryNet;
  readonly members: Member[];
  /** Advances the clock by `ms`, delivering messages after every timer. */
  run(ms: number): void;
  /** A session for a member that joined later (from a Welcome). */
  attach(name: string, client: MlsClient, keys: KeyPair, welcome: Uint8Array): Member;
}

export function groupOf(
  names: readonly string[],
  options: Omit<GroupSessionOptions, 'group' | 'ports'> = {},
): Fixture {
  const suite = cipherSuite(1);
  const clock = new ManualClock();
  const net = new MemoryNet();
  const clients = names.map((n) => ({ name: n, ...newClient(suite, n) }));
  const creator = clients[0]!.client.createGroup();
  const kps = clients.slice(1).map((c) => c.client.createKeyPackages({ count: 1 }).oneTime[0]!);
  const groups = [creator];
  if (kps.length > 0) {
    const out = creator.add(kps.map((k) => k.message));
    creator.merge(out.pending);
    for (const c of clients.slice(1)) groups.push(c.client.joinGroup(out.welcome!));
  }
  const make = (name: string, group: (typeof groups)[number]): GroupSession =>
    new GroupSession({ ...options, group, ports: { clock, channels: net.port(name) } });
  const members: Member[] = clients.map((c, i) => {
    const session = make(c.name, groups[i]!);
    const published: SessionEvents['published'][] = [];
    session.on('published', (p) => published.push(p));
    return {
      name: c.name,
      client: c.client,
      keys: c.keys,
      session,
      seen: record(session),
      published,
    };
  });
  for (const m of members) m.session.start();
  const run = (ms: number): void => {
    net.flush();
    clock.advance(ms, () => net.flush());
    net.flush();
  };
  const attach = (name: string, client: MlsClient, keys: KeyPair, welcome: Uint8Array): Member => {
    const session = make(name, client.joinGroup(welcome));
    const published: SessionEvents['published'][] = [];
    session.on('published', (p) => published.push(p));
    const m: Member = { name, client, keys, session, seen: record(session), published };
    members.push(m);
    session.start();
    return m;
  };
  return { suite, clock, net, members, run, attach };
}
