/**
 * The membership changes a member wants (add, remove, update its keys), kept until a commit that
 * makes them is merged. They are "intents", not commits: a commit is bound to one epoch and may
 * lose it, while an intent is re-made as a fresh commit in the next epoch. An intent names members
 * by signature key, not leaf index, because leaf indices differ between the branches of a fork
 * and shift when others leave; MLS keeps signature keys unique in a tree (§7.3), so the key is
 * a stable name within one group.
 *
 * An intent that the group already satisfies (the member is gone, or already in) is dropped
 * rather than committed again: several members re-proposing the same removal after a fork
 * therefore converge on one commit, and the others' intents simply vanish.
 */
import type { Group, GroupMember, KeyPackageInput, OutgoingCommit } from '../mls/client/index.js';
import { WireFormat } from '../mls/framing/framedContent.js';
import { decodeMlsMessage } from '../mls/framing/mlsMessage.js';
import type { KeyPackage } from '../mls/keyPackage.js';
import { DeliveryError } from './errors.js';
import { bytesEqual } from './orderingRecord.js';

export type Change =
  | { readonly kind: 'remove'; readonly signatureKey: Uint8Array }
  | { readonly kind: 'add'; readonly keyPackage: KeyPackage }
  | { readonly kind: 'update' };

/** A KeyPackage given as bytes (an MLSMessage) or as an object. Throws MlsError/DeliveryError. */
export function keyPackageOf(input: KeyPackageInput): KeyPackage {
  if (!(input instanceof Uint8Array)) return input;
  const m = decodeMlsMessage(input);
  if (m.wireFormat !== WireFormat.keyPackage) {
    throw new DeliveryError('invalid_argument', 'not a KeyPackage message');
  }
  return m.keyPackage;
}

export function describeChange(c: Change): string {
  return c.kind;
}

function keyOf(c: Change): Uint8Array | undefined {
  if (c.kind === 'remove') return c.signatureKey;
  if (c.kind === 'add') return c.keyPackage.leafNode.signatureKey;
  return undefined;
}

function leafOf(members: readonly GroupMember[], key: Uint8Array): number | undefined {
  return members.find((m) => bytesEqual(m.signatureKey, key))?.leafIndex;
}

/** The changes not yet made in `group`'s current epoch (duplicates collapsed). */
export function outstanding(group: Group, changes: readonly Change[]): Change[] {
  const members = group.members();
  const out: Change[] = [];
  let update = false;
  for (const c of changes) {
    if (c.kind === 'update') {
      if (!update) out.push(c);
      update = true;
      continue;
    }
    const key = keyOf(c)!;
    const present = leafOf(members, key) !== undefined;
    if (c.kind === 'remove' ? !present : present) continue;
    const dup = out.some((o) => {
      const k = keyOf(o);
      return o.kind === c.kind && k !== undefined && bytesEqual(k, key);
    });
    if (!dup) out.push(c);
  }
  return out;
}

export interface PlannedCommit {
  readonly outgoing: OutgoingCommit;
  /** The changes this commit makes (the rest wait for the next epoch). */
  readonly covers: readonly Change[];
}

/**
 * The next commit for the outstanding changes: all removals first, on their own (a member
 * removed on a losing branch must be out before anyone re-added joins), else all adds, else an
 * update. Our own leaf is never removed here (that is `leave`, a proposal). Throws MlsError when
 * MLS refuses the commit (e.g. an invalid KeyPackage).
 */
export function planCommit(group: Group, changes: readonly Change[]): PlannedCommit | undefined {
  const todo = outstanding(group, changes);
  const members = group.members();
  const removes = todo.filter(
    (c): c is Extract<Change, { kind: 'remove' }> =>
      c.kind === 'remove' && leafOf(members, c.signatureKey) !== group.ownLeaf,
  );
  if (removes.length > 0) {
    const leaves = removes.map((c) => leafOf(members, c.signatureKey)!);
    return { outgoing: group.remove(leaves), covers: removes };
  }
  const adds = todo.filter((c): c is Extract<Change, { kind: 'add' }> => c.kind === 'add');
  if (adds.length > 0) {
    return { outgoing: group.add(adds.map((c) => c.keyPackage)), covers: adds };
  }
  const update = todo.find((c) => c.kind === 'update');
  if (update !== undefined) return { outgoing: group.update(), covers: [update] };
  return undefined;
}
