/**
 * Everything a session sends goes out here: envelopes to the channel (each also reported as a
 * `published` event, for the ciphertext log), and our application messages with what delivery
 * needs to keep about them. A message's plaintext is kept while the epoch it was sent in is
 * inside the fork window, because a lost fork means encrypting it again on the winning branch;
 * it is wiped when that epoch leaves the window. Each message carries a random id inside the
 * encryption (`applicationFrame.ts`) that stays the same when it is sent again. After a lost fork the outbox holds new messages
 * ("quarantine") until the losing branch's removals are made again, so that a member removed
 * there never receives them. Messages also wait while MLS refuses to send because proposals of
 * the epoch are not yet committed; they go out at the next epoch.
 */
import { randomBytes } from '../crypto/random.js';
import type { Group } from '../mls/client/index.js';
import { MlsError } from '../mls/errors.js';
import { MESSAGE_ID_LENGTH, encodeApplicationFrame } from './applicationFrame.js';
import type { EnvelopeKind } from './envelope.js';
import { EnvelopeKind as Kind, encodeEnvelope } from './envelope.js';
import { hashKey } from './orderingRecord.js';
import type { ChannelPort } from './ports.js';
import type { MessageId, SessionEmitter } from './sessionEvents.js';

interface SentMessage {
  readonly id: MessageId;
  /** Random, inside the encryption; the same when sent again, so receivers drop copies. */
  readonly messageId: Uint8Array;
  readonly data: Uint8Array;
  /** Who was in the group when the user sent it (signature keys): nobody else may read it. */
  readonly audience: ReadonlySet<string>;
  /** The epoch it was (last) encrypted in. */
  epoch: bigint;
  /** Send again once we reach this epoch (see markAtRisk). */
  resendAt?: bigint | undefined;
  /** The envelope as last published (see republishEpoch). */
  envelope?: Uint8Array | undefined;
}

type MlsKind = typeof Kind.commit | typeof Kind.proposal | typeof Kind.application;

/** The envelope of an MLS message of `group`'s current epoch. */
export function mlsEnvelope(group: Group, kind: MlsKind, mlsMessage: Uint8Array): Uint8Array {
  return encodeEnvelope({ groupId: group.groupId, epoch: group.epoch, kind, mlsMessage });
}

export class Outbox {
  private sent: SentMessage[] = [];
  private held: SentMessage[] = [];
  private quarantined = false;
  private nextId: MessageId = 1;

  constructor(
    private readonly channels: ChannelPort,
    private readonly channel: string,
    private readonly events: SessionEmitter,
  ) {}

  get isQuarantined(): boolean {
    return this.quarantined;
  }

  /** Publishes an envelope; a failure to hand it to the network is a `sendFailed` event. */
  publish(envelope: Uint8Array, epoch: bigint, kind: EnvelopeKind, id?: MessageId): void {
    this.events.emit('published', { envelope, epoch, kind });
    this.channels.publish(this.channel, envelope).catch((error: unknown) => {
      this.events.emit('sendFailed', {
        id,
        error: error instanceof Error ? error : new Error(String(error)),
      });
    });
  }

  /** Sends application data now, or holds it while quarantined. */
  send(group: Group, data: Uint8Array): MessageId {
    const msg: SentMessage = {
      id: this.nextId++,
      messageId: randomBytes(MESSAGE_ID_LENGTH),
      data: data.slice(),
      audience: new Set(group.members().map((m) => hashKey(m.signatureKey))),
      epoch: group.epoch,
    };
    if (this.quarantined || !this.tryPublish(group, msg)) this.held.push(msg);
    return msg.id;
  }

  /** Forgets (and wipes) the messages sent before `epoch`: no fork can undo them any more. */
  settleBefore(epoch: bigint): void {
    for (const m of this.sent) if (m.epoch < epoch) m.data.fill(0);
    this.sent = this.sent.filter((m) => m.epoch >= epoch);
  }

  /**
   * A lost fork at `forkEpoch`: the messages we sent after it are held to be sent again, and, if
   * removals must be made again first, new ones are held too. Returns how many will be re-sent.
   */
  rollBack(forkEpoch: bigint, quarantine: boolean): number {
    const again = this.sent.filter((m) => m.epoch > forkEpoch);
    this.sent = this.sent.filter((m) => m.epoch <= forkEpoch);
    this.held = [...again, ...this.held];
    this.quarantined = quarantine;
    return again.length;
  }

  /** A new epoch: sends what was held, unless still quarantined. */
  release(group: Group, stillQuarantined: boolean): void {
    this.quarantined = stillQuarantined;
    if (stillQuarantined) return;
    const held = this.held;
    this.held = [];
    for (const m of held) if (!this.tryPublish(group, m)) this.held.push(m);
  }

  /**
   * We are at `epoch` and saw traffic of epoch `seen`: others had moved on while our messages of
   * this epoch went out, and may pass it (beyond MLS's kept past epochs) before those arrive.
   * They are sent again once we reach `seen` (the same id inside, so readers drop copies).
   */
  markAtRisk(epoch: bigint, seen: bigint): void {
    for (const m of this.sent) {
      if (m.epoch === epoch && (m.resendAt === undefined || m.resendAt < seen)) m.resendAt = seen;
    }
  }

  /** Sends again the messages marked at risk whose epoch we reached (see markAtRisk). */
  resendAtRisk(group: Group): void {
    const due = this.sent.filter((m) => m.resendAt !== undefined && group.epoch >= m.resendAt);
    if (due.length === 0 || this.quarantined) return;
    this.sent = this.sent.filter((m) => !due.includes(m));
    for (const m of due) {
      m.resendAt = undefined;
      if (!this.tryPublish(group, m)) this.held.push(m);
    }
  }

  /** Ids of messages a fork could still undo (sent within the window, or held). */
  unsettled(): MessageId[] {
    return [...this.sent, ...this.held].map((m) => m.id);
  }

  /**
   * We can no longer send (removed): every held message is reported as not delivered, and so is
   * every message waiting to be sent again because it went out at an epoch others had left.
   */
  failHeld(reason: 'removed' | 'rejoin_needed'): void {
    const atRisk = this.sent.filter((m) => m.resendAt !== undefined);
    this.sent = this.sent.filter((m) => m.resendAt === undefined);
    for (const m of [...atRisk, ...this.held]) {
      m.data.fill(0);
      this.events.emit('notDelivered', { id: m.id, reason });
    }
    this.held = [];
  }

  /**
   * Publishes again, as they were, our messages sent in `epoch`: the epoch a commit removing us
   * ended. Those who stay can still read that epoch (MLS keeps past epochs, and fork points), but
   * a message we sent while cut off reached nobody, and once removed we neither hear that nor
   * serve our log: this is its last chance (the same ciphertext; readers drop copies by id).
   */
  republishEpoch(epoch: bigint): void {
    for (const m of this.sent) {
      if (m.epoch === epoch && m.envelope !== undefined) {
        this.publish(m.envelope, epoch, Kind.application, m.id);
      }
    }
  }

  /**
   * This session is given up for another of the same group (we were re-added on a branch that
   * won): every message not yet beyond a fork's reach, sent or held, is reported not delivered.
   */
  failUnsettled(): void {
    for (const m of [...this.sent, ...this.held]) {
      m.data.fill(0);
      this.events.emit('notDelivered', { id: m.id, reason: 'rejoin_needed' });
    }
    this.sent = [];
    this.held = [];
  }

  wipe(): void {
    for (const m of [...this.sent, ...this.held]) m.data.fill(0);
    this.sent = [];
    this.held = [];
  }

  /**
   * True when the message is dealt with (sent, or reported not delivered). False when MLS
   * refuses to encrypt because proposals of this epoch are not committed yet
   * (RFC 9420 §12.4, `requireCommitBeforeSend`): the message then waits for the next epoch.
   */
  private tryPublish(group: Group, msg: SentMessage): boolean {
    // Held or sent again in a later epoch: if someone joined since the user sent it, it is not
    // sent (a member never reads what was sent before it joined) and the sender is told.
    if (group.members().some((m) => !msg.audience.has(hashKey(m.signatureKey)))) {
      msg.data.fill(0);
      this.events.emit('notDelivered', { id: msg.id, reason: 'membership_changed' });
      return true;
    }
    try {
      this.encryptAndPublish(group, msg);
      return true;
    } catch (e) {
      if (e instanceof MlsError && e.code === 'pending_proposals') return false;
      throw e;
    }
  }

  private encryptAndPublish(group: Group, msg: SentMessage): void {
    msg.epoch = group.epoch;
    const plaintext = encodeApplicationFrame({ messageId: msg.messageId, data: msg.data });
    const envelope = mlsEnvelope(group, Kind.application, group.send(plaintext));
    plaintext.fill(0);
    msg.envelope = envelope;
    this.sent.push(msg);
    this.publish(envelope, msg.epoch, Kind.application, msg.id);
  }
}
