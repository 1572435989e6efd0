/**
 * Our contacts, shared between our own devices (the `'owncontacts'` request, served to peers bound
 * to our own user only, see ownDevices.ts). A linked device starts with no contacts; without them
 * it could reach the people in its groups only through another device of ours, and neither serve
 * them nor be served store and forward. With this list it pins each contact's user key (the word
 * of our own device, as good as our own first use), takes the contact's newest record, binds the
 * contact's peers and dials them. The contact, in turn, accepts our new device on its
 * introduction alone, since that proves a device certified by our user key (contactsService.ts).
 *
 * ```
 * struct { utf8 peer_id<V>; utf8 addrs<V><V>; } ContactPeer;
 * struct {
 *   opaque record<V>;           // the contact's newest IdentityRecord we hold
 *   ContactPeer peers<V>;       // its devices' peers we bound, with the addresses we know
 * } SharedContact;
 * struct { uint16 version = 1; SharedContact contacts<V>; } OwnContacts;
 * ```
 * Verification states are not shared: the new device shows its contacts unverified until the user
 * compares safety numbers on it.
 */
import type { Codec } from '../codec/index.js';
import {
  decode,
  encode,
  opaque,
  refine,
  struct,
  uint16,
  utf8String,
  vector,
} from '../codec/index.js';
import { DeliveryError } from '../delivery/errors.js';
import { decodeIdentityRecord } from '../identity/index.js';
import type { Session } from './appContext.js';
import { userIdOf } from './appContext.js';
import { StorePeerAddressBook } from './profileRecords.js';

export const OWN_CONTACTS_PROTOCOL = 'owncontacts';
const OWN_CONTACTS_VERSION = 1;
const MAX_CONTACTS = 4096;
const MAX_PEERS = 16;
const MAX_ADDRS = 16;

interface ContactPeer {
  readonly peerId: string;
  readonly addrs: string[];
}
interface SharedContact {
  readonly record: Uint8Array;
  readonly peers: ContactPeer[];
}
interface OwnContacts {
  readonly version: number;
  readonly contacts: SharedContact[];
}

const contactPeerCodec: Codec<ContactPeer> = struct<ContactPeer>({
  peerId: refine(utf8String, (p) => (p.length > 0 && p.length <= 128 ? undefined : 'peer id')),
  addrs: refine(vector(utf8String), (a) => (a.length <= MAX_ADDRS ? undefined : 'addresses')),
});
const ownContactsCodec: Codec<OwnContacts> = struct<OwnContacts>({
  version: refine(uint16, (v) =>
    v === OWN_CONTACTS_VERSION ? undefined : `own contacts version ${v}`,
  ),
  contacts: refine(
    vector(
      struct<SharedContact>({
        record: opaque,
        peers: refine(vector(contactPeerCodec), (p) =>
          p.length <= MAX_PEERS ? undefined : 'peers',
        ),
      }),
    ),
    (c) => (c.length <= MAX_CONTACTS ? undefined : 'contacts'),
  ),
});

/** Serves our contacts to our own devices; returns the unregister function. */
export function serveOwnContacts(s: Session): () => void {
  return s.ports.requests.handle(OWN_CONTACTS_PROTOCOL, async (_body, from) => {
    if (s.contacts.contactOfPeer(from) !== s.userId) {
      throw new DeliveryError('not_member', 'our contacts are for our own devices');
    }
    const book = new StorePeerAddressBook(s.store);
    const contacts: SharedContact[] = [];
    for (const id of s.contacts.ids()) {
      if (id === s.userId) continue;
      const t = s.trust.contact(id);
      // A contact whose key change is undecided is not vouched for.
      if (t === undefined || t.state === 'changed') continue;
      const record = s.records.encodedRecord(t.userKey);
      if (record === undefined) continue;
      const peers: ContactPeer[] = [];
      for (const peerId of [...(s.contacts.get(id)?.peerIds ?? [])].slice(-MAX_PEERS)) {
        const addrs = (await book.get(peerId))?.addrs ?? [];
        peers.push({ peerId, addrs: addrs.slice(0, MAX_ADDRS) });
      }
      contacts.push({ record, peers });
      if (contacts.length >= MAX_CONTACTS) break;
    }
    return encode(ownContactsCodec, { version: OWN_CONTACTS_VERSION, contacts });
  });
}

/**
 * Asks our device at `peerId` for its contacts and takes the ones we do not know: pinned, their
 * records stored, their peers bound and dialled. Contacts we know already are left as they are
 * (our own observations win). Returns how many were new.
 */
export async function fetchOwnContacts(s: Session, peerId: string): Promise<number> {
  const answer = await s.ports.requests.request(peerId, OWN_CONTACTS_PROTOCOL, new Uint8Array(0));
  let list: OwnContacts;
  try {
    list = decode(ownContactsCodec, answer);
  } catch (cause) {
    throw new DeliveryError('decode_failed', 'own contacts', { cause });
  }
  const nowMs = s.ctx.nowMs();
  const now = s.ctx.nowSeconds();
  const dial: ContactPeer[] = [];
  let added = 0;
  await s.store.write((tx) => {
    for (const c of list.contacts) {
      let userKey: Uint8Array;
      try {
        userKey = decodeIdentityRecord(c.record).userKey;
        if (userIdOf(userKey) === s.userId) continue;
        if (s.trust.contactByKey(userKey) !== undefined) continue;
        // Verifies the signature; a record that does not is skipped with nothing changed.
        s.records.add(c.record);
      } catch {
        continue;
      }
      const id = userIdOf(userKey);
      const outcome = s.trust.observe(id, userKey, decodeIdentityRecord(c.record).displayName, now);
      if (outcome.kind !== 'pinned' && outcome.kind !== 'name_collision') continue;
      for (const p of c.peers) {
        if (s.contacts.contactOfPeer(p.peerId) !== undefined) continue;
        s.contacts.bind(tx, id, p.peerId, nowMs);
        dial.push(p);
      }
      added++;
    }
    s.putTrust(tx);
  });
  for (const p of dial) await s.node.addContact(p.peerId, p.addrs).catch(() => undefined);
  return added;
}
