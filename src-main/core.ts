/**
 * Entry of the core's utility process (forked by coreHost.ts): the ParleyApp, its libp2p node and
 * its store live here, so heavy crypto and network work never blocks the window. Control
 * messages come over the parent port; API traffic over the MessagePorts those messages carry.
 * The logic is in coreRuntime.ts (testable without Electron).
 */
import '../src-core/polyfill.js';
import type { ParentPort } from 'electron';
import { CoreRuntime } from './coreRuntime.js';

// Present only in an Electron utility process; typed by Electron's augmentation of process.
const parentPort: ParentPort | undefined = (process as { parentPort?: ParentPort }).parentPort;
if (parentPort === undefined) {
  process.stderr.write('core.ts runs inside an Electron utility process only\n');
  process.exit(2);
}

const runtime = new CoreRuntime((message) => parentPort.postMessage(message), {
  log: (line) => process.stderr.write(`parley core: ${line}\n`),
});

parentPort.on('message', (event) => {
  void runtime.handle(event.data, event.ports).then(() => {
    if ((event.data as { type?: unknown } | null)?.type === 'shutdown') process.exit(0);
  });
});
