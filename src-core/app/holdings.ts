/**
 * What we hold for our contacts, kept across restarts: their KeyPackages (the key-package
 * directory's holder side, delivery/keyPackageDirectory.ts) and the mail left for them (Welcomes
 * above all, delivery/mailbox.ts). Both used to live in memory only, so a holder's restart lost
 * them and a contact could no longer be added, or join, while its own devices were offline.
 *
 * One entry per owner and per recipient in namespace `holdings`, rewritten whole when the
 * holder reports a change (deleted once empty). Writes run one at a time and each writes what
 * the holder holds when it runs, so the last one stored is the newest. A one-time KeyPackage is
 * handed out, and a deposit acknowledged, only after its write: a crash cannot serve a package
 * twice or lose mail we said we held. At unlock every package is checked again and expired
 * packages and mail are dropped (the holders do it in `restore`).
 *
 * ```
 * struct { opaque ref<V>; uint64 until; } SpentRef;
 * struct {
 *   uint16 version = 1; opaque owner<V>;
 *   opaque one_time<V><V>;               // KeyPackage MLSMessages, oldest first
 *   optional<opaque> last_resort<V>;
 *   SpentRef spent<V>;                   // refs handed out or reported spent, until they expire
 * } StoredShelf;                         // entry `kp/<owner hex>`
 *
 * struct {
 *   opaque id[32]; opaque payload<V>; uint64 deposited_at; uint64 expires_at;
 *   utf8 depositor<V>;                   // the depositing peer (per-depositor bounds)
 * } StoredMail;
 * struct { uint16 version = 1; opaque recipient<V>; StoredMail items<V>; } StoredMailbox;
 *                                        // entry `mail/<recipient hex>`
 * ```
 */
import type { Codec } from '../codec/index.js';
import {
  decode,
  encode,
  fixedBytes,
  opaque,
  optional,
  struct,
  uint16,
  uint64,
  utf8String,
  vector,
} from '../codec/index.js';
import type { HeldShelf, KeyPackageHolder } from '../delivery/keyPackageDirectory.js';
import type { HeldMail, MailboxHolder } from '../delivery/mailbox.js';
import type { Store } from '../store/index.js';
import { AppError } from './errors.js';

export const HOLDINGS_NS = 'holdings';
const VERSION = 1;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

interface SpentRef {
  readonly ref: Uint8Array;
  readonly until: bigint;
}

interface StoredShelf {
  readonly version: number;
  readonly owner: Uint8Array;
  readonly oneTime: Uint8Array[];
  readonly lastResort: Uint8Array | undefined;
  readonly spent: SpentRef[];
}

const shelfCodec: Codec<StoredShelf> = struct<StoredShelf>({
  version: uint16,
  owner: opaque,
  oneTime: vector(opaque),
  lastResort: optional(opaque),
  spent: vector(struct<SpentRef>({ ref: opaque, until: uint64 })),
});

interface StoredMailbox {
  readonly version: number;
  readonly recipient: Uint8Array;
  readonly items: HeldMail[];
}

const mailboxCodec: Codec<StoredMailbox> = struct<StoredMailbox>({
  version: uint16,
  recipient: opaque,
  items: vector(
    struct<HeldMail>({
      id: fixedBytes(32),
      payload: opaque,
      depositedAt: uint64,
      expiresAt: uint64,
      depositor: utf8String,
    }),
  ),
});

/** A stored value that does not decode is damage: an AppError, never a silent reset. */
function decodeStored<T extends { version: number }>(c: Codec<T>, b: Uint8Array, what: string): T {
  let v: T;
  try {
    v = decode(c, b);
  } catch (cause) {
    throw new AppError('internal', `a stored ${what} is malformed`, { cause });
  }
  if (v.version !== VERSION) {
    throw new AppError('internal', `a stored ${what} has unknown version ${v.version}`);
  }
  return v;
}

export class Holdings {
  #chain: Promise<void> = Promise.resolve();

  constructor(private readonly store: Store) {}

  /** Stores `owner`'s shelf as `holder` has it when the write runs. */
  saveShelf(holder: KeyPackageHolder, owner: Uint8Array): Promise<void> {
    return this.#write(`kp/${hex(owner)}`, () => {
      const s = holder.shelf(owner);
      if (
        s === undefined ||
        (s.oneTime.length === 0 && s.lastResort === undefined && s.spent.size === 0)
      ) {
        return undefined;
      }
      return encode(shelfCodec, {
        version: VERSION,
        owner,
        oneTime: [...s.oneTime],
        lastResort: s.lastResort,
        spent: [...s.spent].map(([ref, until]) => ({ ref: Buffer.from(ref, 'hex'), until })),
      });
    });
  }

  /** Stores `recipient`'s mailbox as `holder` has it when the write runs. */
  saveMailbox(holder: MailboxHolder, recipient: Uint8Array): Promise<void> {
    return this.#write(`mail/${hex(recipient)}`, () => {
      const items = holder.mailbox(recipient);
      if (items.length === 0) return undefined;
      return encode(mailboxCodec, { version: VERSION, recipient, items });
    });
  }

  /** Puts every stored shelf back into `holder`; returns the packages taken back. */
  async restoreShelves(holder: KeyPackageHolder): Promise<number> {
    let kept = 0;
    for (const value of await this.#entries('kp/')) {
      const s = decodeStored(shelfCodec, value, 'KeyPackage shelf');
      const spent = new Map(s.spent.map((r) => [hex(r.ref), r.until] as const));
      const held: HeldShelf = { ...s, spent };
      kept += holder.restore(held);
    }
    return kept;
  }

  /** Puts every stored mailbox back into `holder`; returns the messages taken back. */
  async restoreMailboxes(holder: MailboxHolder): Promise<number> {
    let kept = 0;
    for (const value of await this.#entries('mail/')) {
      const m = decodeStored(mailboxCodec, value, 'mailbox');
      kept += holder.restore(m.recipient, m.items);
    }
    return kept;
  }

  async #entries(prefix: string): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for await (const [name, value] of this.store.namespace(HOLDINGS_NS).entries()) {
      if (name.startsWith(prefix)) out.push(value);
    }
    return out;
  }

  #write(name: string, value: () => Uint8Array | undefined): Promise<void> {
    const run = this.#chain.then(async () => {
      const tx = this.store.transaction();
      const v = value();
      const ns = this.store.namespace(HOLDINGS_NS);
      if (v === undefined) ns.delete(tx, name);
      else ns.put(tx, name, v);
      await tx.commit();
    });
    this.#chain = run.catch(() => undefined);
    return run;
  }
}
