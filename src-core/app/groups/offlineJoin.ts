/**
 * Adding a contact that is offline, and its joining later: the delivery layer's key-package
 * directory and mailboxes in the app.
 *
 * - KeyPackages: every contact's device leaves packages with its contacts (contactsService tops
 *   them up); the directory names them by their owner, the leaf signature key. We remember the
 *   owner keys each contact's devices deposited with us (`kp-owners` namespace), so an adder takes
 *   a package from its own holder, or fetches one from any online contact holding it. The package
 *   is checked against the contact's pinned user key like one fetched directly (joinFlow.ts).
 * - Welcomes: besides the direct hand-over, the adder leaves the Welcome in the new member's
 *   mailbox (named by the same leaf key) at the group members' devices online (its contacts, as
 *   a rule) and at its own devices, and hands it over directly when the member comes online. The
 *   member fetches its mailbox at unlock and whenever a contact comes online.
 *
 * A mailed Welcome carries who added us, signed: the holder does not tell the recipient who
 * deposited it, and a KeyPackage from the directory can reach anyone, so the adder signs
 * (Welcome hash, recipient, group name) with its device key, and the joiner accepts the group only
 * if that leaf's user is a contact and the device key is the one its credential certifies.
 *
 * ```
 * struct {
 *   uint16 version = 1;
 *   opaque welcome<V>;       // MLSMessage (Welcome)
 *   utf8 group_name<V>;
 *   uint32 adder_leaf;       // the adder's leaf in the group it joins
 *   opaque signature<V>;     // SignWithParleyLabel(adder device key, "MailboxWelcome", MailedWelcomeTBS)
 * } MailedWelcome;
 * struct { opaque welcome_hash[32]; opaque recipient<V>; utf8 group_name<V>; } MailedWelcomeTBS;
 * ```
 */
import { createHash } from 'node:crypto';
import type { Codec } from '../../codec/index.js';
import {
  decode,
  encode,
  fixedBytes,
  opaque,
  refine,
  struct,
  uint16,
  uint32,
  utf8String,
  vector,
} from '../../codec/index.js';
import { DeliveryError } from '../../delivery/errors.js';
import type { CheckedKeyPackage } from '../../delivery/keyPackageDirectory.js';
import { fetchKeyPackage } from '../../delivery/keyPackageDirectory.js';
import { MailboxHolder, depositMail, fetchMail } from '../../delivery/mailbox.js';
import type { PeerIdString } from '../../delivery/ports.js';
import { parseParleyCredential } from '../../identity/index.js';
import { SignLabel, signWithParleyLabel, verifyWithParleyLabel } from '../../identity/keys.js';
import type { Group } from '../../mls/client/index.js';
import { MlsError } from '../../mls/errors.js';
import type { Session } from '../appContext.js';
import { AppError } from '../errors.js';
import { Holdings } from '../holdings.js';
import type { GroupEntry, GroupHub } from './groupHub.js';
import { GROUP_RULES_EXTENSION, userIdOfCredential } from './groupRules.js';
import { MAX_WELCOME_BYTES } from './joinProtocol.js';
import { hexOf } from './messageLedger.js';

export const KP_OWNERS_NS = 'kp-owners';
const MAILED_WELCOME_VERSION = 1;
/** Owner keys remembered per contact: a person's few devices, and their key renewals. */
const MAX_OWNERS_PER_CONTACT = 16;

interface MailedWelcome {
  readonly version: number;
  readonly welcome: Uint8Array;
  readonly name: string;
  readonly adderLeaf: number;
  readonly signature: Uint8Array;
}

const mailedWelcomeCodec: Codec<MailedWelcome> = struct<MailedWelcome>({
  version: refine(uint16, (v) =>
    v === MAILED_WELCOME_VERSION ? undefined : `mailed Welcome version ${v}`,
  ),
  welcome: refine(opaque, (b) =>
    b.byteLength <= MAX_WELCOME_BYTES ? undefined : 'Welcome too large',
  ),
  name: refine(utf8String, (n) =>
    Buffer.byteLength(n) <= 1024 ? undefined : 'group name too long',
  ),
  adderLeaf: uint32,
  signature: opaque,
});

const tbsCodec: Codec<{ hash: Uint8Array; recipient: Uint8Array; name: string }> = struct({
  hash: fixedBytes(32),
  recipient: opaque,
  name: utf8String,
});

const ownersCodec: Codec<Uint8Array[]> = vector(opaque);

function tbs(welcome: Uint8Array, recipient: Uint8Array, name: string): Uint8Array {
  const hash = new Uint8Array(createHash('sha256').update(welcome).digest());
  return encode(tbsCodec, { hash, recipient, name });
}

export class OfflineJoin {
  #holder: MailboxHolder | undefined;
  #fetching = false;
  #again = false;

  constructor(private readonly hub: GroupHub) {}

  open(s: Session): () => void {
    // The mail we hold for others outlives a restart (app/holdings.ts).
    const holdings = new Holdings(s.store);
    const holder: MailboxHolder = new MailboxHolder({
      requests: s.ports.requests,
      self: s.node.peerId,
      // We hold mail left by our contacts' devices only.
      acceptRecipient: (_recipient, from) => s.contacts.contactOfPeer(from) !== undefined,
      now: () => this.hub.ctx.nowSeconds(),
      onChange: (recipient) => holdings.saveMailbox(holder, recipient),
    });
    this.#holder = holder;
    void holdings.restoreMailboxes(holder).catch((err: unknown) => {
      console.error('app: stored mailboxes', err instanceof AppError ? err.code : err);
    });
    this.hub.ctx.keyPackageOwnerSeen = (userId, owner) => {
      void this.rememberOwner(userId, owner).catch(() => undefined);
    };
    const off = s.node.events.on('peer:online', ({ peerId }) => {
      if (s.contacts.contactOfPeer(peerId) !== undefined) this.fetchMailbox();
    });
    this.fetchMailbox();
    return () => {
      off();
      this.hub.ctx.keyPackageOwnerSeen = () => undefined;
      this.#holder?.close();
      this.#holder = undefined;
    };
  }

  /** Messages we hold in `recipient`'s mailbox. */
  mailHeld(recipient: Uint8Array): number {
    return this.#holder?.count(recipient) ?? 0;
  }

  /** The KeyPackage owner keys we know of `userId`'s devices, newest first. */
  ownersOf(userId: string): Promise<Uint8Array[]> {
    return this.#owners(userId);
  }

  // ---- KeyPackages from the directory ----------------------------------------------------------

  async #owners(userId: string): Promise<Uint8Array[]> {
    const bytes = await this.hub.session.store.namespace(KP_OWNERS_NS).get(userId);
    if (bytes === undefined) return [];
    try {
      return decode(ownersCodec, bytes);
    } catch {
      return []; // a damaged entry costs the offline path, nothing else
    }
  }

  /** Remembers that `owner` is a leaf key of `userId`'s devices (newest first, bounded). */
  async rememberOwner(userId: string, owner: Uint8Array): Promise<void> {
    const s = this.hub.session;
    const known = await this.#owners(userId);
    if (known[0] !== undefined && hexOf(known[0]) === hexOf(owner)) return;
    const next = [owner, ...known.filter((k) => hexOf(k) !== hexOf(owner))].slice(
      0,
      MAX_OWNERS_PER_CONTACT,
    );
    await s.store.write((tx) =>
      s.store.namespace(KP_OWNERS_NS).put(tx, userId, encode(ownersCodec, next)),
    );
  }

  /**
   * A package of one of `userId`'s devices from the directory: our own holder first, then the
   * contacts online that may hold one. Undefined when none has one.
   */
  async keyPackageOf(userId: string): Promise<CheckedKeyPackage | undefined> {
    const s = this.hub.session;
    const holders = s.node
      .connectedPeers()
      .filter((p) => s.contacts.contactOfPeer(p) !== undefined);
    for (const owner of await this.#owners(userId)) {
      const local = s.keyPackages.holder.take(owner);
      if (local !== undefined && usable(local)) return local;
      if (holders.length === 0) continue;
      try {
        const kp = await fetchKeyPackage(s.ports.requests, this.hub.ctx.suite, holders, owner, {
          now: () => this.hub.ctx.nowSeconds(),
          timeoutMs: 10_000,
        });
        if (usable(kp)) return kp;
      } catch (err) {
        if (!(err instanceof DeliveryError)) throw err;
      }
    }
    return undefined;
  }

  // ---- Welcomes by mail ------------------------------------------------------------------------

  /** Leaves `welcome` in `recipient`'s mailbox at the group members' devices online. */
  async deposit(
    e: GroupEntry,
    welcome: Uint8Array,
    recipient: Uint8Array,
    recipientPeers: readonly PeerIdString[],
  ): Promise<number> {
    const s = this.hub.session;
    const group = e.group;
    if (group === undefined) return 0;
    const members = new Set(group.members().map((m) => userIdOfCredential(m.credential)));
    const holders = new Set<PeerIdString>();
    for (const p of s.node.connectedPeers()) {
      const user = s.contacts.contactOfPeer(p);
      if (user !== undefined && members.has(user)) holders.add(p);
    }
    for (const p of recipientPeers) if (s.node.isConnected(p)) holders.add(p);
    if (holders.size === 0) return 0;
    const payload = this.mailedWelcome(group, e.meta.name, welcome, recipient);
    const reports = await depositMail(s.ports.requests, [...holders], recipient, payload, {
      timeoutMs: 10_000,
    });
    return reports.filter((r) => r.error === undefined).length;
  }

  /** The MailedWelcome we send for `welcome` (signed by this device as the adder). */
  mailedWelcome(
    group: Group,
    name: string,
    welcome: Uint8Array,
    recipient: Uint8Array,
  ): Uint8Array {
    const signature = signWithParleyLabel(
      this.hub.session.identity.deviceKey.privateKey,
      SignLabel.mailboxWelcome,
      tbs(welcome, recipient, name),
    );
    return encode(mailedWelcomeCodec, {
      version: MAILED_WELCOME_VERSION,
      welcome,
      name,
      adderLeaf: group.ownLeaf,
      signature,
    });
  }

  /** Fetches our mailbox from the contacts online and joins what it holds; one run at a time. */
  fetchMailbox(): void {
    if (this.#fetching) {
      this.#again = true;
      return;
    }
    this.#fetching = true;
    void this.#fetchOnce()
      .catch((err: unknown) => {
        console.error('app: mailbox fetch', err instanceof Error ? err.name : err);
      })
      .finally(() => {
        this.#fetching = false;
        if (this.#again && this.#holder !== undefined) {
          this.#again = false;
          this.fetchMailbox();
        }
      });
  }

  async #fetchOnce(): Promise<void> {
    if (this.#holder === undefined) return;
    const s = this.hub.session;
    const holders = s.node
      .connectedPeers()
      .filter((p) => s.contacts.contactOfPeer(p) !== undefined);
    if (holders.length === 0) return;
    const owner = { suite: this.hub.ctx.suite, signatureKeyPair: s.keyPackages.signatureKeyPair };
    await fetchMail(s.ports.requests, holders, owner, (item) => this.#accept(item.payload), {
      timeoutMs: 10_000,
    });
  }

  /**
   * Joins from a mailed Welcome. True (delete it at the holder) once joined, or when it can never
   * be used (malformed, forged, for a group we are in or a package we no longer hold).
   */
  async #accept(payload: Uint8Array): Promise<boolean> {
    let mail: MailedWelcome;
    try {
      mail = decode(mailedWelcomeCodec, payload);
    } catch {
      return true;
    }
    const recipient = this.hub.session.keyPackages.signatureKeyPair.publicKey;
    try {
      await this.hub.joins.joinChecked(mail.welcome, mail.name, (group) =>
        this.#checkAdder(group, mail, recipient),
      );
    } catch (err) {
      if (err instanceof DeliveryError || err instanceof MlsError) return true;
      throw err;
    }
    return true;
  }

  /** The signing adder's user (a contact of ours in the group), or a DeliveryError. */
  #checkAdder(group: Group, mail: MailedWelcome, recipient: Uint8Array): string {
    const s = this.hub.session;
    const adder = group.members().find((m) => m.leafIndex === mail.adderLeaf);
    const userId = adder === undefined ? undefined : userIdOfCredential(adder.credential);
    const contact = userId === undefined ? undefined : s.trust.contact(userId);
    if (adder === undefined || userId === undefined || contact === undefined) {
      throw new DeliveryError('not_member', 'a mailed Welcome from someone not a contact');
    }
    if (contact.state === 'changed') {
      throw new DeliveryError('not_member', "the adder's key changed; not accepted");
    }
    const deviceKey = parseParleyCredential(adder.credential).deviceCertificate.deviceKey;
    const ok = verifyWithParleyLabel(
      deviceKey,
      SignLabel.mailboxWelcome,
      tbs(mail.welcome, recipient, mail.name),
      mail.signature,
    );
    if (!ok) throw new DeliveryError('invalid_argument', 'a mailed Welcome badly signed');
    return userId;
  }
}

/**
 * A package Parley groups can add: it lists the rules extension (packages made before the
 * publisher listed it, such as an older last-resort one, would be refused by the group).
 */
function usable(kp: CheckedKeyPackage): boolean {
  return kp.keyPackage.leafNode.capabilities.extensions.includes(GROUP_RULES_EXTENSION);
}

/** AppError for a contact with no device online and no package in the directory. */
export function noKeyPackage(name: string): AppError {
  return new AppError(
    'unavailable',
    `no device of ${name} answered and no holder had a KeyPackage of theirs`,
  );
}
