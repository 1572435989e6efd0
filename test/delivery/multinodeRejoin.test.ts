/**
 * Rejoin by external commit on real libp2p nodes (127.0.0.1, port 0) with real MLS: a member that
 * dies after publishing its own commit, before merging it, comes back from the state it persisted
 * (the commit's key spent, so MLS cannot process the ordered commit), fetches a GroupInfo over 'groupinfo' from
 * its peers, and rejoins by an external commit the leader orders: one commit, no re-add.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cipherSuite } from '../../src-core/crypto/index.js';
import { EnvelopeKind } from '../../src-core/delivery/envelope.js';
import { founding } from './sim/founding.js';
import { LiveMember, LiveWorld } from './support/liveMember.js';

const suite = cipherSuite(1);
let world = new LiveWorld();

afterEach(async () => {
  await world.stopAll();
  world = new LiveWorld();
});

async function waitFor(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function views(ms: readonly LiveMember[]): string {
  return ms
    .map((m) => {
      const v = m.view();
      return `${m.name}@${v?.epoch ?? '-'}/${v?.treeHash.slice(0, 8) ?? '-'}`;
    })
    .join(' ');
}

function converged(ms: readonly LiveMember[], epoch: bigint): boolean {
  const vs = ms.map((m) => m.view());
  const first = vs[0];
  return (
    first !== undefined &&
    first.epoch === epoch &&
    vs.every(
      (v) =>
        v !== undefined &&
        v.epoch === first.epoch &&
        v.treeHash === first.treeHash &&
        v.epochAuthenticator === first.epochAuthenticator &&
        v.roster.join() === first.roster.join(),
    )
  );
}

describe('rejoin by external commit over libp2p', () => {
  it('a member dead between sending its commit and merging it comes back stuck and rejoins with one external commit', async () => {
    const names = ['r0', 'r1', 'r2'];
    const f = founding(suite, names);
    const ms = names.map((n) => {
      const m = new LiveMember(n, f.clients.get(n)!, world);
      m.externalRejoin = true;
      m.seed(f.records.get(n)!);
      return m;
    });
    await Promise.all(ms.map((m) => m.up()));
    for (const [a, b] of [
      [0, 1],
      [1, 2],
      [0, 2],
    ] as const) {
      await ms[a]!.dial(ms[b]!);
    }
    await waitFor(() => converged(ms, 1n), `start (${views(ms)})`);
    const [r0, r1, r2] = ms as [LiveMember, LiveMember, LiveMember];
    await waitFor(
      () => ms.every((m) => m.session?.leader === r0.session?.leader),
      'an agreed leader',
    );
    // r2 is not the leader (the lowest leaf leads term 0): it commits and dies as the ordering
    // record of its commit arrives, before merging it; its state was persisted as the commit went
    // out, with the commit's key spent.
    r2.crashWhen = (dir, env) => dir === 'in' && env.kind === EnvelopeKind.orderingRecord;
    r2.requireSession().update();
    await waitFor(() => !r2.isUp, 'r2 to die on the record of its commit');
    await waitFor(() => converged([r0, r1], 2n), `r0 and r1 merge r2's commit (${views(ms)})`);
    await r2.up();
    for (const other of [r0, r1]) await r2.dial(other);
    // It cannot follow (MLS refuses its own commit), says so, and rejoins by external commit.
    await waitFor(() => r2.rejoins.length > 0, 'r2 to report rejoinNeeded');
    expect(r2.rejoins[0]!.forkEpoch).toBe(1n);
    await waitFor(() => converged(ms, 3n), `all three at epoch 3 (${views(ms)})`, 30_000);
    // One commit past r2's: the resync. r2 kept its leaf and nobody was re-added by Welcome.
    expect(r0.leafOf('r2')).toBe(2);
    r2.send('back over libp2p');
    r0.send('welcome back');
    await waitFor(
      () => r0.read.includes('back over libp2p') && r2.read.includes('welcome back'),
      'chat after the rejoin',
    );
    expect(r1.read).toContain('back over libp2p');
    for (const m of ms) expect(m.errors, m.name).toEqual([]);
  }, 60_000);
});
