import { describe, expect, it } from 'vitest';
import { groupOf, text, untext } from './support/groupFixture.js';

describe('GroupSession: a member removed while cut off', () => {
  it('publishes its messages of the epoch that removed it again, so those who stay read them', () => {
    const f = groupOf(['alice', 'bob', 'carol', 'dave']);
    f.run(2_000);
    const [alice, bob, carol, dave] = f.members;
    f.net.partition(['carol'], ['alice', 'bob', 'dave']);
    carol!.session.send(text('sent while cut off'));
    f.run(500);
    alice!.session.remove([carol!.session.group.ownLeaf]);
    f.run(1_000);
    expect(alice!.session.epoch).toBe(2n);
    f.net.heal();
    // What a catch-up would hand carol: alice's publications (the commit removing her).
    for (const p of alice!.published) carol!.session.receive(p.envelope);
    f.run(500);
    expect(carol!.seen.removed).toHaveLength(1);
    for (const m of [alice!, bob!, dave!]) {
      const read = (m.seen.message ?? []).map((e) => untext(e.data));
      expect(read, m.name).toContain('sent while cut off');
    }
  });
});
