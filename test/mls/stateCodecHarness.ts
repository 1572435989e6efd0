/**
 * Test support for the state codec: an in-memory key-value store that applies encoded records
 * and diffs the way a level batch would, and a fingerprint of everything a state holds (secrets
 * included) to compare a decoded state with the live one.
 */
import type { GroupState } from '../../src-core/mls/group/index.js';
import type { GroupStateChanges } from '../../src-core/mls/storage/index.js';
import { diffGroupState, encodeGroupState } from '../../src-core/mls/storage/index.js';
import { toHex } from '../support/shared.js';

/** A group's records, kept up to date with diffs. */
export class RecordStore {
  readonly records = new Map<string, Uint8Array>();
  last: GroupState;
  /** Records written by the last `sync`. */
  lastChanges: GroupStateChanges | undefined;

  constructor(state: GroupState) {
    for (const [k, v] of encodeGroupState(state)) this.records.set(k, v);
    this.last = state;
  }

  apply(changes: GroupStateChanges): void {
    for (const k of changes.del) this.records.delete(k);
    for (const p of changes.delPrefixes) {
      for (const k of [...this.records.keys()]) if (k.startsWith(p)) this.records.delete(k);
    }
    for (const [k, v] of changes.put) this.records.set(k, v);
  }

  /** Writes what changed from the last synced state to `next`. */
  sync(next: GroupState): GroupStateChanges {
    const changes = diffGroupState(this.last, next);
    this.apply(changes);
    this.last = next;
    this.lastChanges = changes;
    return changes;
  }

  bytes(): number {
    let n = 0;
    for (const [k, v] of this.records) n += k.length + v.length;
    return n;
  }
}

export function recordBytes(records: ReadonlyMap<string, Uint8Array>): number {
  let n = 0;
  for (const [k, v] of records) n += k.length + v.length;
  return n;
}

const label = new TextEncoder().encode('fingerprint');

/** Everything that defines a state's behaviour, secrets included, as a comparable object. */
export function fingerprint(s: GroupState): Record<string, unknown> {
  const parts = s.storageParts();
  const receivers = s.receivers().map((r) => {
    const c = r.secretTree.contents();
    return {
      epoch: r.epoch.toString(),
      tree: toHex(r.tree.treeHash()),
      leafCount: r.tree.leafCount,
      senderData: toHex(r.framing().senderDataSecret),
      nodes: c.nodes.map(([x, sec]) => `${x}:${toHex(sec)}`),
      leaves: c.leaves.map(([leaf, lr]) =>
        [lr.handshake, lr.application].map((q) => ({
          leaf,
          next: q.next,
          secret: toHex(q.secret),
          skipped: q.skipped.map(([g, kn]) => `${g}:${toHex(kn.key)}:${toHex(kn.nonce)}`),
        })),
      ),
    };
  });
  return {
    epoch: s.epoch.toString(),
    status: s.status,
    ownLeaf: s.ownLeaf,
    treeHash: toHex(s.tree.treeHash()),
    members: s.memberCount,
    context: toHex(s.groupContext.confirmedTranscriptHash),
    interim: toHex(s.interimTranscriptHash),
    tag: toHex(s.confirmationTag),
    reInit: s.reInit === undefined ? null : toHex(s.reInit.groupId),
    signature: toHex(parts.signaturePrivateKey),
    secrets: parts.epochSecrets?.held().map(([n, v]) => `${n}:${toHex(v)}`) ?? null,
    exporter: s.status === 'removed' ? null : toHex(s.exporter('x', label, 32)),
    path: parts.privatePath.nodes().map((x) => {
      const kp = parts.privatePath.keyPair(x)!;
      return `${x}:${toHex(kp.publicKey)}:${toHex(kp.privateKey)}`;
    }),
    psks: [...parts.resumptionPsks].map(([e, v]) => `${e}:${toHex(v)}`),
    proposals: s.proposals.list().map((p) => ({
      ref: toHex(p.ref),
      own: p.own,
      sender: JSON.stringify(p.sender),
      key: p.updateKeyPair === undefined ? null : toHex(p.updateKeyPair.privateKey),
    })),
    receivers,
    hasCurrentReceiver: parts.receiver !== undefined,
  };
}
