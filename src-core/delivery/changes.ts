/**
 * The changes a member wants (add, remove, update its keys, change the GroupContext extensions),
 * kept until a commit that makes them is merged. They are "intents", not commits: a commit is bound to one epoch and may
 * lose it, while an intent is re-made as a fresh commit in the next epoch. An intent names members
 * by signature key, not leaf index, because leaf indices differ between the branches of a fork
 * and shift when others leave; MLS keeps signature keys unique in a tree (§7.3), so the key is
 * a stable name within one group.
 *
 * An intent that the group already satisfies (the member is gone, or already in) is dropped
 * rather than committed again: several members re-proposing the same removal after a fork
 * therefore converge on one commit, and the others' intents simply vanish.
 *
 * A GroupContext extensions change is an edit of the list, not a list: `edit(current)` is run
 * again on whatever extensions the group has when the commit is made, so a change re-made after
 * a lost commit applies on top of the commit that won (two admins promoting two people at once
 * both get their way), and it is dropped once the edit changes nothing. Several edits make one
 * GroupContextExtensions commit (applied in the order asked). An edit that returns undefined or
 * throws has nothing to do and is dropped.
 *
 * Order of the next commit: removals, then extensions, then adds, then an update. Removals first
 * so that a member removed on a losing branch is out before anything else (forks.ts); extensions
 * before adds so that new members join under the rules the group settled on (an add the new rules
 * forbid us then fails with `changeFailed`, as it would from any other admin's demotion of us).
 * A GroupContextExtensions commit has an UpdatePath (RFC 9420 §12.4), so it also makes an
 * outstanding update.
 */
import type { Group, GroupMember, KeyPackageInput, OutgoingCommit } from '../mls/client/index.js';
import { WireFormat } from '../mls/framing/framedContent.js';
import { decodeMlsMessage } from '../mls/framing/mlsMessage.js';
import type { Extension } from '../mls/extension.js';
import type { KeyPackage } from '../mls/keyPackage.js';
import { DeliveryError } from './errors.js';
import { bytesEqual } from './orderingRecord.js';

/** The new GroupContext extension list from the current one; undefined: nothing to change. */
export type ExtensionsEdit = (current: readonly Extension[]) => readonly Extension[] | undefined;

export type Change =
  | { readonly kind: 'remove'; readonly signatureKey: Uint8Array }
  | { readonly kind: 'add'; readonly keyPackage: KeyPackage }
  | { readonly kind: 'extensions'; readonly edit: ExtensionsEdit }
  | { readonly kind: 'update' };

type ExtensionsChange = Extract<Change, { kind: 'extensions' }>;

/** The order a commit makes changes in (see the file comment). */
const PLAN_ORDER: Record<Change['kind'], number> = { remove: 0, extensions: 1, add: 2, update: 3 };

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

function sameExtensions(a: readonly Extension[], b: readonly Extension[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (x, i) =>
        x.extensionType === b[i]!.extensionType && bytesEqual(x.extensionData, b[i]!.extensionData),
    )
  );
}

/** One edit on `current`: undefined when it has nothing to change (or fails). */
function applyEdit(
  c: ExtensionsChange,
  current: readonly Extension[],
): readonly Extension[] | undefined {
  let next: readonly Extension[] | undefined;
  try {
    next = c.edit(current);
  } catch {
    return undefined;
  }
  return next === undefined || sameExtensions(next, current) ? undefined : next;
}

/** The extensions after every edit in turn, and the edits that changed something. */
function editExtensions(
  current: readonly Extension[],
  edits: readonly ExtensionsChange[],
): { readonly extensions: readonly Extension[]; readonly effective: ExtensionsChange[] } {
  let extensions = current;
  const effective: ExtensionsChange[] = [];
  for (const c of edits) {
    const next = applyEdit(c, extensions);
    if (next === undefined) continue;
    extensions = next;
    effective.push(c);
  }
  return { extensions, effective };
}

function keyOf(c: Change): Uint8Array | undefined {
  if (c.kind === 'remove') return c.signatureKey;
  if (c.kind === 'add') return c.keyPackage.leafNode.signatureKey;
  return undefined;
}

function leafOf(members: readonly GroupMember[], key: Uint8Array): number | undefined {
  return members.find((m) => bytesEqual(m.signatureKey, key))?.leafIndex;
}

/**
 * The changes not yet made in `group`'s current epoch (duplicates collapsed, edits that change
 * nothing dropped), in the order a commit makes them (stable within a kind).
 */
export function outstanding(group: Group, changes: readonly Change[]): Change[] {
  const members = group.members();
  const edits = changes.filter((c): c is ExtensionsChange => c.kind === 'extensions');
  const effective = new Set<Change>(
    editExtensions(group.state.groupContext.extensions, edits).effective,
  );
  const out: Change[] = [];
  let update = false;
  for (const c of changes) {
    if (c.kind === 'extensions') {
      if (effective.has(c)) out.push(c);
      continue;
    }
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
  return out.sort((a, b) => PLAN_ORDER[a.kind] - PLAN_ORDER[b.kind]);
}

export interface PlannedCommit {
  readonly outgoing: OutgoingCommit;
  /** The changes this commit makes (the rest wait for the next epoch). */
  readonly covers: readonly Change[];
}

/**
 * The next commit for the outstanding changes: all removals first, on their own (a member
 * removed on a losing branch must be out before anyone re-added joins), else the extension
 * edits (one GroupContextExtensions commit, which also makes an update), else all adds, else an
 * update. Our own leaf is never removed here (that is `leave`, a proposal). Throws MlsError when
 * MLS refuses the commit (e.g. an invalid KeyPackage, an extension a member does not support,
 * a policy that forbids us); `outstanding(...)[0]` is then the change that was tried first.
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
  const edits = todo.filter((c): c is ExtensionsChange => c.kind === 'extensions');
  if (edits.length > 0) {
    const { extensions } = editExtensions(group.state.groupContext.extensions, edits);
    const update = todo.filter((c) => c.kind === 'update');
    return { outgoing: group.setExtensions(extensions), covers: [...edits, ...update] };
  }
  const adds = todo.filter((c): c is Extract<Change, { kind: 'add' }> => c.kind === 'add');
  if (adds.length > 0) {
    return { outgoing: group.add(adds.map((c) => c.keyPackage)), covers: adds };
  }
  const update = todo.find((c) => c.kind === 'update');
  if (update !== undefined) return { outgoing: group.update(), covers: [update] };
  return undefined;
}
