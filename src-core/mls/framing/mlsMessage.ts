import { CodecError, Reader, Writer, uint16 } from '../../codec/index.js';
import type { Codec } from '../../codec/index.js';
import { MlsError } from '../errors.js';
import { PROTOCOL_VERSION_MLS10 } from '../groupContext.js';
import type { GroupInfo } from '../groupInfo.js';
import { groupInfoCodec } from '../groupInfo.js';
import type { KeyPackage } from '../keyPackage.js';
import { keyPackageCodec } from '../keyPackage.js';
import type { Welcome } from '../welcome.js';
import { welcomeCodec } from '../welcome.js';
import { WireFormat } from './framedContent.js';
import type { PrivateMessage } from './privateMessage.js';
import { privateMessageCodec } from './privateMessage.js';
import type { PublicMessage } from './publicMessage.js';
import { publicMessageCodec } from './publicMessage.js';

/**
 * ```
 * struct {
 *     ProtocolVersion version = mls10;
 *     WireFormat wire_format;
 *     select (MLSMessage.wire_format) {
 *         case mls_public_message:
 *             PublicMessage public_message;
 *         case mls_private_message:
 *             PrivateMessage private_message;
 *         case mls_welcome:
 *             Welcome welcome;
 *         case mls_group_info:
 *             GroupInfo group_info;
 *         case mls_key_package:
 *             KeyPackage key_package;
 *     };
 * } MLSMessage;
 * ```
 */
export type FramedMlsMessage =
  | {
      readonly version: typeof PROTOCOL_VERSION_MLS10;
      readonly wireFormat: typeof WireFormat.publicMessage;
      readonly publicMessage: PublicMessage;
    }
  | {
      readonly version: typeof PROTOCOL_VERSION_MLS10;
      readonly wireFormat: typeof WireFormat.privateMessage;
      readonly privateMessage: PrivateMessage;
    };

export type MlsMessage =
  | FramedMlsMessage
  | {
      readonly version: typeof PROTOCOL_VERSION_MLS10;
      readonly wireFormat: typeof WireFormat.welcome;
      readonly welcome: Welcome;
    }
  | {
      readonly version: typeof PROTOCOL_VERSION_MLS10;
      readonly wireFormat: typeof WireFormat.groupInfo;
      readonly groupInfo: GroupInfo;
    }
  | {
      readonly version: typeof PROTOCOL_VERSION_MLS10;
      readonly wireFormat: typeof WireFormat.keyPackage;
      readonly keyPackage: KeyPackage;
    };

type Body = {
  [W in MlsMessage['wireFormat']]: Codec<
    Omit<Extract<MlsMessage, { wireFormat: W }>, 'version' | 'wireFormat'>
  >;
};

const bodies: Body = {
  [WireFormat.publicMessage]: {
    encode: (w, v) => publicMessageCodec.encode(w, v.publicMessage),
    decode: (r) => ({ publicMessage: publicMessageCodec.decode(r) }),
  },
  [WireFormat.privateMessage]: {
    encode: (w, v) => privateMessageCodec.encode(w, v.privateMessage),
    decode: (r) => ({ privateMessage: privateMessageCodec.decode(r) }),
  },
  [WireFormat.welcome]: {
    encode: (w, v) => welcomeCodec.encode(w, v.welcome),
    decode: (r) => ({ welcome: welcomeCodec.decode(r) }),
  },
  [WireFormat.groupInfo]: {
    encode: (w, v) => groupInfoCodec.encode(w, v.groupInfo),
    decode: (r) => ({ groupInfo: groupInfoCodec.decode(r) }),
  },
  [WireFormat.keyPackage]: {
    encode: (w, v) => keyPackageCodec.encode(w, v.keyPackage),
    decode: (r) => ({ keyPackage: keyPackageCodec.decode(r) }),
  },
};

function bodyCodec(wireFormat: number): Codec<object> | undefined {
  return (bodies as Record<number, Codec<object> | undefined>)[wireFormat];
}

/**
 * The MLSMessage codec. Decoding through it reports problems as CodecError; use
 * `decodeMlsMessage` on bytes from the network to get MlsError codes that say what was wrong.
 */
export const mlsMessageCodec: Codec<MlsMessage> = {
  encode(w, v) {
    const body = bodyCodec(v.wireFormat);
    if (body === undefined)
      throw new CodecError('invalid_value', `no encoder for wire format ${v.wireFormat}`);
    uint16.encode(w, PROTOCOL_VERSION_MLS10);
    uint16.encode(w, v.wireFormat);
    body.encode(w, v);
  },
  decode(r) {
    const version = uint16.decode(r);
    if (version !== PROTOCOL_VERSION_MLS10)
      throw new CodecError('invalid_value', `protocol version ${version}`);
    const wireFormat = uint16.decode(r);
    const body = bodyCodec(wireFormat);
    if (body === undefined)
      throw new CodecError('invalid_value', `unknown wire format ${wireFormat}`);
    return { version, wireFormat, ...body.decode(r) } as MlsMessage;
  },
};

export function encodeMlsMessage(message: MlsMessage): Uint8Array {
  const w = new Writer();
  mlsMessageCodec.encode(w, message);
  return w.finish();
}

/**
 * Decodes an MLSMessage from untrusted bytes. Throws MlsError with code
 * 'unsupported_version' (not mls10), 'invalid_wire_format' (a wire format this build does not
 * handle) or 'decode_failed' (anything else, including trailing bytes). Never anything else.
 */
export function decodeMlsMessage(bytes: Uint8Array): MlsMessage {
  const r = new Reader(bytes);
  try {
    if (r.remaining < 4) throw new CodecError('truncated', 'MLSMessage header');
    const version = uint16.decode(r);
    if (version !== PROTOCOL_VERSION_MLS10) {
      throw new MlsError('unsupported_version', `protocol version ${version}`);
    }
    const wireFormat = uint16.decode(r);
    const body = bodyCodec(wireFormat);
    if (body === undefined) throw new MlsError('invalid_wire_format', `wire format ${wireFormat}`);
    const decoded = body.decode(r);
    r.expectEnd();
    return { version, wireFormat, ...decoded } as MlsMessage;
  } catch (e) {
    if (e instanceof MlsError) throw e;
    throw new MlsError('decode_failed', 'malformed MLSMessage', { cause: e });
  }
}
