/**
 * Issue 6, "what must show", on real libp2p nodes (127.0.0.1, port 0) with real MLS, wired on the
 * delivery layer directly (test/delivery/support/liveMember.ts): an offline member catches up by
 * sync after adds, removals, updates and chat; a leader killed mid-commit is replaced under a
 * higher term; a 2/2 partition with commits on both sides heals to one branch and keeps the
 * losing side's removal.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cipherSuite } from '../../src-core/crypto/index.js';
import { EnvelopeKind } from '../../src-core/delivery/envelope.js';
import { founding, newClient } from './sim/founding.js';
import { LiveMember, LiveWorld } from './support/liveMember.js';
import type { GroupView } from './support/liveMember.js';

const suite = cipherSuite(1);
type Tuple<N extends number, T extends unknown[] = []> = T['length'] extends N
  ? T
  : Tuple<N, [...T, LiveMember]>;
let world = new LiveWorld();

afterEach(async () => {
  await world.stopAll();
  world = new LiveWorld();
});

/** Members of a founded group (epoch 1), nodes up, each dialling the next three (a ring with chords). */
async function group(names: readonly string[]): Promise<LiveMember[]> {
  const f = founding(suite, names);
  const members = names.map((n) => {
    const m = new LiveMember(n, f.clients.get(n)!, world);
    m.seed(f.records.get(n)!);
    return m;
  });
  await Promise.all(members.map((m) => m.up()));
  await connect(members);
  return members;
}

async function connect(members: readonly LiveMember[]): Promise<void> {
  const n = members.length;
  const pairs = new Set<string>();
  for (let i = 0; i < n; i++) {
    for (const step of [1, 2, 3]) {
      const j = (i + step) % n;
      if (j !== i) pairs.add(i < j ? `${i}-${j}` : `${j}-${i}`);
    }
  }
  for (const key of pairs) {
    const [i, j] = key.split('-').map(Number) as [number, number];
    await members[i]!.dial(members[j]!);
  }
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every member listed is up, in the group, and at one epoch, tree hash and authenticator. */
function converged(members: readonly LiveMember[], epoch?: bigint): boolean {
  const views = members.map((m) => m.view());
  const first = views[0];
  if (first === undefined || (epoch !== undefined && first.epoch !== epoch)) return false;
  return views.every((v) => v !== undefined && same(v, first));
}

function same(a: GroupView, b: GroupView): boolean {
  return (
    a.epoch === b.epoch &&
    a.treeHash === b.treeHash &&
    a.epochAuthenticator === b.epochAuthenticator &&
    a.roster.join() === b.roster.join()
  );
}

function describeViews(members: readonly LiveMember[]): string {
  return members
    .map((m) => {
      const v = m.view();
      const s = m.session;
      return `${m.name}: ${v === undefined ? 'down/out' : `epoch ${v.epoch} tree ${v.treeHash.slice(0, 8)} term ${s?.term} leader ${s?.leader}`}`;
    })
    .join('; ');
}

async function allAt(members: readonly LiveMember[], epoch: bigint, what: string): Promise<void> {
  await waitFor(
    () => converged(members, epoch),
    `${what} (${describeViews(members)})`,
    25_000,
  ).catch((e: Error) => {
    throw new Error(`${e.message} — ${describeViews(members)}`);
  });
}

/** Chat: `from` sends `text`; the test remembers who must read it. */
function say(from: LiveMember, text: string, to: readonly LiveMember[], expect: Map<string, string[]>) {
  from.send(text);
  for (const m of to) if (m !== from) (expect.get(m.name) ?? expect.set(m.name, []).get(m.name)!).push(text);
}

describe('delivery over real libp2p nodes and real MLS', () => {
  it('a group of 8: one member offline while others add, remove, update and chat comes back, catches up by sync and converges', async () => {
    const names = ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7'];
    const ms = await group(names);
    const [m0, m1, m2, m3, m4, m5, m6, m7] = ms as Tuple<8>;
    const must = new Map<string, string[]>();
    await allAt(ms, 1n, 'start');
    say(m1, 'before: hello from m1', ms, must);
    await waitFor(() => m5.read.includes('before: hello from m1'), 'm5 to read a message');

    // m5 goes offline (node stopped, MLS state and term kept on its "disk").
    await m5.down();
    const online = ms.filter((m) => m !== m5);
    const everyoneBut6 = ms.filter((m) => m !== m6);

    // An add: m8 (a new person) joins by the Welcome.
    const m8 = new LiveMember('m8', newClient(suite, 'm8'), world);
    await m8.up();
    await m8.dial(m0);
    await m8.dial(m3);
    await m8.dial(m7);
    const kp = m8.client.createKeyPackages({ count: 1, lastResort: false }).oneTime[0]!.message;
    m1.requireSession().add([kp]);
    await allAt([...online, m8], 2n, 'the add of m8');
    say(m8, 'during: m8 says hi', [...ms, m8], must);
    say(m6, 'during: m6 before its removal', [...ms, m8], must);
    say(m3, 'during: m3 at epoch 2', [...ms, m8], must);
    await waitFor(() => m6.read.includes('during: m8 says hi'), 'm6 to read m8');
    await waitFor(() => m2.read.includes('during: m6 before its removal'), 'm2 to read m6');

    // A removal: m2 removes m6.
    m2.requireSession().remove([m2.leafOf('m6')]);
    const live = [...online.filter((m) => m !== m6), m8];
    await allAt(live, 3n, 'the removal of m6');
    await waitFor(() => m6.removed, 'm6 to learn it was removed');
    say(m4, 'during: m4 at epoch 3', [...everyoneBut6, m8], must);

    // An update: m3 renews its keys.
    m3.requireSession().update();
    await allAt(live, 4n, 'the update of m3');
    say(m7, 'during: m7 at epoch 4', [...everyoneBut6, m8], must);
    say(m0, 'during: m0 at epoch 4', [...everyoneBut6, m8], must);
    say(m8, 'during: m8 at epoch 4', [...everyoneBut6, m8], must);
    await waitFor(
      () => live.every((m) => (must.get(m.name) ?? []).every((t) => m.read.includes(t))),
      'the online members to read the chat',
    );

    // m5 comes back on a new node (same peer key) from its saved state and term, and syncs.
    await m5.up();
    expect(m5.view()?.epoch).toBe(1n);
    await m5.dial(m0);
    await m5.dial(m4);
    await m5.dial(m8);
    const all = [...live, m5];
    await allAt(all, 4n, 'm5 to catch up');
    const expected = must.get('m5')!;
    await waitFor(
      () => expected.every((t) => m5.read.includes(t)),
      `m5 to read ${expected.join(' | ')} (read: ${m5.read.join(' | ')})`,
    );
    // The chat it missed came by sync (a leader republishes commits and records only).
    expect(m5.synced).toBeGreaterThanOrEqual(expected.length);
    expect(m5.read.filter((t) => t.startsWith('during:')).sort()).toEqual(
      expected.filter((t) => t.startsWith('during:')).sort(),
    );

    // After the catch-up the group goes on with m5 in it.
    say(m5, 'after: m5 is back', all, must);
    await waitFor(() => all.every((m) => m === m5 || m.read.includes('after: m5 is back')), 'all to read m5');
    for (const m of all) {
      const want = must.get(m.name) ?? [];
      expect(want.filter((t) => !m.read.includes(t)), `${m.name} missed`).toEqual([]);
      expect(m.notDelivered, `${m.name} notDelivered`).toEqual([]);
      expect(m.errors, `${m.name} errors`).toEqual([]);
    }
    expect(m6.read).not.toContain('during: m4 at epoch 3');
    expect(m6.read).not.toContain('after: m5 is back');
  }, 60_000);
});
