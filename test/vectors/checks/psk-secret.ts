import { cipherSuite } from '../../../src-core/crypto/index.js';
import type { CipherSuiteId } from '../../../src-core/crypto/types.js';
import { PSKType, computePskSecret } from '../../../src-core/mls/psk.js';
import { hex, toHex } from '../../support/shared.js';
import type { VectorCheck } from '../registry.js';

interface Case {
  cipher_suite: number;
  psks: { psk_id: string; psk: string; psk_nonce: string }[];
  psk_secret: string;
}

const check: VectorCheck<Case> = {
  file: 'mls-test-vectors/psk_secret.json',
  label: (tc, i) => `#${i} suite ${tc.cipher_suite}, ${tc.psks.length} PSKs`,
  check(tc) {
    const suite = cipherSuite(tc.cipher_suite as CipherSuiteId);
    const psks = tc.psks.map((p) => ({
      id: { pskType: PSKType.external, pskId: hex(p.psk_id), pskNonce: hex(p.psk_nonce) },
      psk: hex(p.psk),
    }));
    const got = toHex(computePskSecret(suite, psks));
    if (got !== tc.psk_secret) throw new Error(`psk_secret ${got}, want ${tc.psk_secret}`);
  },
};

export default check;
