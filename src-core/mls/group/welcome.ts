/**
 * Creating a Welcome (RFC 9420 §12.4.3.1): the GroupInfo encrypted under the welcome key, and for
 * each new member its GroupSecrets (joiner_secret, the path secret of the lowest node its direct
 * path shares with the committer's, the PSK ids) encrypted to its KeyPackage's init_key.
 */
import { encode } from '../../codec/index.js';
import type { CipherSuite } from '../../crypto/types.js';
import { WireFormat } from '../framing/framedContent.js';
import type { MlsMessage } from '../framing/mlsMessage.js';
import { PROTOCOL_VERSION_MLS10 } from '../groupContext.js';
import type { GroupInfo } from '../groupInfo.js';
import { groupInfoCodec } from '../groupInfo.js';
import type { KeyPackage } from '../keyPackage.js';
import { keyPackageRef } from '../keyPackage.js';
import { welcomeKeyNonce } from '../keySchedule.js';
import type { PreSharedKeyID } from '../psk.js';
import type { EncryptedGroupSecrets, Welcome } from '../welcome.js';
import { groupSecretsCodec } from '../welcome.js';

/** The HPKE label of EncryptedGroupSecrets (§12.4.3.1). */
export const WELCOME_LABEL = 'Welcome';

export interface NewMemberSecrets {
  readonly keyPackage: KeyPackage;
  /** The path secret of the common ancestor with the committer, if the commit had a path. */
  readonly pathSecret: Uint8Array | undefined;
}

export interface WelcomeInput {
  readonly suite: CipherSuite;
  readonly groupInfo: GroupInfo;
  readonly joinerSecret: Uint8Array;
  readonly welcomeSecret: Uint8Array;
  readonly psks: readonly PreSharedKeyID[];
  readonly newMembers: readonly NewMemberSecrets[];
}

/** Builds one Welcome for all `newMembers`. The caller's secrets are left for it to wipe. */
export function createWelcome(input: WelcomeInput): MlsMessage {
  const { suite } = input;
  const { key, nonce } = welcomeKeyNonce(suite, input.welcomeSecret);
  let encryptedGroupInfo: Uint8Array;
  const plain = encode(groupInfoCodec, input.groupInfo);
  try {
    encryptedGroupInfo = suite.aead.seal(key, nonce, new Uint8Array(0), plain);
  } finally {
    key.fill(0);
    nonce.fill(0);
  }
  const secrets: EncryptedGroupSecrets[] = input.newMembers.map((m) => {
    const groupSecrets = encode(groupSecretsCodec, {
      joinerSecret: input.joinerSecret,
      pathSecret: m.pathSecret === undefined ? undefined : { pathSecret: m.pathSecret },
      psks: input.psks,
    });
    try {
      return {
        newMember: keyPackageRef(suite, m.keyPackage),
        encryptedGroupSecrets: suite.encryptWithLabel(
          m.keyPackage.initKey,
          WELCOME_LABEL,
          encryptedGroupInfo,
          groupSecrets,
        ),
      };
    } finally {
      groupSecrets.fill(0);
    }
  });
  const welcome: Welcome = { cipherSuite: suite.id, secrets, encryptedGroupInfo };
  return { version: PROTOCOL_VERSION_MLS10, wireFormat: WireFormat.welcome, welcome };
}
