/**
 * Issue 7's "what must show": three `parley` processes on 127.0.0.1 with separate profiles make
 * a group, chat, send a 50 MiB file (progress seen), remove one member, and check every side's
 * history and membership; then all three restart and nothing was lost. Each profile runs a
 * `parley daemon`; the commands are separate `parley` processes that reach it over the control
 * channel, as a person at a shell would.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type {
  GroupSummary,
  Me,
  Member,
  MembershipLogEntry,
  Message,
} from '../../src-core/app/api.js';
import type { Running } from './cliHarness.js';
import { cleanup, isEvent, ok, run, start, tempDir } from './cliHarness.js';

afterAll(cleanup);

const FILE_BYTES = 50 * 1024 * 1024;
type Line = Record<string, unknown>;

const groupEvent = (groupId: string, pred: (g: GroupSummary) => boolean) => (l: Line) =>
  l.event === 'group.changed' &&
  (l.data as { group: GroupSummary }).group.groupId === groupId &&
  pred((l.data as { group: GroupSummary }).group);

const received = (text: string) => (l: Line) =>
  l.event === 'message.received' && (l.data as { message: Message }).message.text === text;

/** A free loopback port: restarted daemons come back where their contacts' address books say. */
function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as AddressInfo).port;
      srv.close(() => res(port));
    });
  });
}

async function daemon(profile: string, port: number): Promise<Running> {
  const d = start(profile, ['daemon'], ['--listen', `/ip4/127.0.0.1/tcp/${port}`]);
  await d.line(isEvent('ready'), 'daemon ready');
  return d;
}

const texts = (h: Message[]): string[] =>
  h.map((m) => (m.attachment ? `[${m.attachment.name}]` : m.text));

describe('three parley processes on 127.0.0.1', () => {
  it(
    'group, chat, 50 MiB file with progress, remove, restart all: nothing lost',
    { timeout: 900_000 },
    async () => {
      const dir = await tempDir();
      const names = ['Alice', 'Bob', 'Carol'] as const;
      const [pa, pb, pc] = names.map((n) => join(dir, n.toLowerCase())) as [string, string, string];
      await Promise.all(
        names.map((n, i) => ok<Me>([pa, pb, pc][i] as string, ['init', '--name', n])),
      );
      const [qa, qb, qc] = [await freePort(), await freePort(), await freePort()];
      const daemons = (): Promise<Running[]> =>
        Promise.all([daemon(pa, qa), daemon(pb, qb), daemon(pc, qc)]);
      let [da, db, dc] = (await daemons()) as [Running, Running, Running];
      // Invite codes carry the running peer's addresses and are single use: ask the daemon each time.
      const invite = async (p: string): Promise<Me> => ok<Me>(p, ['id']);
      const befriend = async (from: string, to: string): Promise<void> => {
        const them = await invite(to);
        const added = await ok<{ userId: string }>(from, ['contact', 'add', them.inviteCode]);
        expect(added.userId).toBe(them.userId);
      };
      // Contacts: Bob and Carol add Alice, Carol adds Bob.
      await befriend(pb, pa);
      await befriend(pc, pa);
      await befriend(pc, pb);
      const aContacts = await ok<{ displayName: string }[]>(pa, ['contact', 'list']);
      expect(aContacts.map((x) => x.displayName).sort()).toEqual(['Bob', 'Carol']);

      // Alice makes the group with both; they join from the Welcome.
      const g = await ok<GroupSummary>(pa, [
        'group',
        'create',
        'Team',
        '--member',
        'Bob',
        '--member',
        'Carol',
      ]);
      expect(g).toMatchObject({ name: 'Team', memberCount: 3, myRole: 'admin' });
      const gid = g.groupId;
      await db.line(
        groupEvent(gid, () => true),
        'Bob joined',
      );
      await dc.line(
        groupEvent(gid, () => true),
        'Carol joined',
      );

      // Chat: each sends one; the other two receive it.
      await ok(pa, ['send', 'Team', 'hello team']);
      await db.line(received('hello team'), 'Bob reads Alice');
      await dc.line(received('hello team'), 'Carol reads Alice');
      await ok(pb, ['send', 'Team', 'hi Alice']);
      await ok(pc, ['send', 'Team', 'hey both']);
      await da.line(received('hi Alice'), 'Alice reads Bob');
      await da.line(received('hey both'), 'Alice reads Carol');
      await dc.line(received('hi Alice'), 'Carol reads Bob');
      await db.line(received('hey both'), 'Bob reads Carol');

      // A 50 MiB file, with progress lines on the way.
      const file = join(dir, 'big.bin');
      await writeFile(file, randomBytes(FILE_BYTES));
      const sent = await run(pa, ['--json', 'send-file', 'Team', file]);
      expect(sent.code, sent.stderr).toBe(0);
      const up = sent.lines
        .filter((l) => 'progress' in l)
        .map((l) => l.progress as { done: number; total: number });
      // Every event and result crossed the RPC boundary intact (none dropped by its schema).
      expect(
        da.lines
          .filter(isEvent('contract_violation'))
          .map((l) => (l.data as { where: string }).where),
      ).toEqual([]);
      expect(up.length).toBeGreaterThan(1);
      expect(up.at(-1)).toEqual({ label: 'upload', done: FILE_BYTES, total: FILE_BYTES });
      const attachmentId = (
        sent.lines.find((l) => 'result' in l)?.result as { transfer: { attachmentId: string } }
      ).transfer.attachmentId;
      await db.line(
        (l) =>
          l.event === 'message.received' &&
          (l.data as { message: Message }).message.attachment?.attachmentId === attachmentId,
        'Bob sees the file',
      );
      await dc.line(
        (l) =>
          l.event === 'message.received' &&
          (l.data as { message: Message }).message.attachment?.attachmentId === attachmentId,
        'Carol sees the file',
      );
      for (const p of [pb, pc]) {
        const fetched = await run(p, ['--json', 'fetch', 'Team', attachmentId]);
        expect(fetched.code, fetched.stderr).toBe(0);
        const down = fetched.lines
          .filter((l) => 'progress' in l)
          .map((l) => l.progress as { done: number; total: number });
        expect(down.at(-1)).toEqual({ label: 'download', done: FILE_BYTES, total: FILE_BYTES });
        expect(fetched.lines.find((l) => 'result' in l)?.result).toMatchObject({
          state: 'done',
          bytesDone: FILE_BYTES,
        });
      }

      // Alice removes Carol.
      const removed = await ok<GroupSummary>(pa, ['group', 'remove', 'Team', 'Carol']);
      expect(removed.memberCount).toBe(2);
      await dc.line(
        groupEvent(gid, (x) => x.state === 'removed'),
        'Carol learns she was removed',
      );
      await db.line(
        (l) =>
          l.event === 'group.member_changed' &&
          (l.data as { entry: MembershipLogEntry }).entry.change === 'removed',
        'Bob sees the removal',
      );

      const expected = ['hello team', 'hi Alice', 'hey both', '[big.bin]'];
      const check = async (): Promise<void> => {
        for (const p of [pa, pb]) {
          const members = await ok<Member[]>(p, ['group', 'members', 'Team']);
          expect(members.map((m) => m.displayName).sort()).toEqual(['Alice', 'Bob']);
          expect((await ok<GroupSummary[]>(p, ['group', 'list']))[0]).toMatchObject({
            groupId: gid,
            state: 'active',
            memberCount: 2,
          });
        }
        const logOf = async (p: string): Promise<MembershipLogEntry[]> =>
          ok<MembershipLogEntry[]>(p, ['group', 'log', 'Team']);
        for (const p of [pa, pb, pc]) {
          expect(texts(await ok<Message[]>(p, ['history', 'Team', '--all']))).toEqual(expected);
        }
        // Oldest first: Alice saw it all; Bob's log starts at his join; both saw Carol go.
        const aLog = await logOf(pa);
        expect(aLog.map((e) => [e.change, e.subjectName])).toEqual([
          ['created', null],
          ['added', 'Bob'],
          ['added', 'Carol'],
          ['removed', 'Carol'],
        ]);
        const bLog = await logOf(pb);
        expect(bLog.at(-1)).toMatchObject({
          change: 'removed',
          subjectName: 'Carol',
          actorName: 'Alice',
        });
        expect((await logOf(pc)).length).toBeGreaterThan(0);
        expect((await ok<GroupSummary[]>(pc, ['group', 'list']))[0]).toMatchObject({
          groupId: gid,
          state: 'removed',
        });
        const bHistory = await ok<Message[]>(pb, ['history', 'Team', '--all']);
        expect(bHistory.at(-1)?.attachment).toMatchObject({
          attachmentId,
          size: FILE_BYTES,
          complete: true,
        });
      };
      await check();

      // Restart all three: everything is still there, and the group still works.
      expect(await Promise.all([da.stop(), db.stop(), dc.stop()])).toEqual([0, 0, 0]);
      [da, db, dc] = (await daemons()) as [Running, Running, Running];
      await check();
      await ok(pa, ['send', 'Team', 'after the restart']);
      await db.line(received('after the restart'), 'Bob reads after the restart');
      expect(await Promise.all([da.stop(), db.stop(), dc.stop()])).toEqual([0, 0, 0]);

      // Bob's copy of the file, decrypted, is the sender's bytes.
      const out = join(dir, 'bob-big.bin');
      await ok(pb, ['save', attachmentId, out]);
      const digest = async (p: string): Promise<string> =>
        createHash('sha256')
          .update(await readFile(p))
          .digest('hex');
      expect(await digest(out)).toBe(await digest(file));
    },
  );
});
