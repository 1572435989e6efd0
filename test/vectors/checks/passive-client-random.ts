import type { PassiveClientCase } from '../../support/passiveClient.js';
import { runPassiveClient } from '../../support/passiveClient.js';
import type { VectorCheck } from '../registry.js';

const check: VectorCheck<PassiveClientCase> = {
  file: 'mls-test-vectors/passive-client-random.json',
  label: (tc, i) => `#${i} suite ${tc.cipher_suite}, ${tc.epochs.length} epochs`,
  check(tc) {
    runPassiveClient(tc).destroy();
  },
};

export default check;
