/**
 * What the `parley` command tells a person (one line) or a script (`{"error":{code,message}}`)
 * when something fails, and with which exit status. App errors keep their code; problems of the
 * command itself (usage, no profile, a missing renderer build, a timeout) are `CliError`s.
 */
import { ParleyError } from '../errors.js';
import { AppError } from '../app/errors.js';
import type { AppErrorCode } from '../app/errors.js';

export type CliErrorCode =
  /** Arguments the command cannot use. */
  | 'usage'
  /** No profile in the folder (run `parley init`). */
  | 'no_profile'
  /** A passphrase is needed and there is neither PARLEY_PASSPHRASE nor a terminal to ask on. */
  | 'passphrase_required'
  /** The network did not confirm in time; the outcome may still arrive later. */
  | 'timeout'
  /** `parley serve` without `npm run build:renderer` first. */
  | 'renderer_missing'
  /** A daemon or serve of this profile runs already (it holds the database). */
  | 'daemon_running'
  /** A file given on the command line cannot be read. */
  | 'file';

export class CliError extends ParleyError<CliErrorCode> {
  readonly layer = 'cli';
  readonly detail: string;

  constructor(code: CliErrorCode, detail: string, options?: { cause?: unknown }) {
    super(code, detail, options);
    this.detail = detail;
  }
}

/**
 * Exit statuses (documented in src-core/cli/README.md). Scripts branch on these; the code in the
 * JSON error line says more.
 */
export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  unauthorized: 3,
  forbidden: 4,
  notFound: 5,
  conflict: 6,
  noProfile: 7,
  unavailable: 8,
  interrupted: 130,
} as const;

const APP_EXIT: Record<AppErrorCode, number> = {
  bad_request: EXIT.usage,
  too_large: EXIT.usage,
  unknown_method: EXIT.usage,
  unauthorized: EXIT.unauthorized,
  wrong_passphrase: EXIT.unauthorized,
  forbidden: EXIT.forbidden,
  locked: EXIT.noProfile,
  not_found: EXIT.notFound,
  conflict: EXIT.conflict,
  busy: EXIT.unavailable,
  unavailable: EXIT.unavailable,
  internal: EXIT.internal,
};

const CLI_EXIT: Record<CliErrorCode, number> = {
  usage: EXIT.usage,
  no_profile: EXIT.noProfile,
  passphrase_required: EXIT.unauthorized,
  timeout: EXIT.unavailable,
  renderer_missing: EXIT.usage,
  daemon_running: EXIT.conflict,
  file: EXIT.usage,
};

export interface ReportedError {
  code: string;
  message: string;
  exitCode: number;
}

/**
 * The one line a failure becomes. Other layers' errors show their layer and code only (their
 * messages name rules, but the CLI keeps to what the RPC boundary would show); anything else is
 * `internal` without its message, which might quote data.
 */
export function reportOf(error: unknown): ReportedError {
  if (error instanceof CliError) {
    return { code: error.code, message: error.detail, exitCode: CLI_EXIT[error.code] };
  }
  if (error instanceof AppError) {
    return { code: error.code, message: error.detail, exitCode: APP_EXIT[error.code] };
  }
  if (error instanceof ParleyError) {
    return {
      code: 'internal',
      message: `${error.layer} error ${error.code}`,
      exitCode: EXIT.internal,
    };
  }
  return { code: 'internal', message: 'internal error', exitCode: EXIT.internal };
}
