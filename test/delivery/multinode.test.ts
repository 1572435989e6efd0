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
function say(
  from: LiveMember,
  text: string,
  to: readonly LiveMember[],
  expect: Map<string, string[]>,
) {
  from.send(text);
  for (const m of to)
    if (m !== from) (expect.get(m.name) ?? expect.set(m.name, []).get(m.name)!).push(text);
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
    // First the gossip history window passes (gossipsub advertises what it saw in the last 3
    // heartbeats, 2.1 s), so what m5 missed can reach it only by sync or a leader's republishing.
    await new Promise((r) => setTimeout(r, 6_000));
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
    // The chat it missed came by sync (a leader republishes commits, records and proposals only).
    const missed = expected.filter((t) => t.startsWith('during:'));
    expect(missed).toHaveLength(7);
    expect(m5.synced).toBeGreaterThanOrEqual(missed.length);
    expect(m5.read.filter((t) => t.startsWith('during:')).sort()).toEqual(
      expected.filter((t) => t.startsWith('during:')).sort(),
    );

    // After the catch-up the group goes on with m5 in it.
    say(m5, 'after: m5 is back', all, must);
    await waitFor(
      () => all.every((m) => m === m5 || m.read.includes('after: m5 is back')),
      'all to read m5',
    );
    for (const m of all) {
      const want = must.get(m.name) ?? [];
      expect(
        want.filter((t) => !m.read.includes(t)),
        `${m.name} missed`,
      ).toEqual([]);
      expect(m.notDelivered, `${m.name} notDelivered`).toEqual([]);
      expect(m.errors, `${m.name} errors`).toEqual([]);
    }
    expect(m6.read).not.toContain('during: m4 at epoch 3');
    expect(m6.read).not.toContain('after: m5 is back');
  }, 60_000);

  it('the leader killed mid-commit (before its record, then right after it): the group goes on under a new leader with a higher term', async () => {
    const ms = await group(['k0', 'k1', 'k2', 'k3', 'k4']);
    await allAt(ms, 1n, 'start');

    // The members agree on a leader, under one term; `dead` are not it.
    const agreed = (live: readonly LiveMember[], dead: readonly LiveMember[]) => () => {
      const s = live.map((m) => m.session);
      const first = s[0];
      return (
        first !== undefined &&
        s.every(
          (x) => x?.isRunning === true && x.term === first.term && x.leader === first.leader,
        ) &&
        dead.every((d) => live[0]!.leafOf(d.name) !== first.leader)
      );
    };
    const leaderOf = (live: readonly LiveMember[]): LiveMember =>
      live.find((m) => m.session?.isLeader === true)!;
    // Kills `leader` at the planted point; records whether it still led when it died.
    const plant = (leader: LiveMember, dir: 'in' | 'out', kind: number) => {
      const died = { asLeader: false };
      leader.crashWhen = (d, env) => {
        if (d !== dir || env.kind !== kind) return false;
        died.asLeader = leader.session?.isLeader === true;
        return true;
      };
      return died;
    };

    // A member sends a commit; the leader dies the moment it arrives, before ordering it.
    await waitFor(agreed(ms, []), `a leader (${describeViews(ms)})`);
    const l1 = leaderOf(ms);
    const term0 = l1.requireSession().term;
    const died1 = plant(l1, 'in', EnvelopeKind.commit);
    ms.find((m) => m !== l1)!
      .requireSession()
      .update();
    await waitFor(() => !l1.isUp, `${l1.name} to die on the commit`);
    expect(died1.asLeader).toBe(true);
    const live1 = ms.filter((m) => m !== l1);
    await allAt(live1, 2n, 'the commit ordered by a new leader');
    await waitFor(agreed(live1, [l1]), `a leader among the living (${describeViews(live1)})`);
    const term1 = live1[0]!.requireSession().term;
    expect(term1).toBeGreaterThan(term0);

    // The new leader dies right after publishing its ordering record for the next commit.
    const l2 = leaderOf(live1);
    const died2 = plant(l2, 'out', EnvelopeKind.orderingRecord);
    live1
      .find((m) => m !== l2)!
      .requireSession()
      .update();
    await waitFor(() => !l2.isUp, `${l2.name} to die after its record`);
    expect(died2.asLeader).toBe(true);
    const live2 = live1.filter((m) => m !== l2);
    await allAt(live2, 3n, "the commit merged with the dead leader's record");

    // The next change needs a leader again: a third one, under a higher term.
    live2[live2.length - 1]!.requireSession().update();
    await allAt(live2, 4n, 'a commit ordered by a third leader');
    await waitFor(agreed(live2, [l1, l2]), `a third leader (${describeViews(live2)})`);
    expect(live2[0]!.requireSession().term).toBeGreaterThan(term1);
    const must = new Map<string, string[]>();
    say(live2[0]!, 'after two leaders died', live2, must);
    say(live2[1]!, 'the group goes on', live2, must);
    await waitFor(
      () => live2.every((m) => (must.get(m.name) ?? []).every((t) => m.read.includes(t))),
      'the chat under the third leader',
    );
    for (const m of live2) expect(m.errors, m.name).toEqual([]);
  }, 60_000);

  it("a 2/2 partition with commits on both sides heals to one branch; the losing side's removal is kept", async () => {
    const ms = await group(['p0', 'p1', 'p2', 'p3']);
    const [p0, p1, p2, p3] = ms as Tuple<4>;
    await allAt(ms, 1n, 'start');
    const sideA = [p0, p1];
    const sideB = [p2, p3];
    for (const a of sideA) for (const b of sideB) if (a.isConnected(b)) await a.hangUp(b);
    const apart = (): boolean => sideA.every((a) => sideB.every((b) => !a.isConnected(b)));
    await waitFor(apart, 'the halves to be disconnected');

    // Side A (term 0, led by p0) removes p3; p0 then writes on its branch.
    p1.requireSession().remove([p1.leafOf('p3')]);
    await allAt(sideA, 2n, "side A's removal of p3");
    expect(p0.view()?.roster).toEqual(['p0', 'p1', 'p2']);
    p0.send('A: after removing p3');
    await waitFor(() => p1.read.includes('A: after removing p3'), 'p1 to read side A');

    // Side B elects a leader of its own (a new term) and commits an update by p3; p2 writes.
    await waitFor(
      () => sideB.some((m) => m.session?.isLeader === true && m.session.term > 0n),
      'side B to elect a leader',
    );
    p3.requireSession().update();
    await allAt(sideB, 2n, "side B's update");
    const termB = p2.requireSession().term;
    expect(termB).toBeGreaterThan(0n);
    p2.send('B: before the heal');
    await waitFor(() => p3.read.includes('B: before the heal'), 'p3 to read side B');
    // Nothing redialled across the cut while the sides worked.
    expect(apart()).toBe(true);

    // Heal. B's branch has more members (4 against 3): A rolls back, applies B's commit, and
    // removes p3 again on the winning branch before anything of A's goes out again.
    for (const a of sideA) for (const b of sideB) await a.dial(b);
    const winners = [p0, p1, p2];
    await waitFor(() => p3.removed, 'p3 to be removed on the winning branch', 30_000);
    await allAt(winners, 3n, 'one branch with the removal re-made');
    expect(p0.view()?.roster).toEqual(['p0', 'p1', 'p2']);
    expect(
      p0.forks.some((f) => !f.won && f.reproposedRemovals >= 1) ||
        p1.forks.some((f) => !f.won && f.reproposedRemovals >= 1),
    ).toBe(true);
    expect([...p0.forks, ...p1.forks].every((f) => !f.won)).toBe(true);
    for (const m of winners) expect(m.requireSession().term).toBeGreaterThanOrEqual(termB);

    // A's message from the losing branch is sent again on the winning one (after the removal):
    // p2 reads it, p3 never does. B's message reaches A.
    await waitFor(() => p2.read.includes('A: after removing p3'), "p2 to read A's resent message");
    await waitFor(
      () => p0.read.includes('B: before the heal') && p1.read.includes('B: before the heal'),
      "A to read B's message",
    );
    p0.send('after the heal');
    await waitFor(
      () => p1.read.includes('after the heal') && p2.read.includes('after the heal'),
      'chat after the heal',
    );
    expect(p3.read).not.toContain('A: after removing p3');
    expect(p3.read).not.toContain('after the heal');
    for (const m of ms) expect(m.rejoins, m.name).toEqual([]);
  }, 60_000);

  // Regression: heartbeats were the same bytes at the same epoch and term (Ed25519 is
  // deterministic), and gossip ids are content-derived with a 10 min seen-cache, so only a
  // leader's first heartbeat of an epoch and term reached anyone; in a quiet group the followers
  // timed out and claimed new terms, round after round. Heartbeats now carry the send time.
  it('a quiet group: a follower keeps hearing its leader (heartbeats are not deduplicated away)', async () => {
    const ms = await group(['q0', 'q1', 'q2']);
    const [, q1] = ms as Tuple<3>;
    await allAt(ms, 1n, 'start');
    await new Promise((r) => setTimeout(r, 4_000)); // 13 heartbeat intervals of 300 ms
    const most = Math.max(0, ...q1.heartbeatsIn.values());
    expect(most, JSON.stringify([...q1.heartbeatsIn])).toBeGreaterThanOrEqual(3);
  }, 30_000);
});
