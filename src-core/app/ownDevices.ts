/**
 * Our own other devices as peers. A device linked to the user (devicesService.ts) is a separate
 * MLS member but the same person, so its peers are bound in the contact book under our own user
 * id: the paths that serve "a contact's device whose user is in the group" (Welcomes handed over
 * by the adder, store-and-forward, mailboxes, KeyPackage requests) then serve our own devices as
 * well, with no second rule beside each of them.
 *
 * A peer is bound only on proof: the link protocol (Noise authenticated the peer id from the code,
 * the HMAC the secret), or an introduction (introduction.ts) whose record is ours and lists the
 * device. Which device a peer speaks for is kept here, so revoking a device unbinds its peers.
 *
 * ```
 * struct {
 *   uint16 version = 1;
 *   opaque device_key<V>;   // empty until the peer's introduction named its device
 * } StoredOwnPeer;          // namespace `own-device-peers`, key: peer id
 * ```
 */
import { decode, encode, opaque, refine, struct, uint16 } from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import type { Transaction } from '../store/index.js';
import type { Session } from './appContext.js';
import { AppError } from './errors.js';

export const OWN_DEVICE_PEERS_NS = 'own-device-peers';
const OWN_PEER_VERSION = 1;

interface StoredOwnPeer {
  readonly version: number;
  readonly deviceKey: Uint8Array;
}

const ownPeerCodec: Codec<StoredOwnPeer> = struct<StoredOwnPeer>({
  version: refine(uint16, (v) => (v === OWN_PEER_VERSION ? undefined : `own peer version ${v}`)),
  deviceKey: refine(opaque, (b) =>
    b.length === 0 || b.length === 32 ? undefined : 'device key length',
  ),
});

/** A peer of one of our devices; `deviceKey` is undefined until its introduction named it. */
export interface OwnPeer {
  readonly peerId: string;
  readonly deviceKey: Uint8Array | undefined;
}

const equal = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Binds `peerId` to our own user (contact book) and remembers its device, into `tx`. `userId` is
 * ours; a device being linked passes the id of the user it is joining, not its fresh one.
 */
export function bindOwnPeer(
  s: Session,
  tx: Transaction,
  userId: string,
  peerId: string,
  deviceKey: Uint8Array | undefined,
  nowMs: number,
): void {
  s.contacts.bind(tx, userId, peerId, nowMs);
  s.store.namespace(OWN_DEVICE_PEERS_NS).put(
    tx,
    peerId,
    encode(ownPeerCodec, {
      version: OWN_PEER_VERSION,
      deviceKey: deviceKey ?? new Uint8Array(0),
    }),
  );
}

/** Every peer bound to our own devices. */
export async function ownPeers(s: Session): Promise<OwnPeer[]> {
  const out: OwnPeer[] = [];
  const bound = s.contacts.get(s.userId)?.peerIds ?? new Set<string>();
  for await (const [peerId, bytes] of s.store.namespace(OWN_DEVICE_PEERS_NS).entries()) {
    if (!bound.has(peerId)) continue;
    let stored: StoredOwnPeer;
    try {
      stored = decode(ownPeerCodec, bytes);
    } catch (cause) {
      throw new AppError('internal', 'a stored own-device peer does not decode', { cause });
    }
    out.push({ peerId, deviceKey: stored.deviceKey.length === 0 ? undefined : stored.deviceKey });
  }
  return out;
}

/** The peers bound to `deviceKey`. */
export async function peersOfDevice(s: Session, deviceKey: Uint8Array): Promise<string[]> {
  return (await ownPeers(s))
    .filter((p) => p.deviceKey !== undefined && equal(p.deviceKey, deviceKey))
    .map((p) => p.peerId);
}

/**
 * Unbinds every peer of `deviceKey` (a revoked device): the contact book entry of our user is
 * rebuilt without them, in one batch; the node stops redialling them. The connection is left to
 * close by itself: the commits removing the device from its groups still travel over it, and
 * what is served to bound peers only (Welcomes, KeyPackages, store-and-forward, mailboxes, the
 * `contact` exchange) is refused to it from now on.
 */
export async function unbindOwnDevice(s: Session, deviceKey: Uint8Array): Promise<string[]> {
  const all = await ownPeers(s);
  const gone = all.filter((p) => p.deviceKey !== undefined && equal(p.deviceKey, deviceKey));
  if (gone.length === 0) return [];
  const goneIds = new Set(gone.map((p) => p.peerId));
  const now = s.ctx.nowMs();
  await s.store.write((tx) => {
    // The contact book unbinds per contact; our user's entry is rebuilt with the peers kept.
    s.contacts.remove(tx, s.userId);
    for (const p of all) {
      if (goneIds.has(p.peerId)) s.store.namespace(OWN_DEVICE_PEERS_NS).delete(tx, p.peerId);
      else s.contacts.bind(tx, s.userId, p.peerId, now);
    }
  });
  for (const peer of goneIds) {
    await s.node.removeContact(peer).catch(() => undefined);
  }
  return [...goneIds];
}
