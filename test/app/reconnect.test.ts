import { afterEach, describe, expect, it } from 'vitest';
import { PASS, cleanup, closeApp, newUser, openApp, waitFor } from './appFixture.js';

afterEach(cleanup);

describe('app: reconnecting to contacts after a restart', () => {
  it('redials every contact, whether it redeemed our invite or we redeemed its', async () => {
    const alice = await newUser('Alice');
    const bob = await newUser('Bob');
    const carol = await newUser('Carol');
    // Bob and Carol redeem Alice's invites (Alice learns them as an inviter, while identify
    // updates the same address book entries: the race that once demoted Carol).
    await bob.app.contacts.addByInviteCode({ code: (await alice.app.identity.me()).inviteCode });
    await carol.app.contacts.addByInviteCode({ code: (await alice.app.identity.me()).inviteCode });
    // Alice redeems Dave's: she is the invitee there.
    const dave = await newUser('Dave');
    await alice.app.contacts.addByInviteCode({ code: (await dave.app.identity.me()).inviteCode });

    let app = alice.app;
    for (let round = 0; round < 2; round++) {
      await closeApp(app);
      // Only the restarted side can redial: its port changed, the others know the old one.
      app = openApp(alice.dir);
      await app.profile.unlock({ passphrase: PASS });
      const restarted = app;
      await waitFor(
        async () => (await restarted.contacts.list()).every((c) => c.online),
        `every contact online (round ${round})`,
      );
      const names = (await restarted.contacts.list()).map((c) => c.displayName).sort();
      expect(names).toEqual(['Bob', 'Carol', 'Dave']);
    }
  });
});
