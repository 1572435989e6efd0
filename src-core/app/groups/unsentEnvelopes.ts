/**
 * Our application messages between their encryption and our ciphertext log. A send stores the
 * message in the ledger, and the ratchet step that encrypted it, in one batch of the group
 * (groupHub.ts `persist`); the envelope leaves only after that batch. A process killed after the
 * batch and before the envelope reached the network and our log would keep a message that nobody
 * else ever gets: our history says sent, the group never saw it, and nothing could send it again
 * (the plaintext is gone and the key is spent). So the envelope itself is written in the same
 * batch, in namespace `unsent`, and removed once our ciphertext log holds it (from where members
 * fetch what the network lost). At unlock, what is left is published again: copies are dropped by
 * the members that had them (MLS refuses a used generation, the delivery layer a seen id).
 *
 * ```
 * namespace `unsent`, entry `<group hex>/<SHA-256 of the envelope, hex>`:
 * struct { uint16 version = 1; opaque envelope<V>; } UnsentEnvelope;
 * ```
 */
import { decode, encode, opaque, struct, uint16 } from '../../codec/index.js';
import type { Codec } from '../../codec/index.js';
import { EnvelopeKind, decodeEnvelope } from '../../delivery/envelope.js';
import type { ChannelPort } from '../../delivery/ports.js';
import { AppError } from '../errors.js';
import { sha256 } from './attachmentCrypto.js';
import type { GroupEntry, GroupHub } from './groupHub.js';
import { hexOf } from './messageLedger.js';

export const UNSENT_NS = 'unsent';
const VERSION = 1;

interface UnsentWire {
  version: number;
  envelope: Uint8Array;
}

const unsentCodec: Codec<UnsentWire> = struct<UnsentWire>({ version: uint16, envelope: opaque });

function decodeUnsent(bytes: Uint8Array): Uint8Array {
  let v: UnsentWire;
  try {
    v = decode(unsentCodec, bytes);
  } catch (cause) {
    throw new AppError('internal', 'a stored unsent envelope is malformed', { cause });
  }
  if (v.version !== VERSION) {
    throw new AppError('internal', `unsent envelope version ${v.version} is not known`);
  }
  return v.envelope;
}

/** Whether a published envelope is an application message (the only kind a send makes). */
export function isApplicationEnvelope(data: Uint8Array): boolean {
  try {
    return decodeEnvelope(data).kind === EnvelopeKind.application;
  } catch {
    return false;
  }
}

export class UnsentEnvelopes {
  constructor(private readonly hub: GroupHub) {}

  /**
   * Publishes an application envelope of `e` on `raw` (the network, not the log) once a batch of
   * the group holds it and the state that made it; keeps it in our log; forgets it once kept.
   */
  async publish(e: GroupEntry, raw: ChannelPort, channel: string, data: Uint8Array): Promise<void> {
    const name = `${e.hex}/${hexOf(sha256(data))}`;
    await this.hub.persist(e, (tx) => {
      this.hub.session.store
        .namespace(UNSENT_NS)
        .put(tx, name, encode(unsentCodec, { version: VERSION, envelope: data }));
    });
    await this.#send(raw, channel, name, data);
  }

  /** At unlock: what a killed process encrypted, stored and never got into its log. */
  async resend(e: GroupEntry, raw: ChannelPort, channel: string): Promise<void> {
    const ns = this.hub.session.store.namespace(UNSENT_NS);
    const found: [string, Uint8Array][] = [];
    for await (const [name, value] of ns.entries()) {
      if (name.startsWith(`${e.hex}/`)) found.push([name, decodeUnsent(value)]);
    }
    await Promise.all(
      found.map(([name, data]) => this.#send(raw, channel, name, data).catch(() => undefined)),
    );
  }

  /** Into the log and onto the network; the stored copy goes once the log has it. */
  async #send(raw: ChannelPort, channel: string, name: string, data: Uint8Array): Promise<void> {
    const sent = raw.publish(channel, data);
    sent.catch(() => undefined); // awaited below, after the log
    await this.hub.sync.keep(data);
    const s = this.hub.session;
    const tx = s.store.transaction();
    s.store.namespace(UNSENT_NS).delete(tx, name);
    // Not fsynced: a copy that survives a power cut is only published once more.
    await tx.commit({ sync: false });
    await sent;
  }
}
