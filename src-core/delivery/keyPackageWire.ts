/**
 * The wire format of the key-package directory ('keypackages' request, keyPackageDirectory.ts):
 * requests, responses and the spent notice, with their codecs.
 */
import type { Codec } from '../codec/index.js';
import {
  bool,
  constant,
  decode,
  opaque,
  struct,
  uint16,
  uint8,
  variant,
  vector,
} from '../codec/index.js';
import { DeliveryError } from './errors.js';
import type { DeliveryErrorCode } from './errors.js';

export const KEYPACKAGES_PROTOCOL = 'keypackages';
export const KEYPACKAGES_VERSION = 1;
export const SPENT_NOTICE_LABEL = 'Parley SpentKeyPackages';

export const KpType = { deposit: 1, fetch: 2, spent: 3, status: 4 } as const;
export type KpType = (typeof KpType)[keyof typeof KpType];

/**
 * ```
 * struct {
 *     opaque owner<V>;        // the owner's leaf signature public key
 *     opaque refs<V><V>;      // KeyPackageRefs now spent
 *     opaque signature<V>;    // SignWithLabel(owner, "Parley SpentKeyPackages", owner || refs)
 * } SpentNotice;
 * ```
 */
export interface SpentNotice {
  readonly owner: Uint8Array;
  readonly refs: Uint8Array[];
  readonly signature: Uint8Array;
}

export const spentTbsCodec = struct<Omit<SpentNotice, 'signature'>>({
  owner: opaque,
  refs: vector(opaque),
});
export const spentNoticeCodec = struct<SpentNotice>({
  owner: opaque,
  refs: vector(opaque),
  signature: opaque,
});

/**
 * ```
 * struct {
 *     uint8 version = 1;
 *     KpType type;           // deposit(1), fetch(2), spent(3), status(4)
 *     select (type) {
 *         case deposit: opaque key_packages<V><V>;   // MLSMessages (mls_key_package)
 *         case fetch:   opaque owner<V>;
 *         case spent:   SpentNotice notice;
 *         case status:  opaque owner<V>;
 *     };
 * } KeyPackageRequest;
 * ```
 */
export type KpRequest =
  | { readonly type: typeof KpType.deposit; readonly keyPackages: Uint8Array[] }
  | { readonly type: typeof KpType.fetch; readonly owner: Uint8Array }
  | { readonly type: typeof KpType.spent; readonly notice: SpentNotice }
  | { readonly type: typeof KpType.status; readonly owner: Uint8Array };

/**
 * ```
 * struct {
 *     uint8 version = 1;
 *     KpType type;
 *     select (type) {
 *         case deposit: uint16 accepted; uint16 one_time_held;
 *         case fetch:   opaque key_package<V>; bool last_resort; uint16 one_time_left;
 *         case spent:   uint16 dropped;
 *         case status:  uint16 one_time_held; bool last_resort_held;
 *     };
 * } KeyPackageResponse;
 * ```
 */
export type KpResponse =
  | {
      readonly type: typeof KpType.deposit;
      readonly accepted: number;
      readonly oneTimeHeld: number;
    }
  | {
      readonly type: typeof KpType.fetch;
      readonly keyPackage: Uint8Array;
      readonly lastResort: boolean;
      readonly oneTimeLeft: number;
    }
  | { readonly type: typeof KpType.spent; readonly dropped: number }
  | {
      readonly type: typeof KpType.status;
      readonly oneTimeHeld: number;
      readonly lastResortHeld: boolean;
    };

export interface Versioned<T> {
  readonly version: number;
  readonly body: T;
}
const versioned = <T>(inner: Codec<T>): Codec<Versioned<T>> =>
  struct<Versioned<T>>({ version: constant(uint8, KEYPACKAGES_VERSION, 'version'), body: inner });
const typeCodec = uint8 as Codec<KpType>;

export const requestCodec = versioned<KpRequest>(
  variant<KpType, KpRequest, 'type'>('type', typeCodec, {
    [KpType.deposit]: struct({ keyPackages: vector(opaque) }),
    [KpType.fetch]: struct({ owner: opaque }),
    [KpType.spent]: struct({ notice: spentNoticeCodec }),
    [KpType.status]: struct({ owner: opaque }),
  }),
);
export const responseCodec = versioned<KpResponse>(
  variant<KpType, KpResponse, 'type'>('type', typeCodec, {
    [KpType.deposit]: struct({ accepted: uint16, oneTimeHeld: uint16 }),
    [KpType.fetch]: struct({ keyPackage: opaque, lastResort: bool, oneTimeLeft: uint16 }),
    [KpType.spent]: struct({ dropped: uint16 }),
    [KpType.status]: struct({ oneTimeHeld: uint16, lastResortHeld: bool }),
  }),
);

export function decodeBody<T>(
  codec: Codec<Versioned<T>>,
  bytes: Uint8Array,
  code: DeliveryErrorCode,
): T {
  if (bytes.byteLength > 0 && bytes[0] !== KEYPACKAGES_VERSION) {
    throw new DeliveryError('unsupported_version', `keypackages version ${bytes[0]}`);
  }
  try {
    return decode(codec, bytes).body;
  } catch (cause) {
    throw new DeliveryError(code, 'keypackages message does not decode', { cause });
  }
}
