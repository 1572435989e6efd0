import { opaque, struct, uint16, vector } from '../codec/index.js';
import type { Codec } from '../codec/index.js';

/** RFC 9420 §13 and §17.3: the extension types this implementation knows by number. */
export const ExtensionType = {
  applicationId: 0x0001,
  ratchetTree: 0x0002,
  requiredCapabilities: 0x0003,
  externalPub: 0x0004,
  externalSenders: 0x0005,
} as const;

/** `struct { ExtensionType extension_type; opaque extension_data<V>; } Extension;` */
export interface Extension {
  readonly extensionType: number;
  readonly extensionData: Uint8Array;
}

export const extensionCodec: Codec<Extension> = struct<Extension>({
  extensionType: uint16,
  extensionData: opaque,
});

export const extensionsCodec: Codec<Extension[]> = vector(extensionCodec);
