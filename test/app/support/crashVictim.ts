/**
 * The victim of the crash test (test/app/crashBurst.test.ts): one ParleyApp in its own process,
 * served over the IPC channel of `child_process.fork` with the app's own RPC layer, so the parent
 * drives it through a `ParleyClient` and kills it with SIGKILL whenever it likes.
 *
 * argv: <profile folder>. Passphrase profiles with the lowest scrypt cost, loopback only.
 */
import '../../../src-core/polyfill.js';
import { ParleyApp } from '../../../src-core/app/parleyApp.js';
import type { PortLike } from '../../../src-core/app/rpc/channel.js';
import { portChannel } from '../../../src-core/app/rpc/channel.js';
import { serveChannel } from '../../../src-core/app/rpc/server.js';
import { loopbackNetConfig } from '../../../src-core/net/index.js';

const profileDir = process.argv[2];
if (profileDir === undefined || process.send === undefined) {
  console.error('usage: fork(crashVictim, [profileDir]) with an IPC channel');
  process.exit(2);
}
const app = new ParleyApp({
  profileDir,
  keyProtection: 'passphrase',
  scryptLogN: 10,
  net: loopbackNetConfig(),
  // Catch-up every second instead of every minute: a restarted victim asks the others soon.
  storeAndForward: { syncEveryMs: 1_000 },
});
const port: PortLike = { postMessage: (m) => process.send!(m), onmessage: null };
process.on('message', (data: unknown) => port.onmessage?.({ data }));
serveChannel(app, portChannel(port), {
  onContractViolation: (where, error) =>
    console.error(`victim: contract violation in ${where}:`, error),
});
// The parent going away (test end) closes the app cleanly; a SIGKILL skips all of this.
process.on('disconnect', () => {
  void app.close().finally(() => process.exit(0));
});
process.send('ready');
