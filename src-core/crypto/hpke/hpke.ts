/**
 * HPKE (RFC 9180) for one (KEM, KDF, AEAD) triple: the four modes' Setup functions (§5.1),
 * single-shot Seal/Open in base mode (§6.1) and single-shot Export (§6.2).
 */
import { concat, i2osp, utf8 } from '../bytes.js';
import { CryptoError } from '../errors.js';
import type { DhKem, Encapsulation } from '../kem/dhkem.js';
import type { Aead, Hpke, HpkeSealed, Kdf } from '../types.js';
import { ReceiverContext, SenderContext } from './context.js';
import { LabeledKdf } from './labeled.js';

/** The HPKE modes (RFC 9180 §5, Table 1). */
export const HpkeMode = { base: 0x00, psk: 0x01, auth: 0x02, authPsk: 0x03 } as const;
export type HpkeMode = (typeof HpkeMode)[keyof typeof HpkeMode];

export interface Psk {
  readonly psk: Uint8Array;
  readonly pskId: Uint8Array;
}

/** The outputs of KeySchedule(), named as in the RFC and its test vectors. */
export interface KeyScheduleOutput {
  readonly keyScheduleContext: Uint8Array;
  readonly secret: Uint8Array;
  readonly key: Uint8Array;
  readonly baseNonce: Uint8Array;
  readonly exporterSecret: Uint8Array;
}

export interface SenderSetup {
  readonly enc: Uint8Array;
  readonly context: SenderContext;
}

const EMPTY = new Uint8Array(0);
const NO_PSK: Psk = { psk: EMPTY, pskId: EMPTY };

export class HpkeSuite implements Hpke {
  readonly kem: DhKem;
  readonly kdf: Kdf;
  readonly aead: Aead;
  private readonly labeled: LabeledKdf;

  constructor(kem: DhKem, kdf: Kdf, aead: Aead) {
    this.kem = kem;
    this.kdf = kdf;
    this.aead = aead;
    // suite_id = concat("HPKE", I2OSP(kem_id, 2), I2OSP(kdf_id, 2), I2OSP(aead_id, 2))
    const suiteId = concat(utf8('HPKE'), i2osp(kem.id, 2), i2osp(kdf.id, 2), i2osp(aead.id, 2));
    this.labeled = new LabeledKdf(kdf, suiteId);
  }

  /** KeySchedule<ROLE>(mode, shared_secret, info, psk, psk_id), exposed for the test vectors. */
  keySchedule(
    mode: HpkeMode,
    sharedSecret: Uint8Array,
    info: Uint8Array,
    psk: Psk = NO_PSK,
  ): KeyScheduleOutput {
    verifyPskInputs(mode, psk);
    const pskIdHash = this.labeled.extract(EMPTY, 'psk_id_hash', psk.pskId);
    const infoHash = this.labeled.extract(EMPTY, 'info_hash', info);
    const keyScheduleContext = concat(i2osp(mode, 1), pskIdHash, infoHash);
    const secret = this.labeled.extract(sharedSecret, 'secret', psk.psk);
    const key = this.labeled.expand(secret, 'key', keyScheduleContext, this.aead.keySize);
    const baseNonce = this.labeled.expand(
      secret,
      'base_nonce',
      keyScheduleContext,
      this.aead.nonceSize,
    );
    const exporterSecret = this.labeled.expand(secret, 'exp', keyScheduleContext, this.kdf.size);
    return { keyScheduleContext, secret, key, baseNonce, exporterSecret };
  }

  setupBaseS(pkR: Uint8Array, info: Uint8Array, ikmE?: Uint8Array): SenderSetup {
    return this.sender(HpkeMode.base, this.kem.encap(pkR, ikmE), info, NO_PSK);
  }

  setupBaseR(enc: Uint8Array, skR: Uint8Array, info: Uint8Array): ReceiverContext {
    return this.receiver(HpkeMode.base, this.kem.decap(enc, skR), info, NO_PSK);
  }

  setupPskS(pkR: Uint8Array, info: Uint8Array, psk: Psk, ikmE?: Uint8Array): SenderSetup {
    return this.sender(HpkeMode.psk, this.kem.encap(pkR, ikmE), info, psk);
  }

  setupPskR(enc: Uint8Array, skR: Uint8Array, info: Uint8Array, psk: Psk): ReceiverContext {
    return this.receiver(HpkeMode.psk, this.kem.decap(enc, skR), info, psk);
  }

  setupAuthS(pkR: Uint8Array, info: Uint8Array, skS: Uint8Array, ikmE?: Uint8Array): SenderSetup {
    return this.sender(HpkeMode.auth, this.kem.authEncap(pkR, skS, ikmE), info, NO_PSK);
  }

  setupAuthR(enc: Uint8Array, skR: Uint8Array, info: Uint8Array, pkS: Uint8Array): ReceiverContext {
    return this.receiver(HpkeMode.auth, this.kem.authDecap(enc, skR, pkS), info, NO_PSK);
  }

  setupAuthPskS(
    pkR: Uint8Array,
    info: Uint8Array,
    psk: Psk,
    skS: Uint8Array,
    ikmE?: Uint8Array,
  ): SenderSetup {
    return this.sender(HpkeMode.authPsk, this.kem.authEncap(pkR, skS, ikmE), info, psk);
  }

  setupAuthPskR(
    enc: Uint8Array,
    skR: Uint8Array,
    info: Uint8Array,
    psk: Psk,
    pkS: Uint8Array,
  ): ReceiverContext {
    return this.receiver(HpkeMode.authPsk, this.kem.authDecap(enc, skR, pkS), info, psk);
  }

  /** SealBase(pkR, info, aad, pt). */
  seal(
    pkR: Uint8Array,
    info: Uint8Array,
    aad: Uint8Array,
    plaintext: Uint8Array,
    ikmE?: Uint8Array,
  ): HpkeSealed {
    const { enc, context } = this.setupBaseS(pkR, info, ikmE);
    try {
      return { enc, ciphertext: context.seal(aad, plaintext) };
    } finally {
      context.destroy();
    }
  }

  /** OpenBase(enc, skR, info, aad, ct). */
  open(
    enc: Uint8Array,
    skR: Uint8Array,
    info: Uint8Array,
    aad: Uint8Array,
    ciphertext: Uint8Array,
  ): Uint8Array {
    const context = this.setupBaseR(enc, skR, info);
    try {
      return context.open(aad, ciphertext);
    } finally {
      context.destroy();
    }
  }

  /** SendExportBase(pkR, info, exporter_context, L). */
  sendExport(
    pkR: Uint8Array,
    info: Uint8Array,
    exporterContext: Uint8Array,
    length: number,
    ikmE?: Uint8Array,
  ): { enc: Uint8Array; exported: Uint8Array } {
    const { enc, context } = this.setupBaseS(pkR, info, ikmE);
    try {
      return { enc, exported: context.export(exporterContext, length) };
    } finally {
      context.destroy();
    }
  }

  /** ReceiveExportBase(enc, skR, info, exporter_context, L). */
  receiveExport(
    enc: Uint8Array,
    skR: Uint8Array,
    info: Uint8Array,
    exporterContext: Uint8Array,
    length: number,
  ): Uint8Array {
    const context = this.setupBaseR(enc, skR, info);
    try {
      return context.export(exporterContext, length);
    } finally {
      context.destroy();
    }
  }

  private secrets(
    mode: HpkeMode,
    sharedSecret: Uint8Array,
    info: Uint8Array,
    psk: Psk,
  ): KeyScheduleOutput {
    try {
      const out = this.keySchedule(mode, sharedSecret, info, psk);
      out.secret.fill(0);
      return out;
    } finally {
      sharedSecret.fill(0);
    }
  }

  private sender(mode: HpkeMode, encap: Encapsulation, info: Uint8Array, psk: Psk): SenderSetup {
    const context = new SenderContext(
      this.aead,
      this.labeled,
      this.secrets(mode, encap.sharedSecret, info, psk),
    );
    return { enc: encap.enc, context };
  }

  private receiver(
    mode: HpkeMode,
    sharedSecret: Uint8Array,
    info: Uint8Array,
    psk: Psk,
  ): ReceiverContext {
    return new ReceiverContext(
      this.aead,
      this.labeled,
      this.secrets(mode, sharedSecret, info, psk),
    );
  }
}

/** VerifyPSKInputs(mode, psk, psk_id), RFC 9180 §5.1. */
function verifyPskInputs(mode: HpkeMode, { psk, pskId }: Psk): void {
  const gotPsk = psk.length > 0;
  const gotPskId = pskId.length > 0;
  if (gotPsk !== gotPskId) {
    throw new CryptoError('hpke_invalid_psk', 'PSK and PSK id must be given together');
  }
  const pskMode = mode === HpkeMode.psk || mode === HpkeMode.authPsk;
  if (gotPsk && !pskMode) throw new CryptoError('hpke_invalid_psk', `PSK given in mode ${mode}`);
  if (!gotPsk && pskMode) throw new CryptoError('hpke_invalid_psk', `PSK missing in mode ${mode}`);
}
