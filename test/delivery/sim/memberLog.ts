/**
 * A simulated member's helpers beside its session: keeping what passes on the channel in its
 * ciphertext log (a commit's ordering record may come before or after the commit), and the extra
 * notes of a replay with SIM_TRACE=1.
 */
import type { CipherSuite } from '../../../src-core/crypto/types.js';
import type { CiphertextLog } from '../../../src-core/delivery/ciphertextLog.js';
import { EntryKind, messageIdOf } from '../../../src-core/delivery/ciphertextLog.js';
import type { GroupEnvelope } from '../../../src-core/delivery/envelope.js';
import { EnvelopeKind, decodeEnvelope } from '../../../src-core/delivery/envelope.js';
import type { GroupSession } from '../../../src-core/delivery/groupSession.js';
import {
  commitHash,
  decodeOrderingRecord,
  encodeOrderingRecord,
} from '../../../src-core/delivery/orderingRecord.js';
import type { SyncItem } from '../../../src-core/delivery/syncProtocol.js';

/** What keeping needs of an incarnation: its log and the records still waiting for a commit. */
export interface LogKeeping {
  readonly log: CiphertextLog | undefined;
  /** Records whose commit is not in the log yet, by commit hash. */
  readonly pendingRecords: Map<string, Uint8Array>;
  /** Commit message ids in the log by commit hash. */
  readonly commitIds: Map<string, Uint8Array>;
}

/** Appends an envelope's content to the log (ciphertext only; duplicates are the log's to drop). */
export function keepInLog(
  inc: LogKeeping,
  suite: CipherSuite,
  data: Uint8Array,
  onError: (e: unknown) => void,
): void {
  const log = inc.log;
  const env = peek(data);
  if (log === undefined || env === undefined) return;
  const groupId = env.groupId;
  const work = async (): Promise<void> => {
    switch (env.kind) {
      case EnvelopeKind.commit: {
        const key = hex(commitHash(suite, env.mlsMessage));
        const record = inc.pendingRecords.get(key);
        inc.commitIds.set(key, messageIdOf(env.mlsMessage));
        await log.append(groupId, {
          kind: EntryKind.commit,
          epoch: env.epoch,
          message: env.mlsMessage,
          orderingRecord: record,
        });
        if (record !== undefined) {
          inc.pendingRecords.delete(key);
          await log.attachOrderingRecord(groupId, messageIdOf(env.mlsMessage), record);
        }
        return;
      }
      case EnvelopeKind.orderingRecord: {
        const key = hex(env.record.commitHash);
        const record = encodeOrderingRecord(env.record);
        const id = inc.commitIds.get(key);
        if (id === undefined || !(await log.attachOrderingRecord(groupId, id, record))) {
          inc.pendingRecords.set(key, record);
        }
        return;
      }
      case EnvelopeKind.application:
      case EnvelopeKind.proposal:
        await log.append(groupId, {
          kind: env.kind === EnvelopeKind.application ? EntryKind.application : EntryKind.proposal,
          epoch: env.epoch,
          message: env.mlsMessage,
        });
        return;
      default:
        return;
    }
  };
  work().catch(onError);
}

/** More notes for a replay with SIM_TRACE=1: every merge, refusal and publication. */
export function traceDetail(
  session: GroupSession,
  suite: CipherSuite,
  roster: () => readonly string[],
  note: (text: string) => void,
): void {
  session.on('epoch', (e) => {
    const names = roster().join(',');
    const hash = hex(e.commitHash).slice(0, 8);
    note(`epoch ${e.epoch} by leaf ${e.committer} ${hash} term ${e.term} roster ${names}`);
  });
  session.on('rejected', (e) => note(`rejected at ${session.epoch}: ${e.error.message}`));
  session.on('published', (e) => {
    if (e.kind === EnvelopeKind.heartbeat) return;
    const env = peek(e.envelope);
    const what =
      env?.kind === EnvelopeKind.orderingRecord
        ? ` record ${hex(env.record.commitHash).slice(0, 8)} term ${env.record.term}`
        : env?.kind === EnvelopeKind.commit
          ? ` commit ${hex(commitHash(suite, env.mlsMessage)).slice(0, 8)}`
          : '';
    note(`published kind ${e.kind} epoch ${e.epoch}${what}`);
  });
  session.on('notDelivered', (e) => note(`notDelivered ${e.id}: ${e.reason}`));
}

/** A synced log item as the envelopes it came in (a commit with its record, if it has one). */
export function syncItemEnvelopes(groupId: Uint8Array, item: SyncItem): GroupEnvelope[] {
  const base = { groupId, epoch: item.epoch };
  if (item.kind === EntryKind.application) {
    return [{ ...base, kind: EnvelopeKind.application, mlsMessage: item.message }];
  }
  if (item.kind !== EntryKind.commit) {
    return [{ ...base, kind: EnvelopeKind.proposal, mlsMessage: item.message }];
  }
  const envs: GroupEnvelope[] = [{ ...base, kind: EnvelopeKind.commit, mlsMessage: item.message }];
  if (item.orderingRecord !== undefined) {
    const record = decodeOrderingRecord(item.orderingRecord);
    envs.push({ ...base, kind: EnvelopeKind.orderingRecord, record });
  }
  return envs;
}

/** The epoch `back` epochs before `epoch` (not below 0). */
export function floorEpoch(epoch: bigint, back: number): bigint {
  const b = BigInt(back);
  return epoch > b ? epoch - b : 0n;
}

function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

export function peek(data: Uint8Array): GroupEnvelope | undefined {
  try {
    return decodeEnvelope(data);
  } catch {
    return undefined;
  }
}
