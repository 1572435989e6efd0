import { cipherSuite } from '../../../src-core/crypto/index.js';
import type { CipherSuiteId } from '../../../src-core/crypto/types.js';
import { SecretTree } from '../../../src-core/mls/secretTree.js';
import { deriveSenderDataKeyNonce } from '../../../src-core/mls/senderDataSecret.js';
import { hex, toHex } from '../../support/shared.js';
import type { VectorCheck } from '../registry.js';

interface Generation {
  generation: number;
  handshake_key: string;
  handshake_nonce: string;
  application_key: string;
  application_nonce: string;
}

interface Case {
  cipher_suite: number;
  sender_data: { sender_data_secret: string; ciphertext: string; key: string; nonce: string };
  encryption_secret: string;
  leaves: Generation[][];
}

function expectHex(what: string, got: Uint8Array, want: string): void {
  const g = toHex(got);
  if (g !== want) throw new Error(`${what}: got ${g}, want ${want}`);
}

/**
 * One tree per case, used the way a receiver uses it: every (leaf, ratchet, generation) is asked
 * for once through the consuming `keyFor`. Within a leaf the vectors list generations in
 * ascending order (0 then 15), and the handshake and application ratchets are independent, so
 * no key is asked for twice and the skip from 0 to 15 exercises the out-of-order window.
 */
const check: VectorCheck<Case> = {
  file: 'mls-test-vectors/secret-tree.json',
  label: (tc, i) => `#${i} suite ${tc.cipher_suite}, ${tc.leaves.length} leaves`,
  check(tc) {
    const suite = cipherSuite(tc.cipher_suite as CipherSuiteId);
    const sd = tc.sender_data;
    const sdk = deriveSenderDataKeyNonce(suite, hex(sd.sender_data_secret), hex(sd.ciphertext));
    expectHex('sender_data key', sdk.key, sd.key);
    expectHex('sender_data nonce', sdk.nonce, sd.nonce);
    const tree = new SecretTree(suite, hex(tc.encryption_secret), tc.leaves.length);
    tc.leaves.forEach((gens, leaf) => {
      for (const g of gens) {
        const at = (what: string): string => `leaf ${leaf} generation ${g.generation} ${what}`;
        const hs = tree.keyFor(leaf, 'handshake', g.generation);
        expectHex(at('handshake_key'), hs.key, g.handshake_key);
        expectHex(at('handshake_nonce'), hs.nonce, g.handshake_nonce);
        const app = tree.keyFor(leaf, 'application', g.generation);
        expectHex(at('application_key'), app.key, g.application_key);
        expectHex(at('application_nonce'), app.nonce, g.application_nonce);
      }
    });
    tree.destroy();
  },
};

export default check;
