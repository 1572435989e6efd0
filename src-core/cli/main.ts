/**
 * `parley`: a headless peer on the app API (see README.md here). Parses the command line with
 * commander, runs one command, and turns any failure into one line (or one JSON object) and an
 * exit status. Stack traces only with PARLEY_DEBUG=1.
 */
import '../polyfill.js';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { registerContacts } from './commands/contacts.js';
import { registerGroups } from './commands/groups.js';
import { registerMessages } from './commands/messages.js';
import { registerProfile } from './commands/profile.js';
import { registerRun } from './commands/run.js';
import { EXIT, reportOf } from './errors.js';
import { Output } from './output.js';

function millis(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('milliseconds expected');
  return n;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function buildProgram(): Command {
  const program = new Command('parley')
    .description('Parley: serverless group messenger (MLS over libp2p), headless')
    .option(
      '--profile <dir>',
      'profile folder (default: $PARLEY_PROFILE or the platform data folder + /parley)',
    )
    .option('--json', 'machine-readable output: one JSON object per line')
    .option(
      '--listen <multiaddr>',
      'address to listen on (repeatable); loopback-only means a loopback peer',
      collect,
    )
    .addOption(
      new Option('--wait <ms>', 'in-process peer: wait this long for a contact before a change')
        .argParser(millis)
        .default(15_000),
    )
    .addOption(
      new Option('--linger <ms>', 'in-process peer: stay online this long after a change')
        .argParser(millis)
        .default(3_000),
    )
    .addOption(
      new Option('--timeout <ms>', 'give up waiting for the network after this long (0: never)')
        .argParser(millis)
        .default(600_000),
    )
    .showHelpAfterError()
    .exitOverride();
  registerProfile(program);
  registerContacts(program);
  registerGroups(program);
  registerMessages(program);
  registerRun(program);
  for (const c of program.commands) {
    c.exitOverride();
    for (const sub of c.commands) sub.exitOverride();
  }
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const json = argv.includes('--json');
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are exits with status 0; everything else is a usage error.
      if (error.exitCode === 0) return EXIT.ok;
      if (json)
        new Output(true).error({ code: 'usage', message: error.message, exitCode: EXIT.usage });
      return EXIT.usage;
    }
    const report = reportOf(error);
    new Output(json).error(report);
    if (process.env.PARLEY_DEBUG === '1') console.error(error);
    return report.exitCode;
  }
}

const code = await main(process.argv.slice(2));
// Open handles of a closed libp2p node can keep the loop alive a while; the command is done.
process.exit(code);
