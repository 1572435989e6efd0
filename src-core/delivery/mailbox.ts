/**
 * Mailboxes ('mailbox' request): messages for someone who is not in a group yet (Welcomes above
 * all) wait at the recipient's contacts until the recipient fetches them. A mailbox is named by
 * the recipient's signature public key (its leaf key, the one its KeyPackages carry), so whoever
 * adds someone from a KeyPackage knows where to send the Welcome without knowing who it is.
 *
 * Fetching proves ownership: the holder hands out a fresh single-use challenge, the recipient
 * signs it (with the holder's peer id and its own key, under a label of its own), and only then
 * gets its messages and a one-time ack token; acknowledged messages are deleted. Deposits are
 * bounded per recipient, per depositor and in total, and expire.
 */
import { randomBytes } from 'node:crypto';
import { encode } from '../codec/index.js';
import { cipherSuite } from '../crypto/index.js';
import type { CipherSuite, CipherSuiteId, KeyPair } from '../crypto/types.js';
import { hexOf, messageIdOf } from './ciphertextLog.js';
import { DeliveryError } from './errors.js';
import type { DeliveryErrorCode } from './errors.js';
import { peerFailure, peerRequest } from './peerRequest.js';
import type { PeerIdString, RequestPort } from './ports.js';

import type { MailItem, MbRequest, MbResponse } from './mailboxWire.js';
import {
  MAILBOX_FETCH_LABEL,
  MAILBOX_PROTOCOL,
  MAILBOX_VERSION,
  MbType,
  decodeBody,
  fetchTbsCodec,
  requestCodec,
  responseCodec,
} from './mailboxWire.js';

export { MAILBOX_FETCH_LABEL, MAILBOX_PROTOCOL, MAILBOX_VERSION };
export type { MailItem };

function unixNow(): bigint {
  return BigInt(Math.floor(Date.now() / 1000));
}

export interface MailboxLimits {
  /** Largest single message (default 4 MiB: a Welcome with a big ratchet tree). */
  readonly maxItemBytes: number;
  /** Per recipient: messages and bytes (defaults 64, 16 MiB). */
  readonly maxItemsPerRecipient: number;
  readonly maxBytesPerRecipient: number;
  /** Messages one depositing peer may leave in one mailbox (default 16). */
  readonly maxItemsPerDepositor: number;
  /** All mailboxes together (default 64 MiB). */
  readonly maxTotalBytes: number;
  /** Longest time a message waits (default 14 days); deposits ask for at most this. */
  readonly maxTtlSeconds: number;
  /** Bytes of messages in one fetch answer (at least one message; default 8 MiB). */
  readonly maxFetchBytes: number;
  /** Life of a challenge and of an ack token (default 120 s). */
  readonly challengeSeconds: number;
}

export const DEFAULT_MAILBOX_LIMITS: MailboxLimits = {
  maxItemBytes: 4 * 1024 * 1024,
  maxItemsPerRecipient: 64,
  maxBytesPerRecipient: 16 * 1024 * 1024,
  maxItemsPerDepositor: 16,
  maxTotalBytes: 64 * 1024 * 1024,
  maxTtlSeconds: 14 * 24 * 3600,
  maxFetchBytes: 8 * 1024 * 1024,
  challengeSeconds: 120,
};

/** A message held in a mailbox, as the holder's owner stores it between runs. */
export interface HeldMail extends MailItem {
  readonly expiresAt: bigint;
  readonly depositor: PeerIdString;
}
type Held = HeldMail;

interface Pending {
  readonly recipient: string;
  readonly expiresAt: bigint;
  /** For ack tokens: the ids handed out in that fetch. */
  readonly ids?: ReadonlySet<string>;
}

export interface MailboxHolderOptions {
  readonly requests: RequestPort;
  /** Our own peer id: fetch proofs name the holder they are for. */
  readonly self: PeerIdString;
  /** Whether we hold mail for `recipient` at all (e.g. it is one of our contacts' keys). */
  readonly acceptRecipient?: (recipient: Uint8Array, from: PeerIdString) => boolean;
  readonly limits?: Partial<MailboxLimits>;
  /** Seconds since the Unix epoch. */
  readonly now?: () => bigint;
  /** The suites a recipient may prove ownership under (default: every suite we implement). */
  readonly suiteFor?: (id: number) => CipherSuite;
  /** Told that a mailbox changed (to store it, `mailbox`); a deposit is answered once it settled. */
  readonly onChange?: (recipient: Uint8Array) => Promise<void> | void;
}

/** Holds mailboxes for contacts and serves them over 'mailbox'. */
export class MailboxHolder {
  readonly #o: MailboxHolderOptions;
  readonly #limits: MailboxLimits;
  readonly #now: () => bigint;
  readonly #boxes = new Map<string, Held[]>();
  readonly #challenges = new Map<string, Pending>();
  readonly #tokens = new Map<string, Pending>();
  #totalBytes = 0;
  readonly #unregister: () => void;

  constructor(options: MailboxHolderOptions) {
    this.#o = options;
    this.#limits = { ...DEFAULT_MAILBOX_LIMITS, ...options.limits };
    this.#now = options.now ?? unixNow;
    this.#unregister = options.requests.handle(MAILBOX_PROTOCOL, async (body, from) => {
      const answer = this.#answer(body, from);
      const type = body[1];
      if (type === MbType.deposit || type === MbType.ack) {
        await this.#o.onChange?.(decodeBody(requestCodec, body, 'mailbox_malformed').recipient);
      }
      return answer;
    });
  }

  /** What `recipient`'s mailbox holds (expired messages dropped first), to be stored. */
  mailbox(recipient: Uint8Array): HeldMail[] {
    this.prune();
    return [...(this.#boxes.get(hexOf(recipient)) ?? [])];
  }

  /** Puts stored messages back (at unlock): expired, known or over the limits ones are dropped. */
  restore(recipient: Uint8Array, held: readonly HeldMail[]): number {
    const now = this.#now();
    const key = hexOf(recipient);
    const box = this.#boxes.get(key) ?? [];
    let kept = 0;
    for (const h of held) {
      const size = h.payload.byteLength;
      if (h.expiresAt < now || box.some((b) => hexOf(b.id) === hexOf(h.id))) continue;
      if (hexOf(messageIdOf(h.payload)) !== hexOf(h.id) || size > this.#limits.maxItemBytes)
        continue;
      if (box.length >= this.#limits.maxItemsPerRecipient) break;
      if (this.#totalBytes + size > this.#limits.maxTotalBytes) break;
      box.push(h);
      this.#totalBytes += size;
      kept++;
    }
    if (box.length > 0) this.#boxes.set(key, box);
    return kept;
  }

  close(): void {
    this.#unregister();
  }

  /** Messages waiting for `recipient` (expired ones dropped first). */
  count(recipient: Uint8Array): number {
    this.prune();
    return this.#boxes.get(hexOf(recipient))?.length ?? 0;
  }

  get totalBytes(): number {
    return this.#totalBytes;
  }

  /** Drops expired messages, challenges and tokens. */
  prune(): void {
    const now = this.#now();
    for (const [key, box] of this.#boxes) {
      const keep = box.filter((h) => h.expiresAt >= now);
      for (const h of box) if (h.expiresAt < now) this.#totalBytes -= h.payload.byteLength;
      if (keep.length === 0) this.#boxes.delete(key);
      else this.#boxes.set(key, keep);
    }
    for (const m of [this.#challenges, this.#tokens]) {
      for (const [k, p] of m) if (p.expiresAt < now) m.delete(k);
    }
  }

  #answer(body: Uint8Array, from: PeerIdString): Uint8Array {
    const req = decodeBody(requestCodec, body, 'mailbox_malformed');
    const reply = (r: MbResponse): Uint8Array =>
      encode(responseCodec, { version: MAILBOX_VERSION, body: r });
    this.prune();
    const key = hexOf(req.recipient);
    if (req.recipient.byteLength === 0 || req.recipient.byteLength > 256) {
      throw new DeliveryError('mailbox_malformed', 'recipient key length');
    }
    switch (req.type) {
      case MbType.deposit:
        return reply({ type: MbType.deposit, id: this.#deposit(req, key, from) });
      case MbType.challenge: {
        // Challenges are bounded like everything else: a flood only evicts the oldest.
        const nonce = new Uint8Array(randomBytes(32));
        this.#challenges.set(hexOf(nonce), {
          recipient: key,
          expiresAt: this.#now() + BigInt(this.#limits.challengeSeconds),
        });
        while (this.#challenges.size > 4096) {
          this.#challenges.delete(this.#challenges.keys().next().value!);
        }
        return reply({ type: MbType.challenge, nonce });
      }
      case MbType.fetch:
        return reply(this.#fetch(req, key));
      case MbType.ack: {
        const token = this.#tokens.get(hexOf(req.ackToken));
        if (token === undefined || token.recipient !== key) {
          throw new DeliveryError('mailbox_challenge_invalid', 'unknown or expired ack token');
        }
        this.#tokens.delete(hexOf(req.ackToken));
        const ack = new Set(req.ids.map(hexOf).filter((id) => token.ids?.has(id) === true));
        const box = this.#boxes.get(key) ?? [];
        const keep = box.filter((h) => !ack.has(hexOf(h.id)));
        for (const h of box) if (ack.has(hexOf(h.id))) this.#totalBytes -= h.payload.byteLength;
        if (keep.length === 0) this.#boxes.delete(key);
        else this.#boxes.set(key, keep);
        return reply({ type: MbType.ack, deleted: box.length - keep.length });
      }
    }
  }

  #deposit(
    req: Extract<MbRequest, { type: typeof MbType.deposit }>,
    key: string,
    from: PeerIdString,
  ): Uint8Array {
    const l = this.#limits;
    const size = req.payload.byteLength;
    if (size === 0 || size > l.maxItemBytes) {
      throw new DeliveryError('mailbox_full', `message of ${size} bytes`);
    }
    if (req.ttlSeconds === 0) throw new DeliveryError('mailbox_malformed', 'zero lifetime');
    if (this.#o.acceptRecipient !== undefined && !this.#o.acceptRecipient(req.recipient, from)) {
      throw new DeliveryError('not_member', 'we hold no mailbox for this recipient');
    }
    const box = this.#boxes.get(key) ?? [];
    const id = messageIdOf(req.payload);
    if (box.some((h) => hexOf(h.id) === hexOf(id))) return id;
    const boxBytes = box.reduce((n, h) => n + h.payload.byteLength, 0);
    if (
      box.length >= l.maxItemsPerRecipient ||
      boxBytes + size > l.maxBytesPerRecipient ||
      box.filter((h) => h.depositor === from).length >= l.maxItemsPerDepositor ||
      this.#totalBytes + size > l.maxTotalBytes
    ) {
      throw new DeliveryError('mailbox_full', 'the mailbox is full');
    }
    const now = this.#now();
    const ttl = BigInt(Math.min(req.ttlSeconds, l.maxTtlSeconds));
    box.push({
      id,
      payload: req.payload,
      depositedAt: now,
      expiresAt: now + ttl,
      depositor: from,
    });
    this.#boxes.set(key, box);
    this.#totalBytes += size;
    return id;
  }

  #fetch(req: Extract<MbRequest, { type: typeof MbType.fetch }>, key: string): MbResponse {
    const challenge = this.#challenges.get(hexOf(req.nonce));
    // A challenge is used once, whatever the outcome: a failed proof cannot be retried on it.
    this.#challenges.delete(hexOf(req.nonce));
    if (challenge === undefined || challenge.recipient !== key) {
      throw new DeliveryError('mailbox_challenge_invalid', 'unknown or expired challenge');
    }
    let suite: CipherSuite;
    try {
      suite = (this.#o.suiteFor ?? ((id: number) => cipherSuite(id as CipherSuiteId)))(
        req.cipherSuite,
      );
    } catch (cause) {
      throw new DeliveryError('mailbox_proof_invalid', 'unsupported cipher suite', { cause });
    }
    const tbs = encode(fetchTbsCodec, {
      holder: this.#o.self,
      recipient: req.recipient,
      nonce: req.nonce,
    });
    if (!suite.verifyWithLabel(req.recipient, MAILBOX_FETCH_LABEL, tbs, req.signature)) {
      throw new DeliveryError('mailbox_proof_invalid', 'the fetch proof does not verify');
    }
    const box = this.#boxes.get(key) ?? [];
    const items: MailItem[] = [];
    let bytes = 0;
    for (const h of box) {
      if (items.length > 0 && bytes + h.payload.byteLength > this.#limits.maxFetchBytes) break;
      items.push({ id: h.id, payload: h.payload, depositedAt: h.depositedAt });
      bytes += h.payload.byteLength;
    }
    const ackToken = new Uint8Array(randomBytes(32));
    this.#tokens.set(hexOf(ackToken), {
      recipient: key,
      expiresAt: this.#now() + BigInt(this.#limits.challengeSeconds),
      ids: new Set(items.map((i) => hexOf(i.id))),
    });
    return { type: MbType.fetch, items, ackToken, remaining: box.length - items.length };
  }
}

// ---- Requesters --------------------------------------------------------------------------------

async function ask(
  requests: RequestPort,
  peer: PeerIdString,
  req: MbRequest,
  timeoutMs?: number,
): Promise<MbResponse> {
  const body = encode(requestCodec, { version: MAILBOX_VERSION, body: req });
  const res = decodeBody(
    responseCodec,
    await peerRequest(
      requests,
      peer,
      MAILBOX_PROTOCOL,
      body,
      timeoutMs === undefined ? {} : { timeoutMs },
    ),
    'peer_misbehaved',
  );
  if (res.type !== req.type) throw new DeliveryError('peer_misbehaved', 'answer of another type');
  return res;
}

export interface DepositReport {
  readonly holder: PeerIdString;
  readonly error?: DeliveryErrorCode;
}

/**
 * Leaves `payload` (a Welcome, say) in `recipient`'s mailbox at each of `holders` (several, so
 * that one of them is online when the recipient is). Resolves with one report per holder.
 */
export async function depositMail(
  requests: RequestPort,
  holders: readonly PeerIdString[],
  recipient: Uint8Array,
  payload: Uint8Array,
  options: { readonly ttlSeconds?: number; readonly timeoutMs?: number } = {},
): Promise<DepositReport[]> {
  const ttlSeconds = options.ttlSeconds ?? DEFAULT_MAILBOX_LIMITS.maxTtlSeconds;
  const id = messageIdOf(payload);
  return Promise.all(
    holders.map(async (holder): Promise<DepositReport> => {
      try {
        const res = await ask(
          requests,
          holder,
          { type: MbType.deposit, recipient, payload, ttlSeconds },
          options.timeoutMs,
        );
        if (res.type !== MbType.deposit || hexOf(res.id) !== hexOf(id)) {
          throw new DeliveryError('peer_misbehaved', 'the holder named another message');
        }
        return { holder };
      } catch (err) {
        return { holder, error: peerFailure(err) };
      }
    }),
  );
}

/** Carries an error thrown by `accept` past the per-holder error handling. */
class AcceptFailed extends Error {
  constructor(override readonly cause: unknown) {
    super('accept failed');
  }
}

export interface MailboxOwner {
  readonly suite: CipherSuite;
  readonly signatureKeyPair: KeyPair;
}

export interface FetchMailResult {
  /** New messages, each once (the same message from several holders is one). */
  readonly items: readonly MailItem[];
  readonly holders: readonly DepositReport[];
}

/**
 * Fetches our mailbox from each holder: challenge, signed proof, messages; `accept` is called
 * with each new message and those it returns true for are acknowledged (deleted at the holder).
 * Items whose id is not the hash of their payload are dropped. If `accept` throws, the fetch
 * stops with its error (unacknowledged messages stay at the holders).
 */
export async function fetchMail(
  requests: RequestPort,
  holders: readonly PeerIdString[],
  owner: MailboxOwner,
  accept: (item: MailItem) => boolean | Promise<boolean>,
  options: { readonly timeoutMs?: number; readonly maxRounds?: number } = {},
): Promise<FetchMailResult> {
  const recipient = owner.signatureKeyPair.publicKey;
  const seen = new Set<string>();
  const items: MailItem[] = [];
  const reports: DepositReport[] = [];
  for (const holder of holders) {
    try {
      for (let round = 0; round < (options.maxRounds ?? 16); round++) {
        const ch = await ask(
          requests,
          holder,
          { type: MbType.challenge, recipient },
          options.timeoutMs,
        );
        if (ch.type !== MbType.challenge)
          throw new DeliveryError('peer_misbehaved', 'no challenge');
        const tbs = encode(fetchTbsCodec, { holder, recipient, nonce: ch.nonce });
        const signature = owner.suite.signWithLabel(
          owner.signatureKeyPair.privateKey,
          MAILBOX_FETCH_LABEL,
          tbs,
        );
        const got = await ask(
          requests,
          holder,
          {
            type: MbType.fetch,
            recipient,
            cipherSuite: owner.suite.id,
            nonce: ch.nonce,
            signature,
          },
          options.timeoutMs,
        );
        if (got.type !== MbType.fetch) throw new DeliveryError('peer_misbehaved', 'no mail');
        const acked: Uint8Array[] = [];
        for (const item of got.items) {
          if (hexOf(messageIdOf(item.payload)) !== hexOf(item.id)) continue;
          const k = hexOf(item.id);
          let take: boolean;
          try {
            take = seen.has(k) || (await accept(item));
          } catch (err) {
            throw new AcceptFailed(err);
          }
          if (take) acked.push(item.id);
          if (!seen.has(k)) {
            seen.add(k);
            items.push(item);
          }
        }
        if (acked.length > 0) {
          await ask(
            requests,
            holder,
            { type: MbType.ack, recipient, ackToken: got.ackToken, ids: acked },
            options.timeoutMs,
          );
        }
        if (got.remaining === 0 || acked.length === 0) break;
      }
      reports.push({ holder });
    } catch (err) {
      // The caller's own failure is not the holder's: it ends the fetch with that error.
      if (err instanceof AcceptFailed) throw err.cause;
      reports.push({ holder, error: peerFailure(err) });
    }
  }
  return { items, holders: reports };
}
