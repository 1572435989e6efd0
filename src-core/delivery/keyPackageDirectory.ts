/**
 * The key-package directory with no server ('keypackages' request). A client hands each contact
 * (a holder) its own slice of one-time KeyPackages and the current last-resort one; anyone who
 * wants to add the client while it is offline fetches one from a holder. A one-time package is
 * handed out once and then remembered as spent; when none is left the last-resort one is served.
 * When the client joins with a one-time package it tells every holder, in a notice signed with its
 * leaf signature key, which refs are spent, and they drop them. Expired packages are dropped.
 * Holders report how many one-time packages they still hold so the owner can top up.
 *
 * A holder trusts nothing a depositor sends: every KeyPackage is verified (§10.1: signature,
 * lifetime, suite) and all of one deposit must share one signature key, the owner's. Nobody can
 * deposit packages in someone else's name or forge a spent notice; anyone may fetch (that is the
 * point), and holders bound what they keep per owner and in total.
 */
import { encode } from '../codec/index.js';
import type { CipherSuite, KeyPair } from '../crypto/types.js';
import type { Capabilities } from '../mls/capabilities.js';
import type { MlsClient } from '../mls/client/index.js';
import { WireFormat } from '../mls/framing/framedContent.js';
import { decodeMlsMessage } from '../mls/framing/mlsMessage.js';
import { isLastResort } from '../mls/group/keyPackages.js';
import type { KeyPackage } from '../mls/keyPackage.js';
import { keyPackageRef, verifyKeyPackage } from '../mls/keyPackage.js';
import { LeafNodeSource } from '../mls/leafNode.js';
import { hexOf } from './ciphertextLog.js';
import { DeliveryError } from './errors.js';
import type { DeliveryErrorCode } from './errors.js';
import { peerFailure, peerRequest } from './peerRequest.js';
import type { PeerIdString, RequestPort } from './ports.js';

import type { KpRequest, KpResponse, SpentNotice } from './keyPackageWire.js';
import {
  KEYPACKAGES_PROTOCOL,
  KEYPACKAGES_VERSION,
  KpType,
  SPENT_NOTICE_LABEL,
  decodeBody,
  requestCodec,
  responseCodec,
  spentTbsCodec,
} from './keyPackageWire.js';

export { KEYPACKAGES_PROTOCOL, KEYPACKAGES_VERSION, SPENT_NOTICE_LABEL };
export type { SpentNotice };

function unixNow(): bigint {
  return BigInt(Math.floor(Date.now() / 1000));
}

function notAfterOf(kp: KeyPackage): bigint {
  const leaf = kp.leafNode;
  return leaf.leafNodeSource === LeafNodeSource.keyPackage ? leaf.lifetime.notAfter : 0n;
}

/** A KeyPackage as checked by this module: valid now, with its ref and owner. */
export interface CheckedKeyPackage {
  readonly message: Uint8Array;
  readonly keyPackage: KeyPackage;
  readonly ref: Uint8Array;
  readonly owner: Uint8Array;
  readonly lastResort: boolean;
  readonly notAfter: bigint;
}

/** Decodes and verifies a KeyPackage MLSMessage (§10.1); throws 'keypackage_invalid'. */
export function checkKeyPackage(
  suite: CipherSuite,
  message: Uint8Array,
  now: bigint,
): CheckedKeyPackage {
  try {
    const m = decodeMlsMessage(message);
    if (m.wireFormat !== WireFormat.keyPackage) throw new Error('not a KeyPackage');
    const kp = m.keyPackage;
    verifyKeyPackage(suite, kp, { now });
    return {
      message,
      keyPackage: kp,
      ref: keyPackageRef(suite, kp),
      owner: kp.leafNode.signatureKey,
      lastResort: isLastResort(kp),
      notAfter: notAfterOf(kp),
    };
  } catch (cause) {
    throw new DeliveryError('keypackage_invalid', 'not a valid KeyPackage', { cause });
  }
}

function spentTbs(owner: Uint8Array, refs: Uint8Array[]): Uint8Array {
  return encode(spentTbsCodec, { owner, refs });
}

export interface KeyPackageHolderLimits {
  /** Owners whose packages we hold (default 256). */
  readonly maxOwners: number;
  /** One-time packages held per owner (default 64). */
  readonly maxOneTimePerOwner: number;
  /** Spent refs remembered per owner, so a spent package is not taken back (default 1024). */
  readonly maxSpentPerOwner: number;
  /** KeyPackages in one deposit (default 128). */
  readonly maxPerDeposit: number;
}

export const DEFAULT_HOLDER_LIMITS: KeyPackageHolderLimits = {
  maxOwners: 256,
  maxOneTimePerOwner: 64,
  maxSpentPerOwner: 1024,
  maxPerDeposit: 128,
};

export interface KeyPackageHolderOptions {
  readonly requests: RequestPort;
  /** The suite of the packages we hold (others are refused). */
  readonly suite: CipherSuite;
  /**
   * Whether `from` may deposit packages for `owner` (the owner is one of our contacts' devices,
   * as the identity layer says). Default: anyone with valid packages of one owner.
   */
  readonly acceptDeposit?: (from: PeerIdString, owner: Uint8Array) => boolean;
  readonly limits?: Partial<KeyPackageHolderLimits>;
  /** Seconds since the Unix epoch (KeyPackage lifetimes are wall-clock). */
  readonly now?: () => bigint;
  /**
   * Told that an owner's shelf changed (a deposit, a package handed out, a spent notice), so the
   * holder's owner can store it (`shelf`, `restore`). A fetch is answered only once this settled:
   * a crash cannot make a one-time package go out twice.
   */
  readonly onChange?: (owner: Uint8Array) => Promise<void> | void;
}

/** One owner's shelf as the holder's owner stores it between runs. */
export interface HeldShelf {
  readonly owner: Uint8Array;
  /** KeyPackage MLSMessages, oldest first. */
  readonly oneTime: readonly Uint8Array[];
  readonly lastResort: Uint8Array | undefined;
  /** Spent refs (hex) with the end of their lifetime. */
  readonly spent: ReadonlyMap<string, bigint>;
}

interface OwnerShelf {
  readonly oneTime: CheckedKeyPackage[];
  lastResort: CheckedKeyPackage | undefined;
  /** Spent refs (hex) with the end of their lifetime: kept until then, bounded. */
  readonly spent: Map<string, bigint>;
}

/** Holds contacts' KeyPackages and serves them over 'keypackages'. */
export class KeyPackageHolder {
  readonly #o: KeyPackageHolderOptions;
  readonly #limits: KeyPackageHolderLimits;
  readonly #now: () => bigint;
  readonly #shelves = new Map<string, OwnerShelf>();
  readonly #unregister: () => void;

  constructor(options: KeyPackageHolderOptions) {
    this.#o = options;
    this.#limits = { ...DEFAULT_HOLDER_LIMITS, ...options.limits };
    this.#now = options.now ?? unixNow;
    this.#unregister = options.requests.handle(KEYPACKAGES_PROTOCOL, async (body, from) => {
      const changed: Uint8Array[] = [];
      const answer = this.#answer(body, from, changed);
      for (const owner of changed) await this.#o.onChange?.(owner);
      return answer;
    });
  }

  /** What we hold for `owner` (expired packages dropped first), to be stored. */
  shelf(owner: Uint8Array): HeldShelf | undefined {
    const s = this.#shelf(owner);
    if (s === undefined) return undefined;
    const oneTime = s.oneTime.map((c) => c.message);
    return { owner, oneTime, lastResort: s.lastResort?.message, spent: new Map(s.spent) };
  }

  /**
   * Puts a stored shelf back (at unlock). Every package is checked again as a deposit would be;
   * expired or foreign ones are dropped; what a deposit since brought stays. Returns how many
   * packages were taken back.
   */
  restore(held: HeldShelf): number {
    const now = this.#now();
    const ok = (m: Uint8Array): CheckedKeyPackage | undefined => {
      try {
        const c = checkKeyPackage(this.#o.suite, m, now);
        return hexOf(c.owner) === hexOf(held.owner) ? c : undefined;
      } catch {
        return undefined;
      }
    };
    const key = hexOf(held.owner);
    let shelf = this.#shelves.get(key);
    if (shelf === undefined) {
      if (this.#shelves.size >= this.#limits.maxOwners) return 0;
      shelf = { oneTime: [], lastResort: undefined, spent: new Map() };
      this.#shelves.set(key, shelf);
    }
    for (const [ref, until] of held.spent) if (until >= now) shelf.spent.set(ref, until);
    const have = new Set(shelf.oneTime.map((c) => hexOf(c.ref)));
    let kept = 0;
    for (const c of held.oneTime.map(ok)) {
      if (c === undefined || c.lastResort || have.has(hexOf(c.ref))) continue;
      if (shelf.spent.has(hexOf(c.ref))) continue;
      if (shelf.oneTime.length >= this.#limits.maxOneTimePerOwner) break;
      shelf.oneTime.push(c);
      have.add(hexOf(c.ref));
      kept++;
    }
    const last = held.lastResort === undefined ? undefined : ok(held.lastResort);
    if (last?.lastResort === true && (shelf.lastResort?.notAfter ?? -1n) < last.notAfter) {
      shelf.lastResort = last;
      kept++;
    }
    return kept;
  }

  close(): void {
    this.#unregister();
  }

  /** One-time packages held for `owner` (expired ones dropped first). */
  held(owner: Uint8Array): { oneTime: number; lastResort: boolean } {
    const shelf = this.#shelf(owner);
    return { oneTime: shelf?.oneTime.length ?? 0, lastResort: shelf?.lastResort !== undefined };
  }

  /**
   * Takes a package of `owner` as a remote fetch would (one-time first, then the last-resort one):
   * for an adder that holds the contact's packages itself.
   */
  take(owner: Uint8Array): CheckedKeyPackage | undefined {
    const shelf = this.#shelf(owner);
    const kp = shelf?.oneTime.shift() ?? shelf?.lastResort;
    if (shelf === undefined || kp === undefined) return undefined;
    if (!kp.lastResort) {
      this.#remember(shelf, kp.ref, kp.notAfter);
      void Promise.resolve(this.#o.onChange?.(owner)).catch(() => undefined);
    }
    return kp;
  }

  #shelf(owner: Uint8Array): OwnerShelf | undefined {
    const shelf = this.#shelves.get(hexOf(owner));
    if (shelf === undefined) return undefined;
    const now = this.#now();
    for (let i = shelf.oneTime.length - 1; i >= 0; i--) {
      if (shelf.oneTime[i]!.notAfter < now) shelf.oneTime.splice(i, 1);
    }
    if (shelf.lastResort !== undefined && shelf.lastResort.notAfter < now)
      shelf.lastResort = undefined;
    for (const [ref, until] of shelf.spent) if (until < now) shelf.spent.delete(ref);
    return shelf;
  }

  #remember(shelf: OwnerShelf, ref: Uint8Array, until: bigint): void {
    shelf.spent.set(hexOf(ref), until);
    while (shelf.spent.size > this.#limits.maxSpentPerOwner) {
      shelf.spent.delete(shelf.spent.keys().next().value!);
    }
  }

  #answer(body: Uint8Array, from: PeerIdString, changed: Uint8Array[]): Uint8Array {
    const req = decodeBody(requestCodec, body, 'keypackage_invalid');
    const reply = (r: KpResponse): Uint8Array =>
      encode(responseCodec, { version: KEYPACKAGES_VERSION, body: r });
    switch (req.type) {
      case KpType.deposit: {
        const r = this.#deposit(req.keyPackages, from, changed);
        return reply({ type: KpType.deposit, ...r });
      }
      case KpType.fetch: {
        const shelf = this.#shelf(req.owner);
        const kp = shelf?.oneTime.shift() ?? shelf?.lastResort;
        if (shelf === undefined || kp === undefined) {
          throw new DeliveryError('keypackage_unavailable', 'no KeyPackage held for this owner');
        }
        // Handed out once: remembered as spent so a re-deposit cannot bring it back.
        if (!kp.lastResort) {
          this.#remember(shelf, kp.ref, kp.notAfter);
          changed.push(req.owner);
        }
        return reply({
          type: KpType.fetch,
          keyPackage: kp.message,
          lastResort: kp.lastResort,
          oneTimeLeft: shelf.oneTime.length,
        });
      }
      case KpType.spent: {
        const dropped = this.#spent(req.notice);
        changed.push(req.notice.owner);
        return reply({ type: KpType.spent, dropped });
      }
      case KpType.status: {
        const h = this.held(req.owner);
        return reply({ type: KpType.status, oneTimeHeld: h.oneTime, lastResortHeld: h.lastResort });
      }
    }
  }

  #deposit(
    messages: Uint8Array[],
    from: PeerIdString,
    changed: Uint8Array[],
  ): { accepted: number; oneTimeHeld: number } {
    if (messages.length === 0 || messages.length > this.#limits.maxPerDeposit) {
      throw new DeliveryError('keypackage_limit', `deposit of ${messages.length} KeyPackages`);
    }
    const now = this.#now();
    // Everything is checked before anything is kept.
    const checked = messages.map((m) => checkKeyPackage(this.#o.suite, m, now));
    const owner = checked[0]!.owner;
    if (checked.some((c) => hexOf(c.owner) !== hexOf(owner))) {
      throw new DeliveryError('keypackage_invalid', 'a deposit mixes owners');
    }
    if (this.#o.acceptDeposit !== undefined && !this.#o.acceptDeposit(from, owner)) {
      throw new DeliveryError('not_member', 'not a contact we hold KeyPackages for');
    }
    let shelf = this.#shelf(owner);
    if (shelf === undefined) {
      if (this.#shelves.size >= this.#limits.maxOwners) {
        throw new DeliveryError('keypackage_limit', 'holding KeyPackages for too many owners');
      }
      shelf = { oneTime: [], lastResort: undefined, spent: new Map() };
      this.#shelves.set(hexOf(owner), shelf);
    }
    let accepted = 0;
    const held = new Set(shelf.oneTime.map((c) => hexOf(c.ref)));
    for (const c of checked) {
      const ref = hexOf(c.ref);
      if (shelf.spent.has(ref) || held.has(ref)) continue;
      if (c.lastResort) {
        // The newest last-resort package wins (the owner replaced the previous one).
        if (shelf.lastResort === undefined || c.notAfter >= shelf.lastResort.notAfter) {
          shelf.lastResort = c;
          accepted++;
        }
      } else if (shelf.oneTime.length < this.#limits.maxOneTimePerOwner) {
        shelf.oneTime.push(c);
        held.add(ref);
        accepted++;
      }
    }
    if (accepted > 0) changed.push(owner);
    return { accepted, oneTimeHeld: shelf.oneTime.length };
  }

  #spent(notice: SpentNotice): number {
    if (notice.refs.length === 0 || notice.refs.length > this.#limits.maxSpentPerOwner) {
      throw new DeliveryError('spent_notice_invalid', 'spent notice size');
    }
    const tbs = spentTbs(notice.owner, notice.refs);
    if (!this.#o.suite.verifyWithLabel(notice.owner, SPENT_NOTICE_LABEL, tbs, notice.signature)) {
      throw new DeliveryError('spent_notice_invalid', 'spent notice signature does not verify');
    }
    const shelf = this.#shelf(notice.owner);
    if (shelf === undefined) return 0;
    let dropped = 0;
    const until = this.#now() + 90n * 24n * 3600n;
    for (const ref of notice.refs) {
      const i = shelf.oneTime.findIndex((c) => hexOf(c.ref) === hexOf(ref));
      if (i >= 0) {
        this.#remember(shelf, ref, shelf.oneTime[i]!.notAfter);
        shelf.oneTime.splice(i, 1);
        dropped++;
      } else this.#remember(shelf, ref, until);
    }
    return dropped;
  }
}

// ---- Requesters: the owner and whoever adds it ---------------------------------------------------

async function ask(
  requests: RequestPort,
  peer: PeerIdString,
  req: KpRequest,
  timeoutMs?: number,
): Promise<KpResponse> {
  const body = encode(requestCodec, { version: KEYPACKAGES_VERSION, body: req });
  const res = decodeBody(
    responseCodec,
    await peerRequest(
      requests,
      peer,
      KEYPACKAGES_PROTOCOL,
      body,
      timeoutMs === undefined ? {} : { timeoutMs },
    ),
    'peer_misbehaved',
  );
  if (res.type !== req.type) throw new DeliveryError('peer_misbehaved', 'answer of another type');
  return res;
}

/**
 * Fetches a KeyPackage of `owner` (its leaf signature key) from the first holder that has one,
 * and verifies it. A holder that answers with someone else's or an invalid package is skipped.
 */
export async function fetchKeyPackage(
  requests: RequestPort,
  suite: CipherSuite,
  holders: readonly PeerIdString[],
  owner: Uint8Array,
  options: { readonly now?: () => bigint; readonly timeoutMs?: number } = {},
): Promise<CheckedKeyPackage & { readonly holder: PeerIdString }> {
  const failures: string[] = [];
  for (const holder of holders) {
    try {
      const res = await ask(requests, holder, { type: KpType.fetch, owner }, options.timeoutMs);
      if (res.type !== KpType.fetch) continue;
      const kp = checkKeyPackage(suite, res.keyPackage, (options.now ?? unixNow)());
      if (hexOf(kp.owner) !== hexOf(owner) || kp.lastResort !== res.lastResort) {
        throw new DeliveryError('peer_misbehaved', 'the holder answered with another package');
      }
      return { ...kp, holder };
    } catch (err) {
      failures.push(peerFailure(err));
    }
  }
  throw new DeliveryError(
    'keypackage_unavailable',
    `no holder served a KeyPackage (${failures.join(', ') || 'no holders'})`,
  );
}

export interface KeyPackagePublisherOptions {
  readonly client: MlsClient;
  /** The client's signature key pair (signs spent notices). */
  readonly signatureKeyPair: KeyPair;
  readonly requests: RequestPort;
  readonly timeoutMs?: number;
  /** Capabilities of the packages made (what the groups they are for require); MLS defaults. */
  readonly capabilities?: Capabilities;
}

export interface HolderReport {
  readonly holder: PeerIdString;
  readonly accepted?: number;
  readonly oneTimeHeld?: number;
  readonly error?: DeliveryErrorCode;
}

/** The owner's side: hands out batches, announces spent packages, tops holders up. */
export class KeyPackagePublisher {
  readonly #o: KeyPackagePublisherOptions;
  /** Spent refs not yet acknowledged by every holder, per holder. */
  readonly #unsent = new Map<PeerIdString, Uint8Array[]>();

  constructor(options: KeyPackagePublisherOptions) {
    this.#o = options;
  }

  async #deposit(holder: PeerIdString, messages: Uint8Array[]): Promise<HolderReport> {
    try {
      const res = await ask(
        this.#o.requests,
        holder,
        { type: KpType.deposit, keyPackages: messages },
        this.#o.timeoutMs,
      );
      if (res.type !== KpType.deposit) throw new DeliveryError('peer_misbehaved', 'not a deposit');
      return { holder, accepted: res.accepted, oneTimeHeld: res.oneTimeHeld };
    } catch (err) {
      return { holder, error: peerFailure(err) };
    }
  }

  /**
   * Makes `perHolder` one-time packages for each holder (disjoint slices, so no package is held
   * twice) and a new last-resort package for all of them, and deposits them.
   */
  async distribute(holders: readonly PeerIdString[], perHolder: number): Promise<HolderReport[]> {
    const batch = this.#o.client.createKeyPackages({ count: perHolder * holders.length });
    return Promise.all(
      holders.map((holder, i) =>
        this.#deposit(holder, [
          ...batch.oneTime.slice(i * perHolder, (i + 1) * perHolder).map((p) => p.message),
          ...(batch.lastResort === undefined ? [] : [batch.lastResort.message]),
        ]),
      ),
    );
  }

  /** Asks each holder how many of our one-time packages it has left; refills those under `lowWater`. */
  async topUp(
    holders: readonly PeerIdString[],
    options: { readonly lowWater: number; readonly perHolder: number },
  ): Promise<HolderReport[]> {
    const owner = this.#o.signatureKeyPair.publicKey;
    const lastResort = this.#o.client.keyPackageList().find((p) => p.lastResort);
    return Promise.all(
      holders.map(async (holder): Promise<HolderReport> => {
        let status: KpResponse;
        try {
          status = await ask(
            this.#o.requests,
            holder,
            { type: KpType.status, owner },
            this.#o.timeoutMs,
          );
        } catch (err) {
          return { holder, error: peerFailure(err) };
        }
        if (status.type !== KpType.status) return { holder, error: 'peer_misbehaved' };
        const need =
          status.oneTimeHeld < options.lowWater ? options.perHolder - status.oneTimeHeld : 0;
        const messages =
          need > 0
            ? this.#o.client
                .createKeyPackages({
                  count: need,
                  lastResort: false,
                  ...(this.#o.capabilities === undefined
                    ? {}
                    : { capabilities: this.#o.capabilities }),
                })
                .oneTime.map((p) => p.message)
            : [];
        if (!status.lastResortHeld && lastResort !== undefined) messages.push(lastResort.message);
        if (messages.length === 0) return { holder, oneTimeHeld: status.oneTimeHeld };
        return this.#deposit(holder, messages);
      }),
    );
  }

  /**
   * Tells every holder which of our one-time packages were used (the MLS client's consumed refs),
   * in a signed notice. Holders that cannot be reached get them on the next call.
   */
  async announceSpent(holders: readonly PeerIdString[]): Promise<HolderReport[]> {
    const fresh = this.#o.client.takeConsumedKeyPackages();
    for (const h of holders) this.#unsent.set(h, [...(this.#unsent.get(h) ?? []), ...fresh]);
    const owner = this.#o.signatureKeyPair.publicKey;
    return Promise.all(
      holders.map(async (holder): Promise<HolderReport> => {
        const refs = this.#unsent.get(holder) ?? [];
        if (refs.length === 0) return { holder };
        const signature = this.#o.client.suite.signWithLabel(
          this.#o.signatureKeyPair.privateKey,
          SPENT_NOTICE_LABEL,
          spentTbs(owner, refs),
        );
        try {
          await ask(
            this.#o.requests,
            holder,
            { type: KpType.spent, notice: { owner, refs, signature } },
            this.#o.timeoutMs,
          );
          this.#unsent.delete(holder);
          return { holder };
        } catch (err) {
          return { holder, error: peerFailure(err) };
        }
      }),
    );
  }
}
