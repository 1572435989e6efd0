/**
 * What travels on a group channel: a versioned, TLS-encoded envelope around an MLS wire-format
 * message (commit, proposal, application) or one of the sequencer's own signed structures
 * (ordering record, heartbeat). The envelope's group id and epoch let a member route a message
 * (buffer it for a later epoch, hand it to a kept fork point) before any cryptography; they are
 * checked against the MLS message they carry, and MLS itself authenticates the content.
 */
import {
  decode,
  encode,
  enumOf,
  opaque,
  struct,
  uint16,
  uint64,
  uint8,
  variant,
} from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import { ContentType, WireFormat } from '../mls/framing/framedContent.js';
import { decodeMlsMessage } from '../mls/framing/mlsMessage.js';
import { DeliveryError } from './errors.js';
import type { Heartbeat } from './heartbeat.js';
import { heartbeatCodec } from './heartbeat.js';
import type { OrderingRecord } from './orderingRecord.js';
import { bytesEqual, orderingRecordCodec } from './orderingRecord.js';

export const ENVELOPE_VERSION = 1;

/** `enum { commit(1), ordering_record(2), proposal(3), application(4), heartbeat(5) }` */
export const EnvelopeKind = {
  commit: 1,
  orderingRecord: 2,
  proposal: 3,
  application: 4,
  heartbeat: 5,
} as const;
export type EnvelopeKind = (typeof EnvelopeKind)[keyof typeof EnvelopeKind];

/**
 * ```
 * struct {
 *     uint16 version = 1;
 *     opaque group_id<V>;
 *     uint64 epoch;
 *     EnvelopeKind kind;
 *     select (kind) {
 *         case commit:
 *         case proposal:
 *         case application:    opaque mls_message<V>;   // an MLSMessage
 *         case ordering_record: OrderingRecord record;
 *         case heartbeat:       Heartbeat heartbeat;
 *     };
 * } GroupEnvelope;
 * ```
 */
export type EnvelopeBody =
  | { readonly kind: typeof EnvelopeKind.commit; readonly mlsMessage: Uint8Array }
  | { readonly kind: typeof EnvelopeKind.proposal; readonly mlsMessage: Uint8Array }
  | { readonly kind: typeof EnvelopeKind.application; readonly mlsMessage: Uint8Array }
  | { readonly kind: typeof EnvelopeKind.orderingRecord; readonly record: OrderingRecord }
  | { readonly kind: typeof EnvelopeKind.heartbeat; readonly heartbeat: Heartbeat };

export type GroupEnvelope = {
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
} & EnvelopeBody;

const kindCodec = enumOf<EnvelopeKind>(uint8, Object.values(EnvelopeKind), 'envelope kind');
const mlsBody = struct<{ mlsMessage: Uint8Array }>({ mlsMessage: opaque });

const bodyCodec: Codec<EnvelopeBody> = variant<EnvelopeKind, EnvelopeBody, 'kind'>(
  'kind',
  kindCodec,
  {
    [EnvelopeKind.commit]: mlsBody,
    [EnvelopeKind.proposal]: mlsBody,
    [EnvelopeKind.application]: mlsBody,
    [EnvelopeKind.orderingRecord]: struct<{ record: OrderingRecord }>({
      record: orderingRecordCodec,
    }),
    [EnvelopeKind.heartbeat]: struct<{ heartbeat: Heartbeat }>({ heartbeat: heartbeatCodec }),
  },
);

const headCodec = struct<{ version: number; groupId: Uint8Array; epoch: bigint }>({
  version: uint16,
  groupId: opaque,
  epoch: uint64,
});

const envelopeCodec: Codec<GroupEnvelope> = {
  encode(w, v) {
    headCodec.encode(w, { version: ENVELOPE_VERSION, groupId: v.groupId, epoch: v.epoch });
    bodyCodec.encode(w, v);
  },
  decode(r) {
    uint16.decode(r); // the version, checked before decoding (decodeEnvelope)
    const groupId = opaque.decode(r);
    const epoch = uint64.decode(r);
    return { groupId, epoch, ...bodyCodec.decode(r) };
  },
};

export function encodeEnvelope(envelope: GroupEnvelope): Uint8Array {
  return encode(envelopeCodec, envelope);
}

const EXPECTED_CONTENT: Partial<Record<EnvelopeKind, ContentType>> = {
  [EnvelopeKind.commit]: ContentType.commit,
  [EnvelopeKind.proposal]: ContentType.proposal,
  [EnvelopeKind.application]: ContentType.application,
};

/**
 * Parses an envelope and checks it is self-consistent: the MLS message it carries is a
 * Public/PrivateMessage of the envelope's group, epoch and kind; a record or heartbeat repeats the
 * envelope's group and epoch. Throws DeliveryError ('decode_failed', 'unsupported_version',
 * 'wrong_kind', 'wrong_group', 'wrong_epoch').
 */
export function decodeEnvelope(bytes: Uint8Array): GroupEnvelope {
  const version = bytes.length >= 2 ? (bytes[0]! << 8) | bytes[1]! : undefined;
  if (version !== undefined && version !== ENVELOPE_VERSION) {
    // Before anything else is parsed: a later format may differ after the version.
    throw new DeliveryError('unsupported_version', `envelope version ${version}`);
  }
  let env: GroupEnvelope;
  try {
    env = decode(envelopeCodec, bytes);
  } catch (cause) {
    throw new DeliveryError('decode_failed', 'envelope does not parse', { cause });
  }
  checkInner(env);
  return env;
}

function checkInner(env: GroupEnvelope): void {
  let groupId: Uint8Array;
  let epoch: bigint;
  switch (env.kind) {
    case EnvelopeKind.orderingRecord:
      ({ groupId, epoch } = env.record);
      break;
    case EnvelopeKind.heartbeat:
      ({ groupId, epoch } = env.heartbeat);
      break;
    default: {
      let m;
      try {
        m = decodeMlsMessage(env.mlsMessage);
      } catch (cause) {
        throw new DeliveryError('decode_failed', 'carried MLS message does not parse', { cause });
      }
      let contentType: ContentType;
      if (m.wireFormat === WireFormat.privateMessage) {
        ({ groupId, epoch, contentType } = m.privateMessage);
      } else if (m.wireFormat === WireFormat.publicMessage) {
        ({ groupId, epoch, contentType } = m.publicMessage.content);
      } else {
        throw new DeliveryError('wrong_kind', `wire format ${m.wireFormat} on a group channel`);
      }
      if (contentType !== EXPECTED_CONTENT[env.kind]) {
        throw new DeliveryError('wrong_kind', `content type ${contentType} in kind ${env.kind}`);
      }
    }
  }
  if (!bytesEqual(groupId, env.groupId)) {
    throw new DeliveryError('wrong_group', 'envelope and content name different groups');
  }
  if (epoch !== env.epoch) {
    throw new DeliveryError('wrong_epoch', `envelope epoch ${env.epoch}, content ${epoch}`);
  }
}
