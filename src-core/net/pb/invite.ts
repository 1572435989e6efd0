import {
  decodeMessage,
  encodeMessage,
  enumeration,
  MaxLengthError,
  message,
  streamMessage,
} from 'protons-runtime';
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc';
import type { Codec, DecodeOptions } from 'protons-runtime';
import type { Uint8ArrayList } from 'uint8arraylist';

export interface Invite {
  version: number;
  peerId: Uint8Array<ArrayBuffer>;
  addrs: Uint8Array<ArrayBuffer>[];
  secret: Uint8Array<ArrayBuffer>;
  expiresAt: bigint;
}

export namespace Invite {
  let _codec: Codec<Invite>;

  export const codec = (): Codec<Invite> => {
    if (_codec == null) {
      _codec = message<Invite>(
        (obj, w, opts = {}) => {
          if (opts.lengthDelimited !== false) {
            w.fork();
          }

          if (obj.version != null && obj.version !== 0) {
            w.uint32(8);
            w.uint32(obj.version);
          }

          if (obj.peerId != null && obj.peerId.byteLength > 0) {
            w.uint32(18);
            w.bytes(obj.peerId);
          }

          if (obj.addrs != null && obj.addrs.length > 0) {
            for (const value of obj.addrs) {
              w.uint32(26);
              w.bytes(value);
            }
          }

          if (obj.secret != null && obj.secret.byteLength > 0) {
            w.uint32(34);
            w.bytes(obj.secret);
          }

          if (obj.expiresAt != null && obj.expiresAt !== 0n) {
            w.uint32(40);
            w.uint64(obj.expiresAt);
          }

          if (opts.lengthDelimited !== false) {
            w.ldelim();
          }
        },
        (reader, length, opts = {}) => {
          const obj: any = {
            version: 0,
            peerId: uint8ArrayAlloc(0),
            addrs: [],
            secret: uint8ArrayAlloc(0),
            expiresAt: 0n,
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
                obj.peerId = reader.bytes();
                break;
              }
              case 3: {
                if (opts.limits?.addrs != null && obj.addrs.length === opts.limits.addrs) {
                  throw new MaxLengthError(
                    'Decode error - repeated field "addrs" had too many elements',
                  );
                }

                obj.addrs.push(reader.bytes());
                break;
              }
              case 4: {
                obj.secret = reader.bytes();
                break;
              }
              case 5: {
                obj.expiresAt = reader.uint64();
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
          const obj = {
            addrs: 0,
          };

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
                  field: `${prefix}.peerId`,
                  value: reader.bytes(),
                };
                break;
              }
              case 3: {
                if (opts.limits?.addrs != null && obj.addrs === opts.limits.addrs) {
                  throw new MaxLengthError(
                    'Streaming decode error - repeated field "addrs" had too many elements',
                  );
                }

                yield {
                  field: `${prefix}.addrs[]`,
                  index: obj.addrs,
                  value: reader.bytes(),
                };

                obj.addrs++;

                break;
              }
              case 4: {
                yield {
                  field: `${prefix}.secret`,
                  value: reader.bytes(),
                };
                break;
              }
              case 5: {
                yield {
                  field: `${prefix}.expiresAt`,
                  value: reader.uint64(),
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

  export interface InviteVersionFieldEvent {
    field: '$.version';
    value: number;
  }

  export interface InvitePeerIdFieldEvent {
    field: '$.peerId';
    value: Uint8Array<ArrayBuffer>;
  }

  export interface InviteAddrsFieldEvent {
    field: '$.addrs[]';
    index: number;
    value: Uint8Array<ArrayBuffer>;
  }

  export interface InviteSecretFieldEvent {
    field: '$.secret';
    value: Uint8Array<ArrayBuffer>;
  }

  export interface InviteExpiresAtFieldEvent {
    field: '$.expiresAt';
    value: bigint;
  }

  export function encode(obj: Partial<Invite>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Invite.codec());
  }

  export function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Invite>): Invite {
    return decodeMessage(buf, Invite.codec(), opts);
  }

  export function stream(
    buf: Uint8Array | Uint8ArrayList,
    opts?: DecodeOptions<Invite>,
  ): Generator<
    | InviteVersionFieldEvent
    | InvitePeerIdFieldEvent
    | InviteAddrsFieldEvent
    | InviteSecretFieldEvent
    | InviteExpiresAtFieldEvent
  > {
    return streamMessage(buf, Invite.codec(), opts);
  }
}

export interface RedeemRequest {
  version: number;
  proof: Uint8Array<ArrayBuffer>;
  payload: Uint8Array<ArrayBuffer>;
  addrs: Uint8Array<ArrayBuffer>[];
}

export namespace RedeemRequest {
  let _codec: Codec<RedeemRequest>;

  export const codec = (): Codec<RedeemRequest> => {
    if (_codec == null) {
      _codec = message<RedeemRequest>(
        (obj, w, opts = {}) => {
          if (opts.lengthDelimited !== false) {
            w.fork();
          }

          if (obj.version != null && obj.version !== 0) {
            w.uint32(8);
            w.uint32(obj.version);
          }

          if (obj.proof != null && obj.proof.byteLength > 0) {
            w.uint32(18);
            w.bytes(obj.proof);
          }

          if (obj.payload != null && obj.payload.byteLength > 0) {
            w.uint32(26);
            w.bytes(obj.payload);
          }

          if (obj.addrs != null && obj.addrs.length > 0) {
            for (const value of obj.addrs) {
              w.uint32(34);
              w.bytes(value);
            }
          }

          if (opts.lengthDelimited !== false) {
            w.ldelim();
          }
        },
        (reader, length, opts = {}) => {
          const obj: any = {
            version: 0,
            proof: uint8ArrayAlloc(0),
            payload: uint8ArrayAlloc(0),
            addrs: [],
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
                obj.proof = reader.bytes();
                break;
              }
              case 3: {
                obj.payload = reader.bytes();
                break;
              }
              case 4: {
                if (opts.limits?.addrs != null && obj.addrs.length === opts.limits.addrs) {
                  throw new MaxLengthError(
                    'Decode error - repeated field "addrs" had too many elements',
                  );
                }

                obj.addrs.push(reader.bytes());
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
          const obj = {
            addrs: 0,
          };

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
                  field: `${prefix}.proof`,
                  value: reader.bytes(),
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
              case 4: {
                if (opts.limits?.addrs != null && obj.addrs === opts.limits.addrs) {
                  throw new MaxLengthError(
                    'Streaming decode error - repeated field "addrs" had too many elements',
                  );
                }

                yield {
                  field: `${prefix}.addrs[]`,
                  index: obj.addrs,
                  value: reader.bytes(),
                };

                obj.addrs++;

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

  export interface RedeemRequestVersionFieldEvent {
    field: '$.version';
    value: number;
  }

  export interface RedeemRequestProofFieldEvent {
    field: '$.proof';
    value: Uint8Array<ArrayBuffer>;
  }

  export interface RedeemRequestPayloadFieldEvent {
    field: '$.payload';
    value: Uint8Array<ArrayBuffer>;
  }

  export interface RedeemRequestAddrsFieldEvent {
    field: '$.addrs[]';
    index: number;
    value: Uint8Array<ArrayBuffer>;
  }

  export function encode(obj: Partial<RedeemRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, RedeemRequest.codec());
  }

  export function decode(
    buf: Uint8Array | Uint8ArrayList,
    opts?: DecodeOptions<RedeemRequest>,
  ): RedeemRequest {
    return decodeMessage(buf, RedeemRequest.codec(), opts);
  }

  export function stream(
    buf: Uint8Array | Uint8ArrayList,
    opts?: DecodeOptions<RedeemRequest>,
  ): Generator<
    | RedeemRequestVersionFieldEvent
    | RedeemRequestProofFieldEvent
    | RedeemRequestPayloadFieldEvent
    | RedeemRequestAddrsFieldEvent
  > {
    return streamMessage(buf, RedeemRequest.codec(), opts);
  }
}

export interface RedeemResponse {
  version: number;
  status: RedeemResponse.Status;
  payload: Uint8Array<ArrayBuffer>;
}

export namespace RedeemResponse {
  export enum Status {
    ACCEPTED = 'ACCEPTED',
    REJECTED = 'REJECTED',
  }

  enum __StatusValues {
    ACCEPTED = 0,
    REJECTED = 1,
  }

  export namespace Status {
    export const codec = (): Codec<Status> => {
      return enumeration<Status>(__StatusValues);
    };
  }

  let _codec: Codec<RedeemResponse>;

  export const codec = (): Codec<RedeemResponse> => {
    if (_codec == null) {
      _codec = message<RedeemResponse>(
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
            RedeemResponse.Status.codec().encode(obj.status, w);
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
            status: Status.ACCEPTED,
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
                obj.status = RedeemResponse.Status.codec().decode(reader);
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
                  field: `${prefix}.status`,
                  value: RedeemResponse.Status.codec().decode(reader),
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

  export interface RedeemResponseVersionFieldEvent {
    field: '$.version';
    value: number;
  }

  export interface RedeemResponseStatusFieldEvent {
    field: '$.status';
    value: RedeemResponse.Status;
  }

  export interface RedeemResponsePayloadFieldEvent {
    field: '$.payload';
    value: Uint8Array<ArrayBuffer>;
  }

  export function encode(obj: Partial<RedeemResponse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, RedeemResponse.codec());
  }

  export function decode(
    buf: Uint8Array | Uint8ArrayList,
    opts?: DecodeOptions<RedeemResponse>,
  ): RedeemResponse {
    return decodeMessage(buf, RedeemResponse.codec(), opts);
  }

  export function stream(
    buf: Uint8Array | Uint8ArrayList,
    opts?: DecodeOptions<RedeemResponse>,
  ): Generator<
    | RedeemResponseVersionFieldEvent
    | RedeemResponseStatusFieldEvent
    | RedeemResponsePayloadFieldEvent
  > {
    return streamMessage(buf, RedeemResponse.codec(), opts);
  }
}
