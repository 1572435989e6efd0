/**
 * LabeledExtract and LabeledExpand (RFC 9180 §4), which bind every derivation to "HPKE-v1", the
 * suite (KEM, or KEM+KDF+AEAD) and a label.
 */
import { concat, i2osp, utf8 } from '../bytes.js';
import { CryptoError } from '../errors.js';
import type { Kdf } from '../types.js';

const HPKE_V1 = utf8('HPKE-v1');

export class LabeledKdf {
  readonly kdf: Kdf;
  private readonly prefix: Uint8Array;
  private readonly labels = new Map<string, Uint8Array>();

  constructor(kdf: Kdf, suiteId: Uint8Array) {
    this.kdf = kdf;
    this.prefix = concat(HPKE_V1, suiteId);
  }

  private label(label: string): Uint8Array {
    let b = this.labels.get(label);
    if (b === undefined) {
      b = utf8(label);
      this.labels.set(label, b);
    }
    return b;
  }

  /** LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id || label || ikm). */
  extract(salt: Uint8Array, label: string, ikm: Uint8Array): Uint8Array {
    const labeledIkm = concat(this.prefix, this.label(label), ikm);
    try {
      return this.kdf.extract(salt, labeledIkm);
    } finally {
      labeledIkm.fill(0);
    }
  }

  /**
   * LabeledExpand(prk, label, info, L) =
   *   Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info, L).
   */
  expand(prk: Uint8Array, label: string, info: Uint8Array, length: number): Uint8Array {
    if (!Number.isInteger(length) || length < 0 || length > 0xffff) {
      throw new CryptoError('invalid_argument', `LabeledExpand length ${length}`);
    }
    return this.kdf.expand(
      prk,
      concat(i2osp(length, 2), this.prefix, this.label(label), info),
      length,
    );
  }
}
