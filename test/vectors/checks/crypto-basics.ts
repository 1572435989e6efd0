// RFC 9420 crypto-basics vectors: RefHash, ExpandWithLabel, DeriveSecret, DeriveTreeSecret,
// SignWithLabel/VerifyWithLabel and EncryptWithLabel/DecryptWithLabel, on both backends.
import { cipherSuite } from '../../../src-core/crypto/index.js';
import type { Backend, CipherSuiteId } from '../../../src-core/crypto/index.js';
import { hex, toHex } from '../../support/shared.js';
import type { VectorCheck } from '../registry.js';

interface Case {
  cipher_suite: number;
  ref_hash: { label: string; value: string; out: string };
  expand_with_label: {
    secret: string;
    label: string;
    context: string;
    length: number;
    out: string;
  };
  derive_secret: { secret: string; label: string; out: string };
  derive_tree_secret: {
    secret: string;
    label: string;
    generation: number;
    length: number;
    out: string;
  };
  sign_with_label: { priv: string; pub: string; content: string; label: string; signature: string };
  encrypt_with_label: {
    priv: string;
    pub: string;
    label: string;
    context: string;
    plaintext: string;
    kem_output: string;
    ciphertext: string;
  };
}

const BACKENDS: readonly Backend[] = ['noble', 'auto'];

function expectHex(what: string, got: Uint8Array, want: string): void {
  if (toHex(got) !== want) throw new Error(`${what}: got ${toHex(got)}, want ${want}`);
}

function checkSuite(tc: Case, backend: Backend): void {
  const cs = cipherSuite(tc.cipher_suite as CipherSuiteId, { backend });
  const at = (what: string): string => `[${backend}] ${what}`;

  const r = tc.ref_hash;
  expectHex(at('ref_hash'), cs.refHash(r.label, hex(r.value)), r.out);

  const e = tc.expand_with_label;
  expectHex(
    at('expand_with_label'),
    cs.expandWithLabel(hex(e.secret), e.label, hex(e.context), e.length),
    e.out,
  );

  const d = tc.derive_secret;
  expectHex(at('derive_secret'), cs.deriveSecret(hex(d.secret), d.label), d.out);

  const t = tc.derive_tree_secret;
  expectHex(
    at('derive_tree_secret'),
    cs.deriveTreeSecret(hex(t.secret), t.label, t.generation, t.length),
    t.out,
  );

  const s = tc.sign_with_label;
  const content = hex(s.content);
  expectHex(
    at('signature public key from private'),
    cs.signature.publicKeyFromPrivate(hex(s.priv)),
    s.pub,
  );
  if (!cs.verifyWithLabel(hex(s.pub), s.label, content, hex(s.signature))) {
    throw new Error(at('VerifyWithLabel rejected the vector signature'));
  }
  const ours = cs.signWithLabel(hex(s.priv), s.label, content);
  if (!cs.verifyWithLabel(hex(s.pub), s.label, content, ours)) {
    throw new Error(at('VerifyWithLabel rejected our own signature'));
  }
  if (cs.verifyWithLabel(hex(s.pub), s.label + 'x', content, ours)) {
    throw new Error(at('VerifyWithLabel accepted a signature under another label'));
  }

  const x = tc.encrypt_with_label;
  const ctx = hex(x.context);
  expectHex(
    at('HPKE public key from private'),
    cs.hpke.kem.publicKeyFromPrivate(hex(x.priv)),
    x.pub,
  );
  expectHex(
    at('DecryptWithLabel of the vector'),
    cs.decryptWithLabel(hex(x.priv), x.label, ctx, hex(x.kem_output), hex(x.ciphertext)),
    x.plaintext,
  );
  const sealed = cs.encryptWithLabel(hex(x.pub), x.label, ctx, hex(x.plaintext));
  expectHex(
    at('DecryptWithLabel of our EncryptWithLabel'),
    cs.decryptWithLabel(hex(x.priv), x.label, ctx, sealed.kemOutput, sealed.ciphertext),
    x.plaintext,
  );
}

const check: VectorCheck<Case> = {
  file: 'mls-test-vectors/crypto-basics.json',
  label: (tc, i) => `#${i} cipher suite ${tc.cipher_suite}`,
  check(tc) {
    for (const backend of BACKENDS) checkSuite(tc, backend);
  },
};

export default check;
