import { describe, expect, it } from 'vitest';
import type { GroupState } from '../../src-core/mls/group/index.js';
import {
  createCommit,
  processMessage,
  proposeRemove,
  proposeUpdate,
  sendApplicationMessage,
} from '../../src-core/mls/group/index.js';
import type { Proposal } from '../../src-core/mls/proposal.js';
import { ProposalType } from '../../src-core/mls/proposal.js';
import {
  decodeGroupState,
  decodeSnapshot,
  encodeSnapshot,
  listSnapshots,
} from '../../src-core/mls/storage/index.js';
import { toHex } from '../support/shared.js';
import { World, text, untext, wire } from './groupHarness.js';
import { RecordStore, fingerprint } from './stateCodecHarness.js';

const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'gina', 'harry', 'ivan', 'jen'];

const add = (w: World, name: string): Proposal => ({
  proposalType: ProposalType.add,
  add: { keyPackage: w.keyPackage(name).keyPackage },
});

/** A world whose members each keep a store, written with diffs after every step. */
class StoredWorld {
  readonly stores = new Map<string, RecordStore>();
  constructor(readonly w: World) {}

  /** Writes every member's changes and checks that each store decodes to the live state. */
  syncAndCheck(): void {
    for (const [name, s] of [...this.w.states, ...this.w.removed]) {
      let store = this.stores.get(name);
      if (store === undefined) {
        store = new RecordStore(s);
        this.stores.set(name, store);
      } else {
        store.sync(s);
      }
      const decoded = this.decode(name);
      expect(fingerprint(decoded), `${name}'s store`).toEqual(fingerprint(s));
      decoded.destroy();
    }
  }

  decode(name: string): GroupState {
    return decodeGroupState(this.stores.get(name)!.records, { config: this.w.config });
  }
}

function deliver(w: World, to: readonly string[], bytes: Uint8Array): void {
  for (const n of to) processMessage(w.state(n), bytes);
}

describe('group state records', () => {
  it('a store kept by diffs decodes to the live state at every step, and the decoded states carry on (10 members)', () => {
    const w = new World(1);
    const sw = new StoredWorld(w);
    w.create('alice');
    sw.syncAndCheck();
    w.commit('alice', { proposals: NAMES.slice(1).map((n) => add(w, n)) }, NAMES.slice(1));
    sw.syncAndCheck();

    // Messages in order, then out of order: Alice skips Dave's generation 1 and keeps its key.
    for (const n of ['bob', 'carol', 'alice']) w.send(n, `hi from ${n}`);
    const fromDave = [0, 1, 2].map((i) =>
      wire(sendApplicationMessage(w.state('dave'), text(`d${i}`))),
    );
    deliver(w, ['alice'], fromDave[2]!);
    deliver(w, ['alice'], fromDave[0]!);
    sw.syncAndCheck();
    expect(sw.stores.get('alice')!.lastChanges!.put.size).toBeLessThanOrEqual(2 + 5);
    expect(w.state('alice').receivers()[0]!.secretTree.stats().skippedKeys).toBe(1);

    // Sent now, delivered after the next commit.
    const late = wire(sendApplicationMessage(w.state('gina'), text('late')));
    // Proposals are cached (our own Update with its private key), then committed by reference.
    const update = wire(proposeUpdate(w.state('erin')).message);
    const remove = wire(proposeRemove(w.state('frank'), w.leafOf('jen')).message);
    deliver(
      w,
      NAMES.filter((n) => n !== 'erin'),
      update,
    );
    deliver(
      w,
      NAMES.filter((n) => n !== 'frank'),
      remove,
    );
    sw.syncAndCheck();
    w.commit('harry');
    expect(w.removed.has('jen')).toBe(true);
    sw.syncAndCheck();

    // A message of the previous epoch still decrypts, also for the removed member.
    for (const n of ['alice', 'bob']) {
      const got = processMessage(w.state(n), late);
      expect(got.kind === 'application' && untext(got.data)).toBe('late');
    }
    w.commit('ivan', { path: 'always' });
    w.commit('bob', { proposals: [add(w, 'kate')] }, ['kate']);
    w.send('kate', 'new here');
    sw.syncAndCheck();

    // From here on every member runs on its decoded state. Before switching, the decoded and the
    // live state must react identically to the same messages.
    const members = [...w.states.keys()];
    const decoded = new Map(members.map((n) => [n, sw.decode(n)]));
    const ping = wire(sendApplicationMessage(decoded.get('carol')!, text('ping')));
    for (const n of members.filter((m) => m !== 'carol')) {
      const a = processMessage(w.state(n), ping);
      const b = processMessage(decoded.get(n)!, ping);
      expect(a.kind === 'application' && untext(a.data)).toBe('ping');
      expect(b).toEqual(a);
    }
    // Carol commits from her decoded state; everyone processes it on both states.
    const c2 = createCommit(decoded.get('carol')!, { path: 'always' });
    const bytes = wire(c2.commit);
    const next = new Map<string, GroupState>([['carol', c2.staged.merge()]]);
    for (const n of members.filter((m) => m !== 'carol')) {
      const a = processMessage(w.state(n), bytes);
      const b = processMessage(decoded.get(n)!, bytes);
      if (a.kind !== 'commit' || b.kind !== 'commit') throw new Error('not a commit');
      expect(toHex(b.staged.epochAuthenticator())).toBe(toHex(a.staged.epochAuthenticator()));
      a.staged.discard();
      w.state(n).destroy();
      next.set(n, b.staged.merge());
    }
    w.state('carol').destroy();
    for (const [n, s] of next) {
      w.states.set(n, s);
      sw.stores.get(n)!.last = decoded.get(n)!;
    }
    w.expectAgreement();
    sw.syncAndCheck();
    for (const n of ['kate', 'alice', 'harry']) w.send(n, `after restore from ${n}`);
    w.commit('kate', { path: 'always' });
    sw.syncAndCheck();

    // The removed member's store too: its past epoch still reads the late message.
    const jen = sw.decode('jen');
    expect(jen.status).toBe('removed');
    const got = processMessage(jen, late);
    expect(got.kind === 'application' && untext(got.data)).toBe('late');
  });

  it('a fork point kept with merge({ keepPrevious }) is stored beside the current state, restored, and rolled back to', () => {
    const w = new World(1);
    w.create('alice');
    w.commit('alice', { proposals: ['bob', 'carol', 'dave'].map((n) => add(w, n)) }, [
      'bob',
      'carol',
      'dave',
    ]);
    w.send('dave', 'before the fork');
    // Bob and Carol both commit in the same epoch; Alice first follows Bob's branch.
    const fromBob = w.prepare('bob', { path: 'always' });
    const fromCarol = w.prepare('carol', { path: 'always' });
    const carolBranch = fromCarol.staged.merge();
    const forkPoint = w.state('alice');
    const got = processMessage(forkPoint, wire(fromBob.commit));
    if (got.kind !== 'commit') throw new Error('not a commit');
    let current = got.staged.merge({ keepPrevious: true });
    let bob = fromBob.staged.merge();
    processMessage(current, wire(sendApplicationMessage(bob, text('on the losing branch'))));

    const store = new RecordStore(current);
    const writeSnapshot = (): void => {
      for (const k of [...store.records.keys()]) {
        if (k.startsWith('snapshot/')) store.records.delete(k);
      }
      for (const [k, v] of encodeSnapshot(forkPoint, current)) store.records.set(k, v);
    };
    writeSnapshot();
    const ids = listSnapshots(store.records);
    expect(ids.map((id) => id.epoch)).toEqual([forkPoint.epoch]);
    const restoredCurrent = decodeGroupState(store.records);
    const restoredFork = decodeSnapshot(store.records, ids[0]!, restoredCurrent);
    expect(fingerprint(restoredCurrent)).toEqual(fingerprint(current));
    expect(fingerprint(restoredFork)).toEqual(fingerprint(forkPoint));
    // Decoded, the two share what they shared in memory: the fork point's receiver.
    expect(restoredFork.receivers()[0]).toBe(restoredCurrent.receivers()[1]);

    // Bob's branch loses: the restored fork point takes Carol's commit instead.
    const again = processMessage(restoredFork, wire(fromCarol.commit));
    if (again.kind !== 'commit') throw new Error('not a commit');
    const rolledBack = again.staged.merge();
    expect(toHex(rolledBack.epochAuthenticator())).toBe(toHex(carolBranch.epochAuthenticator()));
    expect(toHex(rolledBack.tree.treeHash())).toBe(toHex(carolBranch.tree.treeHash()));
    const hello = processMessage(
      rolledBack,
      wire(sendApplicationMessage(carolBranch, text('won'))),
    );
    expect(hello.kind === 'application' && untext(hello.data)).toBe('won');
    restoredCurrent.destroy();

    // The in-memory current state moves on three epochs: its receivers no longer overlap the
    // fork point's, which the rewritten snapshot then stores in full.
    for (let i = 0; i < 3; i++) {
      const c = createCommit(bob, { path: 'always' });
      const r = processMessage(current, wire(c.commit));
      if (r.kind !== 'commit') throw new Error('not a commit');
      bob = c.staged.merge();
      current = r.staged.merge();
      store.sync(current);
      writeSnapshot();
    }
    const held = new Set(current.heldReceivers());
    expect(forkPoint.heldReceivers().some((r) => held.has(r))).toBe(false);
    const c3 = decodeGroupState(store.records);
    const f3 = decodeSnapshot(store.records, ids[0]!, c3);
    expect(fingerprint(c3)).toEqual(fingerprint(current));
    expect(fingerprint(f3)).toEqual(fingerprint(forkPoint));
  });
});
