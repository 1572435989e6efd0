#!/usr/bin/env node
// `npm run crash -- --rounds 50 [--seed 1] [--victim-commits]`: the SIGKILL burst test of
// test/app/crashBurst.test.ts with as many kills and the seed asked (the suite: 50, seed 1).
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '50' },
    seed: { type: 'string', default: '1' },
    'victim-commits': { type: 'boolean', default: false },
  },
});
for (const [name, v] of [
  ['rounds', values.rounds],
  ['seed', values.seed],
]) {
  if (!/^[0-9]{1,6}$/.test(v)) {
    console.error(`--${name} takes a whole number`);
    process.exit(2);
  }
}
const child = spawn('npx', ['vitest', 'run', 'test/app/crashBurst.test.ts'], {
  stdio: 'inherit',
  env: {
    ...process.env,
    PARLEY_CRASH_ROUNDS: values.rounds,
    PARLEY_CRASH_SEED: values.seed,
    ...(values['victim-commits'] ? { PARLEY_CRASH_VICTIM_COMMITS: '1' } : {}),
  },
});
child.on('exit', (code, signal) => process.exit(signal === null ? (code ?? 1) : 1));
