/** `parley contact add|list|verify|accept-key`. */
import type { Command } from 'commander';
import { envOf, withPeer } from '../env.js';
import { formatContact } from '../format.js';
import { resolveContact } from '../resolve.js';

export function registerContacts(program: Command): void {
  const contact = program.command('contact').description('your contacts');

  contact
    .command('add <code>')
    .description('add a contact by the invite code they gave you (they must be online)')
    .action(async (code: string, _o: unknown, cmd: Command) => {
      const env = envOf(cmd);
      const c = await withPeer(env, (peer) => peer.api.contacts.addByInviteCode({ code }));
      env.out.result(c, (x) => `Added ${formatContact(x)}`);
    });

  contact
    .command('list')
    .description('list contacts with their verification state')
    .action(async (_o: unknown, cmd: Command) => {
      const env = envOf(cmd);
      const list = await withPeer(env, (peer) => peer.api.contacts.list());
      env.out.result(list, (l) =>
        l.length === 0 ? 'No contacts yet.' : l.map(formatContact).join('\n'),
      );
    });

  contact
    .command('verify <user>')
    .description(
      'show the safety number to compare with the contact; --confirm marks it verified, --qr checks their scanned payload',
    )
    .option('--confirm', 'you compared the digits and they match')
    .option('--qr <payload>', 'the base64url payload of their safety-number QR code')
    .action(async (user: string, o: { confirm?: boolean; qr?: string }, cmd: Command) => {
      const env = envOf(cmd);
      await withPeer(env, async (peer) => {
        const c = await resolveContact(peer.api, user);
        if (o.qr !== undefined || o.confirm === true) {
          const r = await peer.api.contacts.verify(
            o.qr !== undefined ? { userId: c.userId, scannedQr: o.qr } : { userId: c.userId },
          );
          env.out.result(r, (x) => `${x.check}: ${formatContact(x.contact)}`);
          return;
        }
        const sn = await peer.api.contacts.safetyNumber({ userId: c.userId });
        env.out.result(sn, (x) =>
          [
            `Safety number with ${c.displayName}:`,
            ...[0, 4, 8].map((i) => `  ${x.groups.slice(i, i + 4).join(' ')}`),
            'Compare it with theirs, then run again with --confirm.',
          ].join('\n'),
        );
      });
    });

  contact
    .command('accept-key <user>')
    .description('accept a contact’s changed key (after comparing the new safety number)')
    .action(async (user: string, _o: unknown, cmd: Command) => {
      const env = envOf(cmd);
      const c = await withPeer(env, async (peer) => {
        const found = await resolveContact(peer.api, user);
        return peer.api.contacts.acceptKeyChange({ userId: found.userId });
      });
      env.out.result(c, (x) => `Accepted the new key: ${formatContact(x)}`);
    });
}
