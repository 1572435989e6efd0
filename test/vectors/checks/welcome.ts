import { encode } from '../../../src-core/codec/index.js';
import { cipherSuite } from '../../../src-core/crypto/index.js';
import type { CipherSuiteId } from '../../../src-core/crypto/types.js';
import { WireFormat } from '../../../src-core/mls/framing/framedContent.js';
import { decodeMlsMessage } from '../../../src-core/mls/framing/mlsMessage.js';
import { resolveGroupConfig } from '../../../src-core/mls/group/config.js';
import { openWelcome } from '../../../src-core/mls/group/join.js';
import { groupContextCodec } from '../../../src-core/mls/groupContext.js';
import { verifyGroupInfoSignature } from '../../../src-core/mls/groupInfo.js';
import { epochFromJoinerSecret } from '../../../src-core/mls/keySchedule.js';
import { zeroSecret } from '../../../src-core/mls/keySchedule.js';
import { hex } from '../../support/shared.js';
import type { VectorCheck } from '../registry.js';

interface Case {
  cipher_suite: number;
  init_priv: string;
  signer_pub: string;
  key_package: string;
  welcome: string;
}

const check: VectorCheck<Case> = {
  file: 'mls-test-vectors/welcome.json',
  label: (tc, i) => `#${i} suite ${tc.cipher_suite}`,
  check(tc) {
    const suite = cipherSuite(tc.cipher_suite as CipherSuiteId);
    const kpMessage = decodeMlsMessage(hex(tc.key_package));
    const welcomeMessage = decodeMlsMessage(hex(tc.welcome));
    if (kpMessage.wireFormat !== WireFormat.keyPackage)
      throw new Error('key_package: not a KeyPackage');
    if (welcomeMessage.wireFormat !== WireFormat.welcome) throw new Error('welcome: not a Welcome');
    // Finds our entry by KeyPackageRef, opens the GroupSecrets with init_priv, and the GroupInfo
    // with the welcome key (no PSKs in these vectors).
    const opened = openWelcome(
      suite,
      welcomeMessage.welcome,
      [{ keyPackage: kpMessage.keyPackage, initPrivateKey: hex(tc.init_priv) }],
      resolveGroupConfig(),
    );
    if (opened.groupSecrets.psks.length !== 0) throw new Error('unexpected PSKs');
    const gi = opened.groupInfo;
    verifyGroupInfoSignature(suite, gi, hex(tc.signer_pub));
    const epoch = epochFromJoinerSecret(
      suite,
      opened.groupSecrets.joinerSecret,
      zeroSecret(suite),
      encode(groupContextCodec, gi.groupContext),
    );
    if (
      !epoch.epoch.verifyConfirmationTag(
        gi.groupContext.confirmedTranscriptHash,
        gi.confirmationTag,
      )
    ) {
      throw new Error('confirmation tag does not match');
    }
  },
};

export default check;
