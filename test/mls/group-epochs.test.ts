import { describe, expect, it } from 'vitest';
import type { GroupState } from '../../src-core/mls/group/index.js';
import {
  createCommit,
  processMessage,
  sendApplicationMessage,
} from '../../src-core/mls/group/index.js';
import { ProposalType } from '../../src-core/mls/proposal.js';
import { toHex } from '../support/shared.js';
import { World, expectMlsError, text, untext, wire } from './groupHarness.js';

function threeMembers(config: ConstructorParameters<typeof World>[1] = {}): World {
  const w = new World(1, config);
  w.create('alice');
  w.commit(
    'alice',
    {
      proposals: ['bob', 'carol'].map((n) => ({
        proposalType: ProposalType.add,
        add: { keyPackage: w.keyPackage(n).keyPackage },
      })),
    },
    ['bob', 'carol'],
  );
  return w;
}

function read(s: GroupState, m: Uint8Array): string {
  const got = processMessage(s, m);
  if (got.kind !== 'application') throw new Error(`read ${got.kind}`);
  return untext(got.data);
}

describe('past epochs', () => {
  it('late application messages decrypt within the window, not beyond it', () => {
    const w = threeMembers({ pastEpochs: 2 });
    const late = [
      wire(sendApplicationMessage(w.state('alice'), text('sent in epoch 1'))),
      wire(sendApplicationMessage(w.state('alice'), text('also epoch 1'))),
    ];
    w.commit('bob', { path: 'always' }); // epoch 2
    expect(read(w.state('carol'), late[0]!)).toBe('sent in epoch 1');
    // A replay of a late message is refused.
    expectMlsError(() => read(w.state('carol'), late[0]!), 'key_already_used');
    const lateFromEpoch2 = wire(sendApplicationMessage(w.state('bob'), text('epoch 2')));
    w.commit('carol', { path: 'always' }); // epoch 3: epochs 1 and 2 kept
    expect(read(w.state('alice'), lateFromEpoch2)).toBe('epoch 2');
    w.commit('alice', { path: 'always' }); // epoch 4: epoch 1 falls out
    expectMlsError(() => read(w.state('carol'), late[1]!), 'epoch_too_old');
    // The old epoch's receive keys are gone from memory, not just unreachable.
    const receivers = w.state('carol').receivers();
    expect(receivers.map((r) => r.epoch)).toEqual([4n, 3n, 2n]);
  });

  it('with a window of 0, a message of the previous epoch is lost', () => {
    const w = threeMembers({ pastEpochs: 0 });
    const late = wire(sendApplicationMessage(w.state('alice'), text('too late')));
    w.commit('bob', { path: 'always' });
    expectMlsError(() => read(w.state('carol'), late), 'epoch_too_old');
  });

  it('handshake messages of a past epoch are refused', () => {
    const w = threeMembers();
    const staleCommit = createCommit(w.state('alice'), { path: 'always' });
    staleCommit.staged.discard();
    w.commit('bob', { path: 'always' });
    expectMlsError(() => processMessage(w.state('carol'), wire(staleCommit.commit)), 'wrong_epoch');
  });

  it('a removed member still reads late messages of the epoch it was removed in', () => {
    const w = threeMembers();
    const late = wire(sendApplicationMessage(w.state('alice'), text('bye carol')));
    w.commit('alice', {
      proposals: [{ proposalType: ProposalType.remove, remove: { removed: w.leafOf('carol') } }],
    });
    const carol = w.removed.get('carol')!;
    expect(read(carol, late)).toBe('bye carol');
    expectMlsError(() => createCommit(carol), 'group_inactive');
  });
});

describe('state lifecycle', () => {
  it('merging wipes the previous state; using it afterwards fails', () => {
    const w = threeMembers();
    const old = w.state('carol');
    const oldInit = old.epochSecrets().initSecret;
    w.commit('bob', { path: 'always' });
    expect(old.isDestroyed).toBe(true);
    expect(oldInit.every((b) => b === 0)).toBe(true);
    expectMlsError(() => old.epochAuthenticator(), 'state_superseded');
    expectMlsError(() => sendApplicationMessage(old, text('x')), 'state_superseded');
  });

  it('a discarded staged commit leaves the state usable and wipes what it derived', () => {
    const w = threeMembers();
    const carol = w.state('carol');
    const before = toHex(carol.epochAuthenticator());
    const created = w.prepare('bob', { path: 'always' });
    const got = processMessage(carol, wire(created.commit));
    if (got.kind !== 'commit') throw new Error('not a commit');
    const stagedAuth = got.staged.epochAuthenticator();
    got.staged.discard();
    created.staged.discard();
    expectMlsError(() => got.staged.merge(), 'staged_commit_consumed');
    expect(toHex(carol.epochAuthenticator())).toBe(before);
    expect(stagedAuth.some((b) => b !== 0)).toBe(true); // a copy, still readable by the caller
    w.send('carol', 'nothing happened');
    w.commit('alice', { path: 'always' });
  });

  it('keepPrevious keeps a snapshot to roll back to; destroying it spares the new state', () => {
    const w = threeMembers();
    const bob = w.state('bob');
    const carol = w.state('carol');
    // Carol takes Alice's commit but keeps her epoch-1 state (a possible fork point).
    const fromAlice = w.prepare('alice', { path: 'always' });
    const got = processMessage(carol, wire(fromAlice.commit));
    if (got.kind !== 'commit') throw new Error('not a commit');
    const carolNext = got.staged.merge({ keepPrevious: true });
    expect(carol.isDestroyed).toBe(false);
    // Alice's commit loses to Bob's: Carol rolls back to the snapshot and follows Bob.
    fromAlice.staged.discard();
    carolNext.destroy();
    const fromBob = w.prepare('bob', { path: 'always' });
    const again = processMessage(carol, wire(fromBob.commit));
    if (again.kind !== 'commit') throw new Error('not a commit');
    const aliceSees = processMessage(w.state('alice'), wire(fromBob.commit));
    if (aliceSees.kind !== 'commit') throw new Error('not a commit');
    w.states.set('carol', again.staged.merge({ keepPrevious: true }));
    w.states.set('bob', fromBob.staged.merge());
    w.states.set('alice', aliceSees.staged.merge());
    w.expectAgreement();
    expect(bob.isDestroyed).toBe(true);
    // Destroying the snapshot leaves the new state whole (its keys are its own).
    carol.destroy();
    w.send('carol', 'after the rollback');
    w.send('alice', 'hello carol');
    w.commit('carol', { path: 'always' });
  });
});
