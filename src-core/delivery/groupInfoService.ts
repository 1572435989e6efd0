/**
 * GroupInfo for a member that must rejoin ('groupinfo' request): a member whose state cannot
 * follow its group any more (see externalRejoin.ts) asks a peer for a GroupInfo of the group's
 * current epoch, with `external_pub` and the ratchet tree, to rejoin by external commit
 * (RFC 9420 §12.4.3.2).
 *
 * Who gets one: a GroupInfo reveals the roster (every member's credential) and lets its holder
 * make an external commit, so it is served only to a current member: the requester proves it
 * holds the private key of a leaf signature key that is in the server's tree of the group's
 * current epoch. The proof is a signature over a fresh single-use challenge, the group id and the
 * server's peer id (good at one server, once). A stuck member still holds its leaf key (a resync
 * keeps it), so this covers every rejoin; a device the group never had (another device of a
 * member's user) is not a member and joins by an Add instead. `mayServe` can only narrow this.
 */
import { randomBytes } from 'node:crypto';
import type { Codec } from '../codec/index.js';
import {
  constant,
  decode,
  encode,
  fixedBytes,
  opaque,
  struct,
  uint8,
  utf8String,
  variant,
} from '../codec/index.js';
import type { Group } from '../mls/client/index.js';
import { groupInfoFor } from '../mls/client/index.js';
import { WireFormat } from '../mls/framing/framedContent.js';
import { decodeMlsMessage } from '../mls/framing/mlsMessage.js';
import { DeliveryError } from './errors.js';
import type { DeliveryErrorCode } from './errors.js';
import { bytesEqual, hashKey } from './orderingRecord.js';
import { peerFailure, peerRequest } from './peerRequest.js';
import type { Clock, PeerIdString, RequestPort } from './ports.js';

export const GROUPINFO_PROTOCOL = 'groupinfo';
export const GROUPINFO_VERSION = 1;
export const GROUPINFO_REQUEST_LABEL = 'Parley GroupInfoRequest';

const GiType = { challenge: 1, fetch: 2 } as const;
type GiType = (typeof GiType)[keyof typeof GiType];

/**
 * ```
 * struct {
 *     opaque server<V>;      // the server's peer id (UTF-8): a proof is good at one server only
 *     opaque group_id<V>;
 *     opaque requester<V>;   // the requester's leaf signature public key
 *     opaque nonce[32];      // the server's challenge
 * } GroupInfoRequestTBS;     // SignWithLabel(requester, "Parley GroupInfoRequest", .)
 *
 * struct {
 *     uint8 version = 1;
 *     GiType type;           // challenge(1), fetch(2)
 *     opaque group_id<V>;
 *     opaque requester<V>;
 *     select (type) {
 *         case challenge: struct {};
 *         case fetch:     opaque nonce[32]; opaque signature<V>;
 *     };
 * } GroupInfoRequest;
 *
 * struct {
 *     uint8 version = 1;
 *     GiType type;
 *     select (type) {
 *         case challenge: opaque nonce[32];
 *         case fetch:     opaque group_info<V>;   // MLSMessage (GroupInfo)
 *     };
 * } GroupInfoResponse;
 * ```
 */
interface RequestTBS {
  readonly server: string;
  readonly groupId: Uint8Array;
  readonly requester: Uint8Array;
  readonly nonce: Uint8Array;
}
const tbsCodec = struct<RequestTBS>({
  server: utf8String,
  groupId: opaque,
  requester: opaque,
  nonce: fixedBytes(32),
});

type GiRequest =
  | { readonly type: typeof GiType.challenge }
  | {
      readonly type: typeof GiType.fetch;
      readonly nonce: Uint8Array;
      readonly signature: Uint8Array;
    };
interface GiRequestBody {
  readonly groupId: Uint8Array;
  readonly requester: Uint8Array;
  readonly request: GiRequest;
}
type GiResponse =
  | { readonly type: typeof GiType.challenge; readonly nonce: Uint8Array }
  | { readonly type: typeof GiType.fetch; readonly groupInfo: Uint8Array };

interface Versioned<T> {
  readonly version: number;
  readonly body: T;
}
const versioned = <T>(inner: Codec<T>): Codec<Versioned<T>> =>
  struct<Versioned<T>>({ version: constant(uint8, GROUPINFO_VERSION, 'version'), body: inner });
const typeCodec = uint8 as Codec<GiType>;

const requestCodec = versioned<GiRequestBody>(
  struct<GiRequestBody>({
    groupId: opaque,
    requester: opaque,
    request: variant<GiType, GiRequest, 'type'>('type', typeCodec, {
      [GiType.challenge]: struct({}),
      [GiType.fetch]: struct({ nonce: fixedBytes(32), signature: opaque }),
    }),
  }),
);
const responseCodec = versioned<GiResponse>(
  variant<GiType, GiResponse, 'type'>('type', typeCodec, {
    [GiType.challenge]: struct({ nonce: fixedBytes(32) }),
    [GiType.fetch]: struct({ groupInfo: opaque }),
  }),
);

function decodeBody<T>(codec: Codec<Versioned<T>>, bytes: Uint8Array, code: DeliveryErrorCode): T {
  if (bytes.byteLength > 0 && bytes[0] !== GROUPINFO_VERSION) {
    throw new DeliveryError('unsupported_version', `groupinfo version ${bytes[0]}`);
  }
  try {
    return decode(codec, bytes).body;
  } catch (cause) {
    throw new DeliveryError(code, 'groupinfo message does not decode', { cause });
  }
}

export interface GroupInfoServerOptions {
  readonly requests: RequestPort;
  /** Our own peer id: proofs name the server they are for. */
  readonly self: PeerIdString;
  readonly clock: Clock;
  /** Our group at its current epoch, by group id (undefined: not ours, or not active). */
  readonly group: (groupId: Uint8Array) => Group | undefined;
  /** A further rule (e.g. only peers we know): it can refuse a member, never admit a stranger. */
  readonly mayServe?: (requester: Uint8Array, from: PeerIdString) => boolean;
  /** How long a challenge stays good (default 60 s). */
  readonly challengeMs?: number;
  /** Challenges outstanding at most; a flood only evicts the oldest (default 1024). */
  readonly maxChallenges?: number;
}

interface Challenge {
  readonly group: string;
  readonly requester: string;
  readonly from: PeerIdString;
  readonly expiresAt: number;
}

/** Serves GroupInfos of our groups to their members over 'groupinfo'. */
export class GroupInfoServer {
  readonly #o: GroupInfoServerOptions;
  readonly #challenges = new Map<string, Challenge>();
  readonly #unregister: () => void;

  constructor(options: GroupInfoServerOptions) {
    this.#o = options;
    this.#unregister = options.requests.handle(GROUPINFO_PROTOCOL, (body, from) =>
      Promise.resolve(this.#answer(body, from)),
    );
  }

  close(): void {
    this.#unregister();
    this.#challenges.clear();
  }

  /** Our group, if the requester's key is a leaf in its current tree (else 'not_member'). */
  #memberGroup(groupId: Uint8Array, requester: Uint8Array, from: PeerIdString): Group {
    const group = this.#o.group(groupId);
    const member =
      group !== undefined &&
      group.isActive &&
      bytesEqual(group.groupId, groupId) &&
      group.members().some((m) => bytesEqual(m.signatureKey, requester));
    if (!member || this.#o.mayServe?.(requester, from) === false) {
      // One answer for "no such group" and "not a member": the refusal reveals neither.
      throw new DeliveryError('not_member', 'no GroupInfo for this requester');
    }
    return group;
  }

  #answer(body: Uint8Array, from: PeerIdString): Uint8Array {
    const { groupId, requester, request } = decodeBody(requestCodec, body, 'groupinfo_malformed');
    const reply = (r: GiResponse): Uint8Array =>
      encode(responseCodec, { version: GROUPINFO_VERSION, body: r });
    const now = this.#o.clock.now();
    for (const [k, c] of this.#challenges) if (c.expiresAt < now) this.#challenges.delete(k);
    const group = this.#memberGroup(groupId, requester, from);
    if (request.type === GiType.challenge) {
      const nonce = new Uint8Array(randomBytes(32));
      this.#challenges.set(hashKey(nonce), {
        group: hashKey(groupId),
        requester: hashKey(requester),
        from,
        expiresAt: now + (this.#o.challengeMs ?? 60_000),
      });
      while (this.#challenges.size > (this.#o.maxChallenges ?? 1024)) {
        this.#challenges.delete(this.#challenges.keys().next().value!);
      }
      return reply({ type: GiType.challenge, nonce });
    }
    const key = hashKey(request.nonce);
    const challenge = this.#challenges.get(key);
    // Used once, whatever the outcome: a failed proof cannot be retried on it.
    this.#challenges.delete(key);
    if (
      challenge === undefined ||
      challenge.group !== hashKey(groupId) ||
      challenge.requester !== hashKey(requester) ||
      challenge.from !== from
    ) {
      throw new DeliveryError('groupinfo_challenge_invalid', 'unknown or expired challenge');
    }
    const tbs = encode(tbsCodec, {
      server: this.#o.self,
      groupId,
      requester,
      nonce: request.nonce,
    });
    const suite = group.state.suite;
    if (!suite.verifyWithLabel(requester, GROUPINFO_REQUEST_LABEL, tbs, request.signature)) {
      throw new DeliveryError('groupinfo_proof_invalid', 'the request proof does not verify');
    }
    return reply({ type: GiType.fetch, groupInfo: groupInfoFor(group) });
  }
}

// ---- Requester ---------------------------------------------------------------------------------

async function ask(
  requests: RequestPort,
  peer: PeerIdString,
  body: GiRequestBody,
  timeoutMs: number | undefined,
): Promise<GiResponse> {
  const bytes = encode(requestCodec, { version: GROUPINFO_VERSION, body });
  const res = decodeBody(
    responseCodec,
    await peerRequest(
      requests,
      peer,
      GROUPINFO_PROTOCOL,
      bytes,
      timeoutMs === undefined ? {} : { timeoutMs },
    ),
    'peer_misbehaved',
  );
  if (res.type !== body.request.type) {
    throw new DeliveryError('peer_misbehaved', 'answer of another type');
  }
  return res;
}

export interface GroupInfoAnswer {
  readonly peer: PeerIdString;
  /** A GroupInfo MLSMessage of the group (checked for that much only: the rejoin verifies it). */
  readonly groupInfo?: Uint8Array;
  readonly error?: DeliveryErrorCode;
}

/**
 * Asks `peers` (the first `maxPeers`, default 8) in turn for a GroupInfo of `group`'s group,
 * proving membership with our leaf key in `group`: peers on different branches answer with
 * different GroupInfos, and the rejoin chooses (it also verifies signatures and trees). One report
 * per peer asked; `stopAfter` answers end it early (default: ask them all).
 */
export async function fetchGroupInfo(
  requests: RequestPort,
  peers: readonly PeerIdString[],
  group: Group,
  options: {
    readonly timeoutMs?: number;
    readonly maxPeers?: number;
    readonly stopAfter?: number;
  } = {},
): Promise<GroupInfoAnswer[]> {
  const state = group.state;
  const groupId = state.groupId;
  const requester = state.ownLeafNode.signatureKey;
  const reports: GroupInfoAnswer[] = [];
  let answers = 0;
  for (const peer of peers.slice(0, options.maxPeers ?? 8)) {
    try {
      const ch = await ask(
        requests,
        peer,
        { groupId, requester, request: { type: GiType.challenge } },
        options.timeoutMs,
      );
      if (ch.type !== GiType.challenge) throw new DeliveryError('peer_misbehaved', 'no challenge');
      const tbs = encode(tbsCodec, { server: peer, groupId, requester, nonce: ch.nonce });
      const signature = state.suite.signWithLabel(
        state.signaturePrivateKey,
        GROUPINFO_REQUEST_LABEL,
        tbs,
      );
      const got = await ask(
        requests,
        peer,
        { groupId, requester, request: { type: GiType.fetch, nonce: ch.nonce, signature } },
        options.timeoutMs,
      );
      if (got.type !== GiType.fetch) throw new DeliveryError('peer_misbehaved', 'no GroupInfo');
      if (!isGroupInfoOf(got.groupInfo, groupId)) {
        throw new DeliveryError('peer_misbehaved', 'not a GroupInfo of this group');
      }
      reports.push({ peer, groupInfo: got.groupInfo });
      if (++answers >= (options.stopAfter ?? Number.POSITIVE_INFINITY)) return reports;
    } catch (err) {
      reports.push({ peer, error: peerFailure(err) });
    }
  }
  return reports;
}

function isGroupInfoOf(bytes: Uint8Array, groupId: Uint8Array): boolean {
  try {
    const m = decodeMlsMessage(bytes);
    return (
      m.wireFormat === WireFormat.groupInfo && bytesEqual(m.groupInfo.groupContext.groupId, groupId)
    );
  } catch {
    return false;
  }
}
