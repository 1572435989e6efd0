/**
 * The plaintext of every application message a session sends: the user's data with a random
 * message id, inside the MLS encryption (so the network sees neither). The id is what makes
 * sending again safe: after a lost fork our messages are encrypted again on the winning branch,
 * and a member that already read them on the losing branch, or receives a duplicate, drops the
 * second copy. Ids are remembered per sender (by leaf signature key), so one member cannot
 * suppress another's messages by reusing their ids.
 */
import { decode, encode, fixedBytes, opaque, struct, uint16 } from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import { DeliveryError } from './errors.js';
import { hashKey } from './orderingRecord.js';

export const APPLICATION_FRAME_VERSION = 1;
export const MESSAGE_ID_LENGTH = 16;

/**
 * ```
 * struct {
 *     uint16 version = 1;
 *     opaque message_id[16];   // random, chosen by the sender, kept when sent again
 *     opaque data<V>;
 * } ApplicationFrame;
 * ```
 */
export interface ApplicationFrame {
  readonly messageId: Uint8Array;
  readonly data: Uint8Array;
}

const frameCodec: Codec<ApplicationFrame & { version: number }> = struct({
  version: uint16,
  messageId: fixedBytes(MESSAGE_ID_LENGTH),
  data: opaque,
});

export function encodeApplicationFrame(frame: ApplicationFrame): Uint8Array {
  return encode(frameCodec, { version: APPLICATION_FRAME_VERSION, ...frame });
}

export function decodeApplicationFrame(bytes: Uint8Array): ApplicationFrame {
  if (bytes.length >= 2 && ((bytes[0]! << 8) | bytes[1]!) !== APPLICATION_FRAME_VERSION) {
    throw new DeliveryError('unsupported_version', 'application frame version');
  }
  try {
    const { messageId, data } = decode(frameCodec, bytes);
    return { messageId, data };
  } catch (cause) {
    throw new DeliveryError('decode_failed', 'application frame does not parse', { cause });
  }
}

/** The ids seen lately, per sender; the oldest are forgotten past `limit`. */
export class SeenMessages {
  private readonly seen = new Set<string>();

  constructor(private readonly limit: number) {}

  /** Whether (sender, id) was seen before; remembers it if not. */
  check(senderKey: Uint8Array, messageId: Uint8Array): boolean {
    const key = `${hashKey(senderKey)}:${hashKey(messageId)}`;
    if (this.seen.has(key)) return true;
    this.seen.add(key);
    if (this.seen.size > this.limit) this.seen.delete(this.seen.values().next().value!);
    return false;
  }
}
