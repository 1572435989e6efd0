/** `parley init` and `parley id`. */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { toString as qrToString } from 'qrcode';
import { AppError } from '../../app/errors.js';
import { connectDaemon } from '../control.js';
import { envOf, withPeer } from '../env.js';
import { CliError } from '../errors.js';
import { formatMe } from '../format.js';
import { profileDirOf, readPassphrase } from '../options.js';
import { newApp } from '../peer.js';

export function registerProfile(program: Command): void {
  program
    .command('init')
    .description('create a profile: your identity, this device, an encrypted database')
    .requiredOption('--name <name>', 'the name others see')
    .option('--device <name>', 'this device’s name', hostname())
    .action(async (o: { name: string; device: string }, cmd: Command) => {
      const env = envOf(cmd);
      const daemon = await connectDaemon(profileDirOf(env.g));
      if (daemon !== null) {
        daemon.close();
        throw new CliError('daemon_running', 'a peer of this profile runs already');
      }
      const app = newApp(env.g);
      try {
        if ((await app.profile.status()).state !== 'absent') {
          throw new AppError('conflict', 'a profile exists in this folder already');
        }
        const passphrase = await readPassphrase(true);
        const me = await app.profile.create({
          displayName: o.name,
          deviceName: o.device,
          passphrase,
        });
        env.out.result(me, (m) => `Profile created in ${profileDirOf(env.g)}\n${formatMe(m)}`);
      } finally {
        await app.close();
      }
    });

  program
    .command('id')
    .description('show your invite code (with a QR code), user id and fingerprint')
    .option('--no-qr', 'leave out the QR code')
    .action(async (o: { qr: boolean }, cmd: Command) => {
      const env = envOf(cmd);
      const me = await withPeer(env, (peer) => peer.api.identity.me());
      const qr =
        o.qr && !env.out.json
          ? await qrToString(me.inviteCode, {
              type: 'terminal',
              small: true,
              errorCorrectionLevel: 'M',
            })
          : '';
      env.out.result(me, (m) => `${formatMe(m)}\n${qr}`);
    });
}
