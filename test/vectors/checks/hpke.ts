// RFC 9180 test vectors: DeriveKeyPair, deterministic Encap/AuthEncap, the key schedule, every
// encryption in sequence (seal and open) and every export, in all four modes, on both backends.
import { hpkeSuite } from '../../../src-core/crypto/index.js';
import type {
  Backend,
  HpkeMode,
  Psk,
  ReceiverContext,
  SenderContext,
} from '../../../src-core/crypto/index.js';
import { hex, toHex } from '../../support/shared.js';
import type { VectorCheck } from '../registry.js';

interface Case {
  mode: HpkeMode;
  kem_id: number;
  kdf_id: number;
  aead_id: number;
  info: string;
  ikmR: string;
  ikmE: string;
  ikmS?: string;
  skRm: string;
  skEm: string;
  skSm?: string;
  pkRm: string;
  pkEm: string;
  pkSm?: string;
  psk?: string;
  psk_id?: string;
  enc: string;
  shared_secret: string;
  key_schedule_context: string;
  secret: string;
  key: string;
  base_nonce: string;
  exporter_secret: string;
  encryptions: { aad: string; ct: string; nonce: string; pt: string }[];
  exports: { exporter_context: string; L: number; exported_value: string }[];
}

const BACKENDS: readonly Backend[] = ['noble', 'auto'];

function expectHex(what: string, got: Uint8Array, want: string): void {
  if (toHex(got) !== want) throw new Error(`${what}: got ${toHex(got)}, want ${want}`);
}

function need(tc: Case, field: 'ikmS' | 'skSm' | 'pkSm' | 'psk' | 'psk_id'): string {
  const v = tc[field];
  if (v === undefined) throw new Error(`mode ${tc.mode} vector without ${field}`);
  return v;
}

function checkCase(tc: Case, backend: Backend): void {
  const at = (what: string): string => `[${backend}] ${what}`;
  const suite = hpkeSuite(tc.kem_id, tc.kdf_id, tc.aead_id, backend);
  const kem = suite.kem;
  const info = hex(tc.info);
  const auth = tc.mode === 2 || tc.mode === 3;
  const psk: Psk | undefined =
    tc.mode === 1 || tc.mode === 3
      ? { psk: hex(need(tc, 'psk')), pskId: hex(need(tc, 'psk_id')) }
      : undefined;

  // DeriveKeyPair for the recipient, the ephemeral and (auth modes) the sender keys.
  const r = kem.deriveKeyPair(hex(tc.ikmR));
  expectHex(at('skRm'), r.privateKey, tc.skRm);
  expectHex(at('pkRm'), r.publicKey, tc.pkRm);
  const e = kem.deriveKeyPair(hex(tc.ikmE));
  expectHex(at('skEm'), e.privateKey, tc.skEm);
  expectHex(at('pkEm'), e.publicKey, tc.pkEm);
  if (auth) {
    const s = kem.deriveKeyPair(hex(need(tc, 'ikmS')));
    expectHex(at('skSm'), s.privateKey, need(tc, 'skSm'));
    expectHex(at('pkSm'), s.publicKey, need(tc, 'pkSm'));
  }

  // Encap with ikmE, Decap: enc and shared_secret.
  const pkR = hex(tc.pkRm);
  const skR = hex(tc.skRm);
  const encap = auth
    ? kem.authEncap(pkR, hex(need(tc, 'skSm')), hex(tc.ikmE))
    : kem.encap(pkR, hex(tc.ikmE));
  expectHex(at('enc'), encap.enc, tc.enc);
  expectHex(at('shared_secret (encap)'), encap.sharedSecret, tc.shared_secret);
  const decapped = auth
    ? kem.authDecap(hex(tc.enc), skR, hex(need(tc, 'pkSm')))
    : kem.decap(hex(tc.enc), skR);
  expectHex(at('shared_secret (decap)'), decapped, tc.shared_secret);

  // KeySchedule.
  const ks = suite.keySchedule(tc.mode, hex(tc.shared_secret), info, psk);
  expectHex(at('key_schedule_context'), ks.keyScheduleContext, tc.key_schedule_context);
  expectHex(at('secret'), ks.secret, tc.secret);
  expectHex(at('key'), ks.key, tc.key);
  expectHex(at('base_nonce'), ks.baseNonce, tc.base_nonce);
  expectHex(at('exporter_secret'), ks.exporterSecret, tc.exporter_secret);

  // The Setup functions of the mode, deterministic through ikmE.
  const ikmE = hex(tc.ikmE);
  let sender: { enc: Uint8Array; context: SenderContext };
  let receiver: ReceiverContext;
  const enc = hex(tc.enc);
  switch (tc.mode) {
    case 0:
      sender = suite.setupBaseS(pkR, info, ikmE);
      receiver = suite.setupBaseR(enc, skR, info);
      break;
    case 1:
      sender = suite.setupPskS(pkR, info, psk!, ikmE);
      receiver = suite.setupPskR(enc, skR, info, psk!);
      break;
    case 2:
      sender = suite.setupAuthS(pkR, info, hex(need(tc, 'skSm')), ikmE);
      receiver = suite.setupAuthR(enc, skR, info, hex(need(tc, 'pkSm')));
      break;
    case 3:
      sender = suite.setupAuthPskS(pkR, info, psk!, hex(need(tc, 'skSm')), ikmE);
      receiver = suite.setupAuthPskR(enc, skR, info, psk!, hex(need(tc, 'pkSm')));
      break;
  }
  expectHex(at('enc (setup)'), sender.enc, tc.enc);

  // Every encryption, in sequence: the context's nonce must match the vector's at each step.
  tc.encryptions.forEach((x, seq) => {
    if (sender.context.sequenceNumber !== seq)
      throw new Error(at(`sender at sequence ${sender.context.sequenceNumber}, want ${seq}`));
    expectHex(at(`seal #${seq}`), sender.context.seal(hex(x.aad), hex(x.pt)), x.ct);
    expectHex(at(`open #${seq}`), receiver.open(hex(x.aad), hex(x.ct)), x.pt);
  });

  for (const x of tc.exports) {
    const ctx = hex(x.exporter_context);
    expectHex(at(`export (sender) L=${x.L}`), sender.context.export(ctx, x.L), x.exported_value);
    expectHex(at(`export (receiver) L=${x.L}`), receiver.export(ctx, x.L), x.exported_value);
  }

  if (tc.mode === 0) {
    // The single-shot API over the same vector: first encryption and first export.
    const first = tc.encryptions[0];
    if (first !== undefined) {
      const sealed = suite.seal(pkR, info, hex(first.aad), hex(first.pt), ikmE);
      expectHex(at('single-shot seal'), sealed.ciphertext, first.ct);
      expectHex(
        at('single-shot open'),
        suite.open(enc, skR, info, hex(first.aad), hex(first.ct)),
        first.pt,
      );
    }
    const x = tc.exports[0]!;
    const sent = suite.sendExport(pkR, info, hex(x.exporter_context), x.L, ikmE);
    expectHex(at('SendExport'), sent.exported, x.exported_value);
    expectHex(
      at('ReceiveExport'),
      suite.receiveExport(enc, skR, info, hex(x.exporter_context), x.L),
      x.exported_value,
    );
  }
}

const check: VectorCheck<Case> = {
  file: 'hpke-test-vectors/rfc9180-test-vectors.json',
  label: (tc, i) =>
    `mode ${tc.mode} kem 0x${tc.kem_id.toString(16)} kdf ${tc.kdf_id} aead ${tc.aead_id === 0xffff ? '0xffff' : tc.aead_id} (#${i})`,
  check(tc) {
    for (const backend of BACKENDS) checkCase(tc, backend);
  },
};

export default check;
