/**
 * The Diffie-Hellman groups under the DHKEMs of RFC 9180 §7.1, with their sizes. Each backend
 * supplies the group operations; the KEM logic (kem/dhkem.ts) is shared.
 */
import { p256, p384, p521 } from '@noble/curves/nist.js';

export type DhGroupName = 'P-256' | 'P-384' | 'P-521' | 'X25519' | 'X448';

export interface DhGroupSpec {
  readonly name: DhGroupName;
  /** The KEM identifier of DHKEM(group, HKDF-*) (RFC 9180 §7.1). */
  readonly kemId: number;
  /** The HPKE KDF the KEM uses internally (HKDF-SHA256/384/512). */
  readonly kdfId: number;
  /** Nsecret: length of the KEM shared secret. */
  readonly secretSize: number;
  /** Npk = Nenc: SerializePublicKey length. */
  readonly publicKeySize: number;
  /** Nsk: SerializePrivateKey length. */
  readonly privateKeySize: number;
  /** Ndh: length of the DH output (the x-coordinate for NIST curves). */
  readonly dhSize: number;
  /** For NIST curves: the group order and the first-byte mask of DeriveKeyPair (§7.1.3). */
  readonly order?: bigint;
  readonly bitmask?: number;
}

export const DH_GROUPS: Readonly<Record<DhGroupName, DhGroupSpec>> = {
  'P-256': {
    name: 'P-256',
    kemId: 0x0010,
    kdfId: 0x0001,
    secretSize: 32,
    publicKeySize: 65,
    privateKeySize: 32,
    dhSize: 32,
    order: p256.Point.Fn.ORDER,
    bitmask: 0xff,
  },
  'P-384': {
    name: 'P-384',
    kemId: 0x0011,
    kdfId: 0x0002,
    secretSize: 48,
    publicKeySize: 97,
    privateKeySize: 48,
    dhSize: 48,
    order: p384.Point.Fn.ORDER,
    bitmask: 0xff,
  },
  'P-521': {
    name: 'P-521',
    kemId: 0x0012,
    kdfId: 0x0003,
    secretSize: 64,
    publicKeySize: 133,
    privateKeySize: 66,
    dhSize: 66,
    order: p521.Point.Fn.ORDER,
    bitmask: 0x01,
  },
  X25519: {
    name: 'X25519',
    kemId: 0x0020,
    kdfId: 0x0001,
    secretSize: 32,
    publicKeySize: 32,
    privateKeySize: 32,
    dhSize: 32,
  },
  X448: {
    name: 'X448',
    kemId: 0x0021,
    kdfId: 0x0003,
    secretSize: 64,
    publicKeySize: 56,
    privateKeySize: 56,
    dhSize: 56,
  },
};

export const KEM_GROUP: Readonly<Record<number, DhGroupName>> = {
  0x0010: 'P-256',
  0x0011: 'P-384',
  0x0012: 'P-521',
  0x0020: 'X25519',
  0x0021: 'X448',
};

/** A private key made ready for use; one object serves one operation and is then dropped. */
export interface DhPrivateKey {
  /** SerializePublicKey(pk(sk)). */
  publicKey(): Uint8Array;
  /** DH(sk, pk). Throws CryptoError('invalid_public_key') for a bad or low-order peer key. */
  dh(peerPublicKey: Uint8Array): Uint8Array;
}

/** One backend's implementation of a DH group. */
export interface DhGroup {
  readonly spec: DhGroupSpec;
  /** Throws CryptoError('invalid_private_key' | 'invalid_length') for an unusable key. */
  importPrivate(privateKey: Uint8Array): DhPrivateKey;
}
