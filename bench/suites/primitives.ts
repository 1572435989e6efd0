// MLS primitives, Parley vs ts-mls, cipher suite 1 (X25519, AES-128-GCM, SHA-256, Ed25519):
// ExpandWithLabel, SignWithLabel, VerifyWithLabel, EncryptWithLabel / DecryptWithLabel (HPKE).
import { expandWithLabel as tsExpand } from 'ts-mls/crypto/kdf.js';
import {
  decryptWithLabel as tsDecrypt,
  encryptWithLabel as tsEncrypt,
} from 'ts-mls/crypto/hpke.js';
import { signWithLabel as tsSign, verifyWithLabel as tsVerify } from 'ts-mls/crypto/signature.js';
import { cipherSuite } from '../../src-core/crypto/index.js';
import type { CipherSuite } from '../../src-core/crypto/index.js';
import { formatUs, measure, measureAsync, printTable } from '../harness.js';
import { tsMlsSuite } from '../tsmls.js';

interface Row {
  readonly op: string;
  readonly parley: Record<'auto' | 'noble', number>;
  readonly tsMls: number;
}

function parleyOps(suite: CipherSuite): Record<string, () => void> {
  const secret = suite.randomBytes(32);
  const context = suite.randomBytes(32);
  const content = suite.randomBytes(200);
  const sig = suite.generateSignatureKeyPair();
  const signature = suite.signWithLabel(sig.privateKey, 'FramedContentTBS', content);
  const hpke = suite.generateHpkeKeyPair();
  const sealed = suite.encryptWithLabel(hpke.publicKey, 'UpdatePathNode', context, secret);
  return {
    'ExpandWithLabel (32 B)': () => void suite.expandWithLabel(secret, 'key', context, 16),
    'SignWithLabel (200 B)': () =>
      void suite.signWithLabel(sig.privateKey, 'FramedContentTBS', content),
    'VerifyWithLabel (200 B)': () => {
      if (!suite.verifyWithLabel(sig.publicKey, 'FramedContentTBS', content, signature))
        throw new Error('verify');
    },
    'EncryptWithLabel (HPKE seal, 32 B)': () =>
      void suite.encryptWithLabel(hpke.publicKey, 'UpdatePathNode', context, secret),
    'DecryptWithLabel (HPKE open, 32 B)': () =>
      void suite.decryptWithLabel(
        hpke.privateKey,
        'UpdatePathNode',
        context,
        sealed.kemOutput,
        sealed.ciphertext,
      ),
  };
}

async function tsMlsOps(): Promise<Record<string, () => Promise<void>>> {
  const cs = await tsMlsSuite();
  const secret = cs.rng.randomBytes(32);
  const context = cs.rng.randomBytes(32);
  const content = cs.rng.randomBytes(200);
  const sig = await cs.signature.keygen();
  const signature = await tsSign(sig.signKey, 'FramedContentTBS', content, cs.signature);
  const kp = await cs.hpke.generateKeyPair();
  const sealed = await tsEncrypt(kp.publicKey, 'UpdatePathNode', context, secret, cs.hpke);
  return {
    'ExpandWithLabel (32 B)': async () => void (await tsExpand(secret, 'key', context, 16, cs.kdf)),
    'SignWithLabel (200 B)': async () =>
      void (await tsSign(sig.signKey, 'FramedContentTBS', content, cs.signature)),
    'VerifyWithLabel (200 B)': async () => {
      if (!(await tsVerify(sig.publicKey, 'FramedContentTBS', content, signature, cs.signature)))
        throw new Error('verify');
    },
    'EncryptWithLabel (HPKE seal, 32 B)': async () =>
      void (await tsEncrypt(kp.publicKey, 'UpdatePathNode', context, secret, cs.hpke)),
    'DecryptWithLabel (HPKE open, 32 B)': async () =>
      void (await tsDecrypt(
        kp.privateKey,
        'UpdatePathNode',
        context,
        sealed.enc,
        sealed.ct,
        cs.hpke,
      )),
  };
}

export default async function primitives(): Promise<void> {
  const auto = parleyOps(cipherSuite(1));
  const noble = parleyOps(cipherSuite(1, { backend: 'noble' }));
  const ts = await tsMlsOps();
  const rows: Row[] = [];
  for (const op of Object.keys(auto)) {
    rows.push({
      op,
      parley: {
        auto: measure(auto[op]!, 500, 20).medianUs,
        noble: measure(noble[op]!, 500, 20).medianUs,
      },
      tsMls: (await measureAsync(ts[op]!, 500)).medianUs,
    });
  }
  printTable([
    ['operation (suite 1)', 'Parley (auto)', 'Parley (noble)', 'ts-mls', 'ts-mls / Parley auto'],
    ...rows.map((r) => [
      r.op,
      formatUs(r.parley.auto),
      formatUs(r.parley.noble),
      formatUs(r.tsMls),
      `${(r.tsMls / r.parley.auto).toFixed(1)}x`,
    ]),
  ]);
}
