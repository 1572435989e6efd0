/**
 * Everything the command prints goes through here. Human mode: readable lines on stdout, progress
 * bars and notices on stderr. `--json`: exactly one JSON object per line on stdout (results,
 * events, progress, errors), so a script can read the stream line by line.
 */
import { SingleBar } from 'cli-progress';
import type { ReportedError } from './errors.js';

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

export class Output {
  constructor(readonly json: boolean) {}

  /** A command's result: `{"result": ...}` in JSON mode, `human(value)` lines otherwise. */
  result<T>(value: T, human: (v: T) => string): void {
    if (this.json) this.line({ result: value });
    else this.text(human(value));
  }

  /** One item of a stream (`watch`, the daemon's log): `{"event": name, "data": ...}`. */
  event(name: string, data: unknown, human: string): void {
    if (this.json) this.line({ event: name, at: new Date().toISOString(), data });
    else this.text(human);
  }

  /** A note for people (stderr); JSON mode sends it as `{"notice": ...}` on stdout. */
  notice(message: string): void {
    if (this.json) this.line({ notice: message });
    else process.stderr.write(`${message}\n`);
  }

  error(e: ReportedError): void {
    if (this.json) this.line({ error: { code: e.code, message: e.message } });
    else process.stderr.write(`parley: ${e.message} (${e.code})\n`);
  }

  /** A bar on a terminal, `{"progress": ...}` lines in JSON mode, nothing on a pipe. */
  progress(label: string): Progress {
    if (this.json) {
      return {
        update: (done, total) => this.line({ progress: { label, done, total } }),
        stop: () => undefined,
      };
    }
    if (!process.stderr.isTTY) {
      let last = -1;
      return {
        update: (done, total) => {
          // Quarter steps on a pipe: enough to see it move, not a line per chunk.
          const step = total === 0 ? 4 : Math.floor((done / total) * 4);
          if (step !== last) {
            last = step;
            process.stderr.write(`${label}: ${done}/${total} bytes\n`);
          }
        },
        stop: () => undefined,
      };
    }
    const bar = new SingleBar({
      format: `${label} [{bar}] {percentage}% | {value}/{total} bytes`,
      stream: process.stderr,
      hideCursor: true,
    });
    let started = false;
    return {
      update: (done, total) => {
        if (!started) {
          bar.start(total, done);
          started = true;
        } else {
          bar.setTotal(total);
          bar.update(done);
        }
      },
      stop: () => {
        if (started) bar.stop();
      },
    };
  }

  private text(s: string): void {
    if (s.length > 0) process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
  }

  private line(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value)}\n`);
  }
}
