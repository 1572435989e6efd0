/** DHKEM(Group, KDF) of RFC 9180 §4.1, with DeriveKeyPair of §7.1.3. */
import { bytesToBigInt, concat, i2osp, utf8 } from '../bytes.js';
import { CryptoError } from '../errors.js';
import { LabeledKdf } from '../hpke/labeled.js';
import { randomBytes } from '../random.js';
import type { Kdf, Kem, KeyPair } from '../types.js';
import type { DhGroup, DhGroupSpec, DhPrivateKey } from './dhGroup.js';
import { isValidDhPublicKey } from './validate.js';

/** The result of Encap: the KEM shared secret and the encapsulated key to send. */
export interface Encapsulation {
  readonly sharedSecret: Uint8Array;
  readonly enc: Uint8Array;
}

const EMPTY = new Uint8Array(0);

export class DhKem implements Kem {
  readonly id: number;
  readonly secretSize: number;
  readonly encSize: number;
  readonly publicKeySize: number;
  readonly privateKeySize: number;
  private readonly spec: DhGroupSpec;
  private readonly labeled: LabeledKdf;

  /** `kdf` must be the KDF of this KEM (spec.kdfId), not the HPKE suite's KDF. */
  constructor(
    private readonly group: DhGroup,
    kdf: Kdf,
  ) {
    this.spec = group.spec;
    if (kdf.id !== this.spec.kdfId) {
      throw new CryptoError(
        'invalid_argument',
        `${this.spec.name} DHKEM uses KDF ${this.spec.kdfId}`,
      );
    }
    this.id = this.spec.kemId;
    this.secretSize = this.spec.secretSize;
    this.encSize = this.spec.publicKeySize;
    this.publicKeySize = this.spec.publicKeySize;
    this.privateKeySize = this.spec.privateKeySize;
    // suite_id = concat("KEM", I2OSP(kem_id, 2))
    this.labeled = new LabeledKdf(kdf, concat(utf8('KEM'), i2osp(this.id, 2)));
  }

  generateKeyPair(): KeyPair {
    // A uniformly random ikm of Nsk bytes through DeriveKeyPair gives a uniform key, and for the
    // NIST curves the same rejection sampling as a derived key.
    const ikm = randomBytes(this.privateKeySize);
    try {
      return this.deriveKeyPair(ikm);
    } finally {
      ikm.fill(0);
    }
  }

  deriveKeyPair(ikm: Uint8Array): KeyPair {
    const { privateKey, key } = this.derive(ikm);
    return { privateKey, publicKey: key.publicKey() };
  }

  publicKeyFromPrivate(privateKey: Uint8Array): Uint8Array {
    return this.group.importPrivate(privateKey).publicKey();
  }

  /** DeserializePublicKey's validity check: right length and encoding, on the curve. */
  isValidPublicKey(publicKey: Uint8Array): boolean {
    return isValidDhPublicKey(this.spec, publicKey);
  }

  /** Encap(pkR); `ikmE` replaces the random ephemeral key (test vectors only). */
  encap(pkR: Uint8Array, ikmE?: Uint8Array): Encapsulation {
    const eph = this.ephemeral(ikmE);
    try {
      const dh = eph.key.dh(pkR);
      const enc = eph.key.publicKey();
      return { sharedSecret: this.extractAndExpand(dh, concat(enc, pkR)), enc };
    } finally {
      eph.privateKey.fill(0);
    }
  }

  /** Decap(enc, skR). */
  decap(enc: Uint8Array, skR: Uint8Array): Uint8Array {
    const key = this.group.importPrivate(skR);
    const dh = key.dh(enc);
    return this.extractAndExpand(dh, concat(enc, key.publicKey()));
  }

  /** AuthEncap(pkR, skS): the shared secret also proves knowledge of skS. */
  authEncap(pkR: Uint8Array, skS: Uint8Array, ikmE?: Uint8Array): Encapsulation {
    const sender = this.group.importPrivate(skS);
    const eph = this.ephemeral(ikmE);
    try {
      const dh = concatWiping(eph.key.dh(pkR), sender.dh(pkR));
      const enc = eph.key.publicKey();
      const kemContext = concat(enc, pkR, sender.publicKey());
      return { sharedSecret: this.extractAndExpand(dh, kemContext), enc };
    } finally {
      eph.privateKey.fill(0);
    }
  }

  /** AuthDecap(enc, skR, pkS). */
  authDecap(enc: Uint8Array, skR: Uint8Array, pkS: Uint8Array): Uint8Array {
    const key = this.group.importPrivate(skR);
    const dh = concatWiping(key.dh(enc), key.dh(pkS));
    return this.extractAndExpand(dh, concat(enc, key.publicKey(), pkS));
  }

  /** The ephemeral key pair of Encap: GenerateKeyPair(), or DeriveKeyPair(ikmE) for vectors. */
  private ephemeral(ikmE: Uint8Array | undefined): { privateKey: Uint8Array; key: DhPrivateKey } {
    if (ikmE !== undefined) return this.derive(ikmE);
    const ikm = randomBytes(this.privateKeySize);
    try {
      return this.derive(ikm);
    } finally {
      ikm.fill(0);
    }
  }

  private derive(ikm: Uint8Array): { privateKey: Uint8Array; key: DhPrivateKey } {
    const dkpPrk = this.labeled.extract(EMPTY, 'dkp_prk', ikm);
    try {
      const privateKey =
        this.spec.order === undefined ? this.expandSk(dkpPrk) : this.sampleScalar(dkpPrk);
      return { privateKey, key: this.group.importPrivate(privateKey) };
    } finally {
      dkpPrk.fill(0);
    }
  }

  /**
   * X25519, X448: sk = LabeledExpand(dkp_prk, "sk", "", Nsk). §7.1.2 says SerializePrivateKey
   * clamps, but the RFC's own test vectors (skRm, skEm) and MLS's carry the unclamped bytes; we
   * keep them unclamped to match, and the DH clamps on use (RFC 7748), so the key is the same.
   */
  private expandSk(dkpPrk: Uint8Array): Uint8Array {
    return this.labeled.expand(dkpPrk, 'sk', EMPTY, this.privateKeySize);
  }

  /** P-256, P-384, P-521: rejection sampling over candidates 0..255 (§7.1.3). */
  private sampleScalar(dkpPrk: Uint8Array): Uint8Array {
    const order = this.spec.order!;
    const mask = this.spec.bitmask!;
    for (let counter = 0; counter <= 255; counter++) {
      const bytes = this.labeled.expand(
        dkpPrk,
        'candidate',
        i2osp(counter, 1),
        this.privateKeySize,
      );
      bytes[0]! &= mask;
      const sk = bytesToBigInt(bytes);
      if (sk !== 0n && sk < order) return bytes;
      bytes.fill(0);
    }
    throw new CryptoError(
      'derive_key_pair_failed',
      `${this.spec.name}: no valid scalar in 256 candidates`,
    );
  }

  /** ExtractAndExpand(dh, kem_context). */
  private extractAndExpand(dh: Uint8Array, kemContext: Uint8Array): Uint8Array {
    const eaePrk = this.labeled.extract(EMPTY, 'eae_prk', dh);
    dh.fill(0);
    try {
      return this.labeled.expand(eaePrk, 'shared_secret', kemContext, this.secretSize);
    } finally {
      eaePrk.fill(0);
    }
  }
}

function concatWiping(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = concat(a, b);
  a.fill(0);
  b.fill(0);
  return out;
}
