import { decodeMessage, encodeMessage, enumeration, message, streamMessage } from 'protons-runtime';
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc';
import type { Codec, DecodeOptions } from 'protons-runtime';
import type { Uint8ArrayList } from 'uint8arraylist';

export interface RequestHead {
  version: number;
  body: Uint8Array<ArrayBuffer>;
  streamed: boolean;
}

export namespace RequestHead {
  let _codec: Codec<RequestHead>;

  export const codec = (): Codec<RequestHead> => {
    if (_codec == null) {
      _codec = message<RequestHead>(
        (obj, w, opts = {}) => {
          if (opts.lengthDelimited !== false) {
            w.fork();
          }

          if (obj.version != null && obj.version !== 0) {
            w.uint32(8);
            w.uint32(obj.version);
          }

          if (obj.body != null && obj.body.byteLength > 0) {
            w.uint32(18);
            w.bytes(obj.body);
          }

          if (obj.streamed != null && obj.streamed !== false) {
            w.uint32(24);
            w.bool(obj.streamed);
          }

          if (opts.lengthDelimited !== false) {
            w.ldelim();
          }
        },
        (reader, length, opts = {}) => {
          const obj: any = {
            version: 0,
            body: uint8ArrayAlloc(0),
            streamed: false,
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
                obj.body = reader.bytes();
                break;
              }
              case 3: {
                obj.streamed = reader.bool();
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
                  field: `${prefix}.body`,
                  value: reader.bytes(),
                };
                break;
              }
              case 3: {
                yield {
                  field: `${prefix}.streamed`,
                  value: reader.bool(),
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

  export interface RequestHeadVersionFieldEvent {
    field: '$.version';
    value: number;
  }

  export interface RequestHeadBodyFieldEvent {
    field: '$.body';
    value: Uint8Array<ArrayBuffer>;
  }

  export interface RequestHeadStreamedFieldEvent {
    field: '$.streamed';
    value: boolean;
  }

  export function encode(obj: Partial<RequestHead>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, RequestHead.codec());
  }

  export function decode(
    buf: Uint8Array | Uint8ArrayList,
    opts?: DecodeOptions<RequestHead>,
  ): RequestHead {
    return decodeMessage(buf, RequestHead.codec(), opts);
  }

  export function stream(
    buf: Uint8Array | Uint8ArrayList,
    opts?: DecodeOptions<RequestHead>,
  ): Generator<
    RequestHeadVersionFieldEvent | RequestHeadBodyFieldEvent | RequestHeadStreamedFieldEvent
  > {
    return streamMessage(buf, RequestHead.codec(), opts);
  }
}

export interface ResponseHead {
  version: number;
  status: ResponseHead.Status;
  body: Uint8Array<ArrayBuffer>;
  streamed: boolean;
  errorCode: string;
}

export namespace ResponseHead {
  export enum Status {
    OK = 'OK',
    ERROR = 'ERROR',
    BAD_REQUEST = 'BAD_REQUEST',
    TOO_LARGE = 'TOO_LARGE',
    UNSUPPORTED_VERSION = 'UNSUPPORTED_VERSION',
    BUSY = 'BUSY',
  }

  enum __StatusValues {
    OK = 0,
    ERROR = 1,
    BAD_REQUEST = 2,
    TOO_LARGE = 3,
    UNSUPPORTED_VERSION = 4,
    BUSY = 5,
  }

  export namespace Status {
    export const codec = (): Codec<Status> => {
      return enumeration<Status>(__StatusValues);
    };
  }

  let _codec: Codec<ResponseHead>;

  export const codec = (): Codec<ResponseHead> => {
    if (_codec == null) {
      _codec = message<ResponseHead>(
        (obj, w, opts = {}) => {
          if (opts.lengthDelimited !== false) {
            w.fork();
          }

          if (obj.version != null && obj.version !== 0) {
            w.uint32(8);
            w.uint32(obj.version);
          }

          if (obj.status != null && __StatusValues[obj.status] !== 0) {
            w.uint32(16);
            ResponseHead.Status.codec().encode(obj.status, w);
          }

          if (obj.body != null && obj.body.byteLength > 0) {
            w.uint32(26);
            w.bytes(obj.body);
          }

          if (obj.streamed != null && obj.streamed !== false) {
            w.uint32(32);
            w.bool(obj.streamed);
          }

          if (obj.errorCode != null && obj.errorCode !== '') {
            w.uint32(42);
            w.string(obj.errorCode);
          }

          if (opts.lengthDelimited !== false) {
            w.ldelim();
          }
        },
        (reader, length, opts = {}) => {
          const obj: any = {
            version: 0,
            status: Status.OK,
            body: uint8ArrayAlloc(0),
            streamed: false,
            errorCode: '',
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
                obj.status = ResponseHead.Status.codec().decode(reader);
                break;
              }
              case 3: {
                obj.body = reader.bytes();
                break;
              }
              case 4: {
                obj.streamed = reader.bool();
                break;
              }
              case 5: {
                obj.errorCode = reader.string();
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
                  field: `${prefix}.status`,
                  value: ResponseHead.Status.codec().decode(reader),
                };
                break;
              }
              case 3: {
                yield {
                  field: `${prefix}.body`,
                  value: reader.bytes(),
                };
                break;
              }
              case 4: {
                yield {
                  field: `${prefix}.streamed`,
                  value: reader.bool(),
                };
                break;
              }
              case 5: {
                yield {
                  field: `${prefix}.errorCode`,
                  value: reader.string(),
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

  export interface ResponseHeadVersionFieldEvent {
    field: '$.version';
    value: number;
  }

  export interface ResponseHeadStatusFieldEvent {
    field: '$.status';
    value: ResponseHead.Status;
  }

  export interface ResponseHeadBodyFieldEvent {
    field: '$.body';
    value: Uint8Array<ArrayBuffer>;
  }

  export interface ResponseHeadStreamedFieldEvent {
    field: '$.streamed';
    value: boolean;
  }

  export interface ResponseHeadErrorCodeFieldEvent {
    field: '$.errorCode';
    value: string;
  }

  export function encode(obj: Partial<ResponseHead>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ResponseHead.codec());
  }

  export function decode(
    buf: Uint8Array | Uint8ArrayList,
    opts?: DecodeOptions<ResponseHead>,
  ): ResponseHead {
    return decodeMessage(buf, ResponseHead.codec(), opts);
  }

  export function stream(
    buf: Uint8Array | Uint8ArrayList,
    opts?: DecodeOptions<ResponseHead>,
  ): Generator<
    | ResponseHeadVersionFieldEvent
    | ResponseHeadStatusFieldEvent
    | ResponseHeadBodyFieldEvent
    | ResponseHeadStreamedFieldEvent
    | ResponseHeadErrorCodeFieldEvent
  > {
    return streamMessage(buf, ResponseHead.codec(), opts);
  }
}

export interface Chunk {
  data: Uint8Array<ArrayBuffer>;
  last: boolean;
}

export namespace Chunk {
  let _codec: Codec<Chunk>;

  export const codec = (): Codec<Chunk> => {
    if (_codec == null) {
      _codec = message<Chunk>(
        (obj, w, opts = {}) => {
          if (opts.lengthDelimited !== false) {
            w.fork();
          }

          if (obj.data != null && obj.data.byteLength > 0) {
            w.uint32(10);
            w.bytes(obj.data);
          }

          if (obj.last != null && obj.last !== false) {
            w.uint32(16);
            w.bool(obj.last);
          }

          if (opts.lengthDelimited !== false) {
            w.ldelim();
          }
        },
        (reader, length, opts = {}) => {
          const obj: any = {
            data: uint8ArrayAlloc(0),
            last: false,
          };

          const end = length == null ? reader.len : reader.pos + length;

          while (reader.pos < end) {
            const tag = reader.uint32();

            switch (tag >>> 3) {
              case 1: {
                obj.data = reader.bytes();
                break;
              }
              case 2: {
                obj.last = reader.bool();
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
                  field: `${prefix}.data`,
                  value: reader.bytes(),
                };
                break;
              }
              case 2: {
                yield {
                  field: `${prefix}.last`,
                  value: reader.bool(),
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

  export interface ChunkDataFieldEvent {
    field: '$.data';
    value: Uint8Array<ArrayBuffer>;
  }

  export interface ChunkLastFieldEvent {
    field: '$.last';
    value: boolean;
  }

  export function encode(obj: Partial<Chunk>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Chunk.codec());
  }

  export function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Chunk>): Chunk {
    return decodeMessage(buf, Chunk.codec(), opts);
  }

  export function stream(
    buf: Uint8Array | Uint8ArrayList,
    opts?: DecodeOptions<Chunk>,
  ): Generator<ChunkDataFieldEvent | ChunkLastFieldEvent> {
    return streamMessage(buf, Chunk.codec(), opts);
  }
}
