/**
 * The sync protocol ('sync' request): a member that was offline asks a member peer for everything
 * of a group after a cursor, page by page, and learns from "heads" whether it is behind.
 *
 * The requester trusts nothing in a page: the page must be for the group asked, within the size
 * asked, in epoch order (a commit closes its epoch), every message id the SHA-256 of its bytes,
 * every message an MLS Public/PrivateMessage whose clear header (group id, epoch, content type)
 * says what the item claims. A page that breaks any rule is dropped whole with a typed error and
 * the next peer is asked; nothing of it reaches the log. Whether a commit is the one the
 * sequencer ordered is the session's check when it merges (the ordering record is opaque here).
 */
import { Reader, readVarint } from '../codec/index.js';
import { WireFormat } from '../mls/framing/framedContent.js';
import { decodeMlsMessage } from '../mls/framing/mlsMessage.js';
import type {
  CiphertextLog,
  EntryKind,
  GroupHead,
  LogCursor,
  LogEntry,
  LogGaps,
} from './ciphertextLog.js';
import { EntryKind as Kind, entryWireSize, hexOf, messageIdOf } from './ciphertextLog.js';
import { DeliveryError, isDeliveryError } from './errors.js';
import type { DeliveryErrorCode } from './errors.js';
import { peerFailure, peerRequest } from './peerRequest.js';
import type { PeerIdString, RequestPort } from './ports.js';
import {
  DEFAULT_PAGE_BYTES,
  MAX_HEADS_GROUPS,
  MAX_PAGE_BYTES,
  SINGLE_ITEM_SLACK,
  SYNC_PROTOCOL,
  SyncType,
  decodeSyncRequest,
  decodeSyncResponse,
  encodeSyncRequest,
  encodeSyncResponse,
} from './syncWire.js';
import type { SyncItem, SyncRequest, SyncResponse } from './syncWire.js';

export {
  DEFAULT_PAGE_BYTES,
  MAX_HEADS_GROUPS,
  MAX_PAGE_BYTES,
  SYNC_PROTOCOL,
  SYNC_VERSION,
  decodeSyncRequest,
  decodeSyncResponse,
  encodeSyncRequest,
  encodeSyncResponse,
} from './syncWire.js';
export type { SyncItem, SyncRequest, SyncResponse } from './syncWire.js';

// ---- Server --------------------------------------------------------------------------------------

export interface SyncServerOptions {
  readonly log: CiphertextLog;
  readonly requests: RequestPort;
  /**
   * Whether `peer` may read `groupId`'s log (a member's device, as the identity layer and the
   * group roster say). Refused groups are answered as 'not_member' (fetch) or left out (heads).
   */
  readonly authorize: (peer: PeerIdString, groupId: Uint8Array) => boolean | Promise<boolean>;
  /** Largest page served, whatever is asked (default MAX_PAGE_BYTES). */
  readonly maxPageBytes?: number;
  /**
   * The asker's heads from a heads exchange, for groups it may read (the others are dropped):
   * the session compares them with ours and catches up from that peer when it is behind.
   */
  readonly onPeerHeads?: (peer: PeerIdString, heads: readonly GroupHead[]) => void;
}

/** Serves this member's log over 'sync'. `close()` stops serving. */
export class SyncServer {
  readonly #o: SyncServerOptions;
  readonly #unregister: () => void;

  constructor(options: SyncServerOptions) {
    this.#o = options;
    this.#unregister = options.requests.handle(SYNC_PROTOCOL, (body, from) =>
      this.#answer(body, from),
    );
  }

  close(): void {
    this.#unregister();
  }

  async #answer(body: Uint8Array, from: PeerIdString): Promise<Uint8Array> {
    const req = decodeSyncRequest(body);
    const log = this.#o.log;
    if (req.type === SyncType.heads) {
      if (req.groupIds.length > MAX_HEADS_GROUPS || req.ours.length > req.groupIds.length) {
        throw new DeliveryError('sync_malformed', 'too many groups in a heads request');
      }
      const heads: GroupHead[] = [];
      const readable = new Set<string>();
      for (const id of req.groupIds) {
        if (!(await this.#o.authorize(from, id))) continue;
        readable.add(hexOf(id));
        const head = log.head(id);
        if (head !== undefined) heads.push(head);
      }
      const theirs = req.ours.filter((h) => readable.has(hexOf(h.groupId)));
      if (theirs.length > 0) this.#o.onPeerHeads?.(from, theirs);
      return encodeSyncResponse({ type: SyncType.heads, heads });
    }
    if (!(await this.#o.authorize(from, req.groupId))) {
      throw new DeliveryError('not_member', 'this peer may not read the group');
    }
    const limit = Math.min(req.maxBytes, this.#o.maxPageBytes ?? MAX_PAGE_BYTES);
    const page = log.readPage(req.groupId, req.cursor, Math.max(limit, 1));
    return encodeSyncResponse({
      type: SyncType.fetch,
      groupId: req.groupId,
      items: page.entries.map(toItem),
      next: page.next,
      floorEpoch: log.floorEpoch(req.groupId),
      head: log.head(req.groupId),
    });
  }
}

function toItem(e: LogEntry): SyncItem {
  return {
    kind: e.kind,
    epoch: e.epoch,
    messageId: e.messageId,
    message: e.message,
    orderingRecord: e.orderingRecord,
  };
}

// ---- Requester -----------------------------------------------------------------------------------

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

const CONTENT_OF: Record<EntryKind, number> = {
  [Kind.application]: 1,
  [Kind.proposal]: 2,
  [Kind.commit]: 3,
};

function sameBytesAt(buf: Uint8Array, at: number, len: number, want: Uint8Array): boolean {
  if (len !== want.byteLength) return false;
  for (let i = 0; i < len; i++) if (buf[at + i] !== want[i]) return false;
  return true;
}

/**
 * A PrivateMessage's clear header and the shape of the rest (RFC 9420 §6.3), read in place: a
 * catch-up checks thousands of them, and a full decode would copy every ciphertext once more.
 */
function checkPrivateMessage(bytes: Uint8Array, item: SyncItem, groupId: Uint8Array): void {
  const r = new Reader(bytes, 4);
  const idLen = readVarint(r);
  const idAt = r.offset;
  r.sub(idLen);
  const epoch = r.uint64();
  const contentType = r.uint8();
  for (let i = 0; i < 3; i++) r.sub(readVarint(r)); // authenticated_data, sender data, ciphertext
  r.expectEnd();
  if (!sameBytesAt(bytes, idAt, idLen, groupId)) {
    throw new DeliveryError('sync_wrong_group', 'an item belongs to another group');
  }
  if (epoch !== item.epoch || contentType !== CONTENT_OF[item.kind]) {
    throw new DeliveryError('sync_bad_message', 'an item is not what its header says');
  }
}

/** The MLS header must say what the item claims: group, epoch, content type. */
function checkMlsHeader(item: SyncItem, groupId: Uint8Array): void {
  const bytes = item.message;
  let header: { groupId: Uint8Array; epoch: bigint; contentType: number };
  try {
    if (bytes.byteLength < 4 || bytes[0] !== 0 || bytes[1] !== 1) {
      throw new DeliveryError('sync_bad_message', 'not an MLS 1.0 message');
    }
    const wireFormat = (bytes[2]! << 8) | bytes[3]!;
    if (wireFormat === WireFormat.privateMessage) {
      checkPrivateMessage(bytes, item, groupId);
      return;
    }
    const m = decodeMlsMessage(bytes);
    if (m.wireFormat !== WireFormat.publicMessage) {
      throw new DeliveryError('sync_bad_message', 'not a group message');
    }
    const c = m.publicMessage.content;
    header = { groupId: c.groupId, epoch: c.epoch, contentType: c.contentType };
  } catch (cause) {
    if (isDeliveryError(cause)) throw cause;
    throw new DeliveryError('sync_bad_message', 'an item is not an MLSMessage', { cause });
  }
  if (!bytesEqual(header.groupId, groupId)) {
    throw new DeliveryError('sync_wrong_group', 'an item belongs to another group');
  }
  if (header.epoch !== item.epoch || header.contentType !== CONTENT_OF[item.kind]) {
    throw new DeliveryError('sync_bad_message', 'an item is not what its header says');
  }
}

/** Checks a whole page against the request; throws before anything is kept. */
export function checkPage(
  page: Extract<SyncResponse, { type: typeof SyncType.fetch }>,
  groupId: Uint8Array,
  cursor: LogCursor,
  pageBytes: number,
): void {
  if (!bytesEqual(page.groupId, groupId)) {
    throw new DeliveryError('sync_wrong_group', 'the page is for another group');
  }
  if (page.items.length > 1) {
    const size = page.items.reduce((n, i) => n + entryWireSize(i), 0);
    if (size > pageBytes) throw new DeliveryError('sync_page_too_large', `page of ${size} bytes`);
  }
  let epoch = cursor.epoch;
  let closed = false;
  for (const item of page.items) {
    if (item.epoch < epoch || (item.epoch === epoch && closed)) {
      throw new DeliveryError('sync_out_of_order', 'items go back in epoch order');
    }
    if (item.epoch > epoch) closed = false;
    epoch = item.epoch;
    if (item.kind === Kind.commit) closed = true;
    else if (item.orderingRecord !== undefined) {
      throw new DeliveryError('sync_malformed', 'an ordering record on a non-commit');
    }
    if (!bytesEqual(messageIdOf(item.message), item.messageId)) {
      throw new DeliveryError('sync_bad_message_id', 'a message id is not the hash of its bytes');
    }
    checkMlsHeader(item, groupId);
  }
  const next = page.next;
  if (next !== undefined) {
    // Strictly forward: a page holds at least one item, so an honest next cursor is past this
    // one; a peer repeating a cursor would otherwise keep us paging forever.
    const advanced =
      page.items.length > 0 &&
      (next.epoch > cursor.epoch || (next.epoch === cursor.epoch && next.fromSeq > cursor.fromSeq));
    if (!advanced || next.epoch < epoch) {
      throw new DeliveryError('sync_malformed', 'the next cursor does not advance');
    }
  }
}

export interface SyncClientOptions {
  readonly log: CiphertextLog;
  readonly requests: RequestPort;
  /** Bytes of items per page asked for (default DEFAULT_PAGE_BYTES, at most MAX_PAGE_BYTES). */
  readonly pageBytes?: number;
  readonly timeoutMs?: number;
  /** Pages taken from one peer in one catch-up before moving on (default 10,000). */
  readonly maxPagesPerPeer?: number;
}

export interface CatchUpOptions {
  /**
   * New entries, in order, as each page is kept (the session processes them). It should deal
   * with a message MLS rejects itself (and may `remove` it from the log); if it throws, the
   * catch-up stops with that error.
   */
  readonly deliver?: (entries: readonly SyncItem[]) => void | Promise<void>;
  readonly signal?: AbortSignal;
  /**
   * The epoch to reach (from a heads exchange). Peers' own heads can raise it; a peer that has
   * less than this leaves gaps, and the next peer is asked.
   */
  readonly targetEpoch?: bigint;
}

export interface PeerOutcome {
  readonly peer: PeerIdString;
  readonly pages: number;
  readonly added: number;
  /** Why this peer was left, if it failed. */
  readonly error?: DeliveryErrorCode;
}

export interface CatchUpResult {
  readonly added: number;
  readonly duplicates: number;
  /**
   * Commits a peer sent for an epoch where we hold another ordered commit: a fork, for the
   * session to decide (forks.ts). They are not kept in the log and not delivered.
   */
  readonly conflicts: readonly SyncItem[];
  readonly peers: readonly PeerOutcome[];
  /** The highest epoch a peer said it had reached (its head). */
  readonly targetEpoch: bigint;
  /** What is still missing in [fromEpoch, targetEpoch) after asking every peer needed. */
  readonly gaps: LogGaps;
  readonly complete: boolean;
}

/** Fetches what this member missed, from member peers, into the log. */
export class SyncClient {
  readonly #o: SyncClientOptions;
  readonly #pageBytes: number;

  constructor(options: SyncClientOptions) {
    this.#o = options;
    this.#pageBytes = Math.min(options.pageBytes ?? DEFAULT_PAGE_BYTES, MAX_PAGE_BYTES);
    if (!(this.#pageBytes >= 1024)) throw new DeliveryError('invalid_argument', 'page too small');
  }

  async #ask(peer: PeerIdString, req: SyncRequest, signal?: AbortSignal): Promise<SyncResponse> {
    const body = await peerRequest(this.#o.requests, peer, SYNC_PROTOCOL, encodeSyncRequest(req), {
      ...(this.#o.timeoutMs === undefined ? {} : { timeoutMs: this.#o.timeoutMs }),
      ...(signal === undefined ? {} : { signal }),
    });
    if (body.byteLength > this.#pageBytes + SINGLE_ITEM_SLACK) {
      throw new DeliveryError('sync_page_too_large', `response of ${body.byteLength} bytes`);
    }
    const res = decodeSyncResponse(body);
    if (res.type !== req.type) throw new DeliveryError('sync_malformed', 'answer of another type');
    return res;
  }

  /** A peer's heads for the groups named (those it holds and lets us read). */
  async heads(peer: PeerIdString, groupIds: readonly Uint8Array[]): Promise<GroupHead[]> {
    if (groupIds.length > MAX_HEADS_GROUPS) {
      throw new DeliveryError('invalid_argument', 'too many groups');
    }
    const ours = groupIds
      .map((id) => this.#o.log.head(id))
      .filter((h): h is GroupHead => h !== undefined);
    const res = await this.#ask(peer, { type: SyncType.heads, groupIds: [...groupIds], ours });
    if (res.type !== SyncType.heads) throw new DeliveryError('sync_malformed', 'not heads');
    const asked = new Set(groupIds.map(hexOf));
    const seen = new Set<string>();
    for (const h of res.heads) {
      const k = hexOf(h.groupId);
      if (!asked.has(k) || seen.has(k)) {
        throw new DeliveryError('sync_wrong_group', 'a head for a group not asked about');
      }
      seen.add(k);
    }
    return res.heads;
  }

  /**
   * Catches up on `groupId` from epoch `fromEpoch` (the epoch the member is in): pages from the
   * first peer until it has nothing further; if commits or ordering records are still missing
   * below the highest epoch any peer claimed, or the peer failed, the next peer is asked from the
   * first gap. Duplicates are dropped by message id.
   */
  async catchUp(
    groupId: Uint8Array,
    fromEpoch: bigint,
    peers: readonly PeerIdString[],
    options: CatchUpOptions = {},
  ): Promise<CatchUpResult> {
    const log = this.#o.log;
    let added = 0;
    let duplicates = 0;
    const conflicts: SyncItem[] = [];
    const outcomes: PeerOutcome[] = [];
    let target = options.targetEpoch ?? fromEpoch;
    let start: bigint = fromEpoch;
    const maxPages = this.#o.maxPagesPerPeer ?? 10_000;
    const currentGaps = (): LogGaps => log.gaps(groupId, fromEpoch, target);

    for (const peer of peers) {
      let cursor: LogCursor = { epoch: start, fromSeq: 0, commitDone: false };
      let pages = 0;
      let peerAdded = 0;
      let error: DeliveryErrorCode | undefined;
      let delivering = false;
      // The next page is asked for while this one is being delivered (decrypted by the session),
      // so the network and the peer work while we do.
      const ask = (c: LogCursor): Promise<SyncResponse> => {
        const p = this.#ask(
          peer,
          { type: SyncType.fetch, groupId, cursor: c, maxBytes: this.#pageBytes },
          options.signal,
        );
        p.catch(() => undefined); // awaited below; a page never awaited must not go unhandled
        return p;
      };
      let next: Promise<SyncResponse> | undefined = ask(cursor);
      try {
        while (next !== undefined) {
          options.signal?.throwIfAborted();
          const res = await next;
          next = undefined;
          if (res.type !== SyncType.fetch) throw new DeliveryError('sync_malformed', 'not a page');
          checkPage(res, groupId, cursor, this.#pageBytes);
          pages++;
          if (res.head !== undefined && res.head.highestEpoch > target) {
            target = res.head.highestEpoch;
          }
          // checkPage verified every id against its bytes, and the items are our own decoding.
          const outcomes = await log.appendBatch(groupId, res.items, { verifiedAndOwned: true });
          const fresh: SyncItem[] = [];
          outcomes.forEach((o, i) => {
            const item = res.items[i]!;
            if (o === 'added' || o === 'replaced') fresh.push(item);
            else if (o === 'duplicate') duplicates++;
            else conflicts.push(item);
          });
          added += fresh.length;
          peerAdded += fresh.length;
          if (res.next !== undefined) {
            if (pages >= maxPages) throw new DeliveryError('sync_incomplete', 'page budget spent');
            cursor = res.next;
            next = ask(cursor);
          }
          if (fresh.length > 0 && options.deliver !== undefined) {
            delivering = true;
            await options.deliver(fresh);
            delivering = false;
          }
        }
      } catch (err) {
        // The session's own failure is not the peer's: it ends the catch-up.
        if (delivering || options.signal?.aborted === true) throw err;
        error = peerFailure(err);
      }
      outcomes.push({ peer, pages, added: peerAdded, ...(error === undefined ? {} : { error }) });
      const gaps = currentGaps();
      const first = [...gaps.missingCommits, ...gaps.missingRecords].sort((a, b) =>
        a < b ? -1 : a > b ? 1 : 0,
      )[0];
      if (first === undefined && error === undefined) break;
      if (first !== undefined) start = first;
      else if (error !== undefined) start = cursor.epoch;
    }
    const gaps = currentGaps();
    const lastFailed = outcomes.at(-1)?.error !== undefined;
    return {
      added,
      duplicates,
      conflicts,
      peers: outcomes,
      targetEpoch: target,
      gaps,
      complete: !lastFailed && gaps.missingCommits.length === 0 && gaps.missingRecords.length === 0,
    };
  }
}
