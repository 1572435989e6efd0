/**
 * The HPKE encryption context (RFC 9180 §5.2, §5.3): an AEAD key, a base nonce XORed with a
 * per-message sequence number, and an exporter secret.
 */
import { i2osp } from '../bytes.js';
import { AEAD_EXPORT_ONLY } from '../aead.js';
import { CryptoError } from '../errors.js';
import type { Aead } from '../types.js';
import type { LabeledKdf } from './labeled.js';

/** The secrets KeySchedule() hands to a context. */
export interface ContextSecrets {
  readonly key: Uint8Array;
  readonly baseNonce: Uint8Array;
  readonly exporterSecret: Uint8Array;
}

abstract class HpkeContext {
  private seq = 0;
  private destroyed = false;

  constructor(
    protected readonly aead: Aead,
    private readonly labeled: LabeledKdf,
    private readonly secrets: ContextSecrets,
  ) {}

  /** The sequence number the next Seal or Open will use. */
  get sequenceNumber(): number {
    return this.seq;
  }

  /** Export(exporter_context, L) = LabeledExpand(exporter_secret, "sec", exporter_context, L). */
  export(exporterContext: Uint8Array, length: number): Uint8Array {
    this.checkAlive();
    return this.labeled.expand(this.secrets.exporterSecret, 'sec', exporterContext, length);
  }

  /** Wipes the key, nonce and exporter secret; the context is unusable afterwards. */
  destroy(): void {
    this.secrets.key.fill(0);
    this.secrets.baseNonce.fill(0);
    this.secrets.exporterSecret.fill(0);
    this.destroyed = true;
  }

  private checkAlive(): void {
    if (this.destroyed)
      throw new CryptoError('hpke_context_destroyed', 'HPKE context was destroyed');
  }

  protected key(): Uint8Array {
    this.checkAlive();
    if (this.aead.id === AEAD_EXPORT_ONLY) {
      throw new CryptoError('hpke_export_only', 'this HPKE context can only export');
    }
    return this.secrets.key;
  }

  /** ComputeNonce(seq) = base_nonce XOR I2OSP(seq, Nn). */
  protected nonce(): Uint8Array {
    // The RFC's limit is 2^(8*Nn) - 1 (2^96 for every AEAD here); a JS number reaches 2^53 first.
    if (this.seq >= Number.MAX_SAFE_INTEGER) {
      throw new CryptoError('hpke_message_limit', 'HPKE sequence number exhausted');
    }
    const base = this.secrets.baseNonce;
    const out = i2osp(this.seq, base.length);
    for (let i = 0; i < out.length; i++) out[i]! ^= base[i]!;
    return out;
  }

  /** IncrementSeq(): only after a successful Seal or Open. */
  protected increment(): void {
    this.seq++;
  }
}

export class SenderContext extends HpkeContext {
  /** ContextS.Seal(aad, pt). */
  seal(aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    const key = this.key();
    const ct = this.aead.seal(key, this.nonce(), aad, plaintext);
    this.increment();
    return ct;
  }
}

export class ReceiverContext extends HpkeContext {
  /** ContextR.Open(aad, ct). Throws CryptoError('aead_open_failed'); the sequence stays put. */
  open(aad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    const key = this.key();
    const pt = this.aead.open(key, this.nonce(), aad, ciphertext);
    this.increment();
    return pt;
  }
}
