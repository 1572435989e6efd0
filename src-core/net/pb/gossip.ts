import { decodeMessage, encodeMessage, message, streamMessage } from 'protons-runtime';
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc';
import type { Codec, DecodeOptions } from 'protons-runtime';
import type { Uint8ArrayList } from 'uint8arraylist';

export interface GossipEnvelope {
  version: number;
  kind: number;
  payload: Uint8Array<ArrayBuffer>;
}

export namespace GossipEnvelope {
  let _codec: Codec<GossipEnvelope>;

  export const codec = (): Codec<GossipEnvelope> => {
    if (_codec == null) {
      _codec = message<GossipEnvelope>(
        (obj, w, opts = {}) => {
          if (opts.lengthDelimited !== false) {
            w.fork();
          }

          if (obj.version != null && obj.version !== 0) {
            w.uint32(8);
            w.uint32(obj.version);
          }

          if (obj.kind != null && obj.kind !== 0) {
            w.uint32(16);
            w.uint32(obj.kind);
          }

          if (obj.payload != null && obj.payload.byteLength > 0) {
            w.uint32(26);
            w.bytes(obj.payload);
          }

          if (opts.lengthDelimited !== false) {
            w.ldelim();
          }
        },
        (reader, length, opts = {}) => {
          const obj: any = {
            version: 0,
            kind: 0,
            payload: uint8ArrayAlloc(0),
          };

          const end = length == null ? reader.len : reader.pos + length;

          while (reader.pos < end) {
            const tag = reader.uint32();

            switch (tag >>> 3) {
              case 1: {
                obj.version = reader.uint32();
                break;
              }
              case 2: {
                obj.kind = reader.uint32();
                break;
              }
              case 3: {
                obj.payload = reader.bytes();
                break;
              }
              default: {
                reader.skipType(tag & 7);
                break;
              }
            }
          }

          return obj;
        },
        function* (reader, length, prefix, opts = {}) {
          const end = length == null ? reader.len : reader.pos + length;

          while (reader.pos < end) {
            const tag = reader.uint32();

            switch (tag >>> 3) {
              case 1: {
                yield {
                  field: `${prefix}.version`,
                  value: reader.uint32(),
                };
                break;
              }
              case 2: {
                yield {
                  field: `${prefix}.kind`,
                  value: reader.uint32(),
                };
                break;
              }
              case 3: {
                yield {
                  field: `${prefix}.payload`,
                  value: reader.bytes(),
                };
                break;
              }
              default: {
                reader.skipType(tag & 7);
                break;
              }
            }
          }
        },
      );
    }

    return _codec;
  };

  export interface GossipEnvelopeVersionFieldEvent {
    field: '$.version';
    value: number;
  }

  export interface GossipEnvelopeKindFieldEvent {
    field: '$.kind';
    value: number;
  }

  export interface GossipEnvelopePayloadFieldEvent {
    field: '$.payload';
    value: Uint8Array<ArrayBuffer>;
  }

  export function encode(obj: Partial<GossipEnvelope>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, GossipEnvelope.codec());
  }

  export function decode(
    buf: Uint8Array | Uint8ArrayList,
    opts?: DecodeOptions<GossipEnvelope>,
  ): GossipEnvelope {
    return decodeMessage(buf, GossipEnvelope.codec(), opts);
  }

  export function stream(
    buf: Uint8Array | Uint8ArrayList,
    opts?: DecodeOptions<GossipEnvelope>,
  ): Generator<
    GossipEnvelopeVersionFieldEvent | GossipEnvelopeKindFieldEvent | GossipEnvelopePayloadFieldEvent
  > {
    return streamMessage(buf, GossipEnvelope.codec(), opts);
  }
}
