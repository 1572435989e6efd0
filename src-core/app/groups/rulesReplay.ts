/**
 * Our rules edits survive a fork. A GroupContextExtensions commit merged on a branch that later
 * loses a fork is gone with that branch; the delivery layer re-makes a lost branch's removals and
 * adds, but not its extension changes: it cannot tell who may make them, and replacing the
 * winner's rules with the loser's whole value would undo the winner's own change. The app knows
 * what it meant (the edit: promote X, set the policy), so each session keeps our edits merged in
 * the last `window` epochs (the fork window: older epochs cannot be rolled back) and, when a fork
 * is lost at an epoch before one of them was merged, hands them to the session again. Each runs
 * on the winning branch's rules: dropped if that branch made the same change, applied on top of
 * its other changes otherwise.
 */
import type { ExtensionsEdit } from '../../delivery/changes.js';
import type { GroupSession } from '../../delivery/groupSession.js';
import type { Extension } from '../../mls/extension.js';

/** Whether `edit` has nothing left to change in `current` (or gives up). */
function satisfied(edit: ExtensionsEdit, current: readonly Extension[]): boolean {
  let next: readonly Extension[] | undefined;
  try {
    next = edit(current);
  } catch {
    return true;
  }
  if (next === undefined) return true;
  return (
    next.length === current.length &&
    next.every(
      (x, i) =>
        x.extensionType === current[i]!.extensionType &&
        Buffer.from(x.extensionData).equals(Buffer.from(current[i]!.extensionData)),
    )
  );
}

interface Merged {
  readonly edit: ExtensionsEdit;
  /** The epoch the merge started. */
  readonly epoch: bigint;
}

export class RulesReplay {
  #merged: Merged[] = [];
  /** Re-made after a lost fork, not merged yet (tracked again once they are). */
  #again: ExtensionsEdit[] = [];
  readonly #offs: (() => void)[];

  /**
   * `defer` runs the re-made edits once the session has finished the branch switch (the `fork`
   * event comes before the winning commits are merged): a microtask in the app.
   */
  constructor(
    private readonly session: GroupSession,
    private readonly window: number,
    private readonly defer: (run: () => void) => void,
  ) {
    this.#offs = [
      session.on('fork', (f) => {
        if (!f.won) this.#lost(f.forkEpoch);
      }),
      session.on('epoch', (ev) => {
        this.#merged = this.#merged.filter((m) => m.epoch + BigInt(this.window) > ev.epoch);
        const current = session.group.state.groupContext.extensions;
        const done = this.#again.filter((edit) => satisfied(edit, current));
        this.#again = this.#again.filter((edit) => !done.includes(edit));
        for (const edit of done) this.#merged.push({ edit, epoch: ev.epoch });
      }),
    ];
  }

  /** Our edit was merged, starting `epoch`. */
  merged(edit: ExtensionsEdit, epoch: bigint): void {
    this.#merged.push({ edit, epoch });
  }

  dispose(): void {
    for (const off of this.#offs) off();
    this.#merged = [];
    this.#again = [];
  }

  /** The commit sent in `forkEpoch` lost: edits merged after it are gone with that branch. */
  #lost(forkEpoch: bigint): void {
    const again = this.#merged.filter((m) => m.epoch > forkEpoch);
    if (again.length === 0) return;
    this.#merged = this.#merged.filter((m) => m.epoch <= forkEpoch);
    this.defer(() => {
      for (const m of again) {
        try {
          this.#again.push(m.edit);
          this.session.changeExtensions(m.edit);
        } catch {
          // The session stopped (we were removed on the winning branch): nothing to re-make.
        }
      }
    });
  }
}
