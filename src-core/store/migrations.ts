/**
 * Schema migrations. The schema version in the header is the version of the records the layers
 * above write (message records, contact records, ...); each layer that changes a record format
 * adds a Migration from the old version to the next. `openStore` runs the missing steps in
 * order, each in one transaction that also writes the header with the new version, so a crash
 * leaves the database at the old version or the new one of that step, never between.
 *
 * A step reads through the store's normal API and writes through the transaction; it must be
 * deterministic so that running it again after a crash gives the same result.
 */
import { StoreError } from './errors.js';
import type { Transaction } from './transaction.js';

export interface Migration<S> {
  /** Migrates schema version `from` to `from + 1`. */
  readonly from: number;
  readonly description: string;
  run(store: S, tx: Transaction): Promise<void>;
}

export interface SchemaOptions<S> {
  /** The schema version this build writes (>= 1). */
  readonly version: number;
  readonly migrations?: readonly Migration<S>[];
}

/** The steps from `stored` up to `target`, or StoreError if one is missing or duplicated. */
export function migrationPath<S>(
  stored: number,
  target: number,
  migrations: readonly Migration<S>[],
): Migration<S>[] {
  const byFrom = new Map<number, Migration<S>>();
  for (const m of migrations) {
    if (byFrom.has(m.from)) {
      throw new StoreError('invalid_argument', `two migrations from schema ${m.from}`);
    }
    byFrom.set(m.from, m);
  }
  const path: Migration<S>[] = [];
  for (let v = stored; v < target; v++) {
    const m = byFrom.get(v);
    if (m === undefined) {
      throw new StoreError('invalid_argument', `no migration from schema ${v} to ${v + 1}`);
    }
    path.push(m);
  }
  return path;
}
