/**
 * The `'groupjoin'` request between a group's adder and a contact it adds, directly between their
 * devices: the adder asks for a fresh KeyPackage (made on demand, with the capabilities Parley
 * groups need, see groupRules.ts), then hands over the Welcome. Only peers bound to a contact
 * (the contact book: they proved a device of that contact) are served.
 *
 * ```
 * enum { key_package(1), welcome(2), (255) } JoinRequestType;
 * struct {
 *   uint16 version = 1;
 *   JoinRequestType type;
 *   select (type) {
 *     case key_package: struct {};
 *     case welcome:     opaque welcome<V>; utf8 group_name<V>;
 *   };
 * } JoinRequest;
 * struct { uint16 version = 1; opaque key_package<V>; } KeyPackageResponse;  // MLSMessage
 * ```
 * A welcome answers with an empty body once the group is joined and stored.
 *
 * This reaches a contact that is online; offlineJoin.ts covers one that is not (directory,
 * mailboxes).
 */
import {
  decode,
  encode,
  enumOf,
  opaque,
  refine,
  struct,
  uint16,
  uint8,
  utf8String,
  variant,
} from '../../codec/index.js';
import type { Codec } from '../../codec/index.js';
import { DeliveryError } from '../../delivery/errors.js';
import type { RequestPort } from '../../delivery/ports.js';

export const JOIN_PROTOCOL = 'groupjoin';
export const JOIN_VERSION = 1;
/** A Welcome for a large group carries its ratchet tree. */
export const MAX_WELCOME_BYTES = 4 * 1024 * 1024;

export const JoinType = { keyPackage: 1, welcome: 2 } as const;
type JoinTypeCode = (typeof JoinType)[keyof typeof JoinType];

type JoinBody =
  | { readonly type: typeof JoinType.keyPackage }
  | { readonly type: typeof JoinType.welcome; readonly welcome: Uint8Array; readonly name: string };

const requestCodec: Codec<{ version: number; body: JoinBody }> = struct({
  version: uint16,
  body: variant<JoinTypeCode, JoinBody, 'type'>(
    'type',
    enumOf(uint8, [JoinType.keyPackage, JoinType.welcome], 'join request type'),
    {
      [JoinType.keyPackage]: struct({}),
      [JoinType.welcome]: struct({
        welcome: refine(opaque, (b) =>
          b.length > MAX_WELCOME_BYTES ? 'welcome too large' : undefined,
        ),
        name: refine(utf8String, (s) => (s.length > 256 ? 'group name too long' : undefined)),
      }),
    },
  ),
});

const kpResponseCodec: Codec<{ version: number; keyPackage: Uint8Array }> = struct({
  version: uint16,
  keyPackage: opaque,
});

export interface JoinHandlers {
  /** Whether `from` is a device of one of our contacts. */
  isContactPeer(from: string): boolean;
  /** A fresh KeyPackage MLSMessage of ours. */
  keyPackage(from: string): Promise<Uint8Array>;
  /** Joins the group of the Welcome; rejects with a DeliveryError to refuse it. */
  welcome(from: string, welcome: Uint8Array, name: string): Promise<void>;
}

function parse<T extends { version: number }>(codec: Codec<T>, bytes: Uint8Array): T {
  if (bytes.length >= 2 && ((bytes[0]! << 8) | bytes[1]!) !== JOIN_VERSION) {
    throw new DeliveryError('unsupported_version', 'groupjoin version');
  }
  try {
    return decode(codec, bytes);
  } catch (cause) {
    throw new DeliveryError('decode_failed', 'groupjoin body does not parse', { cause });
  }
}

/** Serves `'groupjoin'`; returns the unregister function. */
export function serveJoin(requests: RequestPort, handlers: JoinHandlers): () => void {
  return requests.handle(JOIN_PROTOCOL, async (body, from) => {
    if (!handlers.isContactPeer(from)) {
      throw new DeliveryError('not_member', 'groupjoin is for contacts');
    }
    const req = parse(requestCodec, body).body;
    if (req.type === JoinType.keyPackage) {
      return encode(kpResponseCodec, {
        version: JOIN_VERSION,
        keyPackage: await handlers.keyPackage(from),
      });
    }
    await handlers.welcome(from, req.welcome, req.name);
    return new Uint8Array(0);
  });
}

/** Asks a contact's device for a fresh KeyPackage (unverified: the caller checks it). */
export async function requestKeyPackage(
  requests: RequestPort,
  peer: string,
  timeoutMs = 15_000,
): Promise<Uint8Array> {
  const body = encode(requestCodec, { version: JOIN_VERSION, body: { type: JoinType.keyPackage } });
  const res = await requests.request(peer, JOIN_PROTOCOL, body, { timeoutMs });
  return parse(kpResponseCodec, res).keyPackage;
}

/** Hands a Welcome to a new member's device; resolves once it joined. */
export async function sendWelcome(
  requests: RequestPort,
  peer: string,
  welcome: Uint8Array,
  name: string,
  timeoutMs = 30_000,
): Promise<void> {
  const body = encode(requestCodec, {
    version: JOIN_VERSION,
    body: { type: JoinType.welcome, welcome, name },
  });
  await requests.request(peer, JOIN_PROTOCOL, body, { timeoutMs });
}
