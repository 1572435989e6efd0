/** `parley send`, `send-file`, `fetch`, `save`, `history`, `watch`. */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Message, ParleyApi, ParleyEvent, Transfer } from '../../app/api.js';
import { AppError, isAppErrorCode } from '../../app/errors.js';
import { ParleyApp } from '../../app/parleyApp.js';
import type { AttachmentsServiceImpl } from '../../app/attachmentsService.js';
import type { Env } from '../env.js';
import { envOf, positiveInt, withPeer } from '../env.js';
import { CliError } from '../errors.js';
import { formatEvent, formatMessage } from '../format.js';
import { resolveGroup } from '../resolve.js';
import { change } from './groups.js';

/**
 * Follows one transfer (by id, or the first of `direction` in `groupId` when the id is not known
 * yet) with a progress display until it ends; events drive it, a poll covers missed ones.
 */
function follow(
  env: Env,
  api: ParleyApi,
  label: string,
  match: { transferId?: string; groupId: string; direction: Transfer['direction'] },
): { done: Promise<Transfer>; setId(id: string): void; stop(): void } {
  const bar = env.out.progress(label);
  let id = match.transferId;
  let settle: (t: Transfer) => void = () => undefined;
  let fail: (e: unknown) => void = () => undefined;
  const done = new Promise<Transfer>((res, rej) => {
    settle = res;
    fail = rej;
  });
  const seen = (t: Transfer): void => {
    if (id === undefined && t.groupId === match.groupId && t.direction === match.direction) {
      id = t.transferId;
    }
    if (t.transferId !== id) return;
    bar.update(t.bytesDone, t.bytesTotal);
    if (t.state !== 'running') settle(t);
  };
  const off = api.onEvent((e: ParleyEvent) => {
    if (e.event === 'attachment.progress') seen(e.data.transfer);
  });
  const poll = setInterval(() => {
    if (id !== undefined) api.attachments.progress({ transferId: id }).then(seen, fail);
  }, 500);
  const stop = (): void => {
    clearInterval(poll);
    off();
    bar.stop();
  };
  void done.then(stop, stop);
  return {
    done,
    setId: (transferId) => {
      id = transferId;
    },
    stop,
  };
}

function failedTransfer(t: Transfer): AppError {
  const code = t.failure !== null && isAppErrorCode(t.failure) ? t.failure : 'unavailable';
  return new AppError(code, `the transfer failed after ${t.bytesDone} of ${t.bytesTotal} bytes`);
}

function withTimeout<T>(p: Promise<T>, ms: number | undefined, what: string): Promise<T> {
  if (ms === undefined || ms === 0) return p;
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CliError('timeout', `${what}: no answer in ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export function registerMessages(program: Command): void {
  program
    .command('send <group> <text>')
    .description('send a text message to a group')
    .action(async (groupArg: string, text: string, _o: unknown, cmd: Command) => {
      const env = envOf(cmd);
      const m = await change(env, async (peer) => {
        const { groupId } = await resolveGroup(peer.api, groupArg);
        return peer.api.messages.send({ groupId, text });
      });
      env.out.result(m, (x) => `Sent ${x.messageId.slice(0, 12)} (${x.delivery})`);
    });

  program
    .command('send-file <group> <path>')
    .description('send a file to a group (chunked and encrypted; members fetch it)')
    .option('--caption <text>', 'a caption shown with the file')
    .action(async (groupArg: string, path: string, o: { caption?: string }, cmd: Command) => {
      const env = envOf(cmd);
      const abs = resolve(path);
      const info = await stat(abs).catch((cause: unknown) => {
        throw new CliError('file', `cannot read ${abs}`, { cause });
      });
      if (!info.isFile()) throw new CliError('file', `${abs} is not a file`);
      const sent = await change(env, async (peer) => {
        const { groupId } = await resolveGroup(peer.api, groupArg);
        const f = follow(env, peer.api, 'upload', { groupId, direction: 'upload' });
        try {
          const r = await peer.api.attachments.send({
            groupId,
            source: { kind: 'path', path: abs },
            ...(o.caption !== undefined ? { caption: o.caption } : {}),
          });
          if (r.transfer.state === 'failed') throw failedTransfer(r.transfer);
          return r;
        } finally {
          f.stop();
        }
      });
      env.out.result(
        sent,
        (s) =>
          `Sent ${s.message.attachment?.name ?? 'file'} (${info.size} bytes), attachment ${s.transfer.attachmentId}`,
      );
    });

  program
    .command('fetch <group> <attachment>')
    .description('fetch an attachment’s chunks from the members that have them, with progress')
    .action(async (groupArg: string, attachmentId: string, _o: unknown, cmd: Command) => {
      const env = envOf(cmd);
      const t = await withPeer(env, async (peer) => {
        const { groupId } = await resolveGroup(peer.api, groupArg);
        const f = follow(env, peer.api, 'download', { groupId, direction: 'download' });
        try {
          const started = await peer.api.attachments.fetch({ groupId, attachmentId });
          f.setId(started.transferId);
          const end =
            started.state === 'running'
              ? await withTimeout(f.done, env.g.timeout, 'fetch')
              : started;
          if (end.state === 'failed') throw failedTransfer(end);
          return end;
        } finally {
          f.stop();
        }
      });
      env.out.result(t, (x) => `Fetched ${x.bytesDone} bytes`);
    });

  program
    .command('save <attachment> <path>')
    .description('write a fetched attachment, decrypted, to a file (needs the profile: no daemon)')
    .action(async (attachmentId: string, path: string, _o: unknown, cmd: Command) => {
      const env = envOf(cmd);
      const abs = resolve(path);
      await withPeer(env, async (peer) => {
        if (!(peer.api instanceof ParleyApp)) {
          throw new CliError(
            'daemon_running',
            'saving a file opens the profile: stop its daemon first',
          );
        }
        await (peer.api.attachments as AttachmentsServiceImpl).saveTo({ attachmentId, path: abs });
      });
      env.out.result({ attachmentId, path: abs }, () => `Saved to ${abs}`);
    });

  program
    .command('history <group>')
    .description('the group’s messages, oldest first')
    .option('--limit <n>', 'the newest n messages (default 50)', positiveInt('--limit'), 50)
    .option('--all', 'every message')
    .action(async (groupArg: string, o: { limit: number; all?: boolean }, cmd: Command) => {
      const env = envOf(cmd);
      const messages = await withPeer(env, async (peer) => {
        const { groupId } = await resolveGroup(peer.api, groupArg);
        const pages: Message[][] = [];
        let count = 0;
        let before: string | undefined;
        do {
          const page = await peer.api.messages.history(
            before === undefined ? { groupId } : { groupId, before },
          );
          pages.unshift(page.messages);
          count += page.messages.length;
          before = page.nextCursor ?? undefined;
        } while (before !== undefined && (o.all === true || count < o.limit));
        const all = pages.flat();
        return o.all === true ? all : all.slice(Math.max(0, all.length - o.limit));
      });
      env.out.result(messages, (l) =>
        l.length === 0 ? 'No messages.' : l.map(formatMessage).join('\n'),
      );
    });

  program
    .command('watch')
    .description('print incoming messages and events until Ctrl-C')
    .action(async (_o: unknown, cmd: Command) => {
      const env = envOf(cmd);
      await withPeer(env, async (peer) => {
        const off = peer.api.onEvent((e: ParleyEvent) =>
          env.out.event(e.event, e.data, formatEvent(e)),
        );
        env.out.notice(
          `watching (${peer.mode === 'daemon' ? 'through the daemon' : 'in-process peer'}); Ctrl-C stops`,
        );
        const ended = await Promise.race([untilSignal(), peer.gone.then(() => 'gone' as const)]);
        off();
        if (ended === 'gone') throw new AppError('unavailable', 'the daemon stopped');
      });
    });
}

/** Resolves on SIGINT or SIGTERM (once), so the caller can shut down cleanly. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((res) => {
    const on = (s: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      res(s);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
