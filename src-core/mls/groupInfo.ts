import { encode, opaque, struct, uint32 } from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import type { CipherSuite } from '../crypto/types.js';
import { MlsError } from './errors.js';
import type { Extension } from './extension.js';
import { extensionsCodec } from './extension.js';
import type { GroupContext } from './groupContext.js';
import { groupContextCodec } from './groupContext.js';

/**
 * ```
 * struct {
 *     GroupContext group_context;
 *     Extension extensions<V>;
 *     MAC confirmation_tag;
 *     uint32 signer;
 * } GroupInfoTBS;
 * ```
 * `extensions` may hold types this client does not know (GREASE among them): §13.4 says to
 * ignore them, so they are kept as read.
 */
export interface GroupInfoTBS {
  readonly groupContext: GroupContext;
  readonly extensions: readonly Extension[];
  readonly confirmationTag: Uint8Array;
  readonly signer: number;
}

export const groupInfoTbsCodec: Codec<GroupInfoTBS> = struct<GroupInfoTBS>({
  groupContext: groupContextCodec,
  extensions: extensionsCodec as Codec<readonly Extension[]>,
  confirmationTag: opaque,
  signer: uint32,
});

/**
 * ```
 * struct {
 *     GroupContext group_context;
 *     Extension extensions<V>;
 *     MAC confirmation_tag;
 *     uint32 signer;
 *     // SignWithLabel(., "GroupInfoTBS", GroupInfoTBS)
 *     opaque signature<V>;
 * } GroupInfo;
 * ```
 */
export interface GroupInfo extends GroupInfoTBS {
  readonly signature: Uint8Array;
}

export const groupInfoCodec: Codec<GroupInfo> = {
  encode(w, v) {
    groupInfoTbsCodec.encode(w, v);
    opaque.encode(w, v.signature);
  },
  decode(r) {
    const tbs = groupInfoTbsCodec.decode(r);
    return { ...tbs, signature: opaque.decode(r) };
  },
};

const GROUP_INFO_LABEL = 'GroupInfoTBS';

/** Signs a GroupInfo with the private key of the leaf at `tbs.signer` (§12.4.3). */
export function signGroupInfo(
  suite: CipherSuite,
  tbs: GroupInfoTBS,
  signaturePrivateKey: Uint8Array,
): GroupInfo {
  checkSuite(suite, tbs);
  const content = encode(groupInfoTbsCodec, tbs);
  return {
    groupContext: tbs.groupContext,
    extensions: tbs.extensions,
    confirmationTag: tbs.confirmationTag,
    signer: tbs.signer,
    signature: suite.signWithLabel(signaturePrivateKey, GROUP_INFO_LABEL, content),
  };
}

/**
 * Verifies a GroupInfo's signature (§12.4.3.1) under `signerPublicKey`, which the caller takes
 * from the `signature_key` of the leaf at index `groupInfo.signer` in the group's ratchet tree
 * (the tree is not part of the GroupInfo, so finding that leaf is the caller's job).
 * Throws MlsError('unsupported_cipher_suite') if the GroupContext names another suite, and
 * MlsError('invalid_signature') if the signature does not verify.
 */
export function verifyGroupInfoSignature(
  suite: CipherSuite,
  groupInfo: GroupInfo,
  signerPublicKey: Uint8Array,
): void {
  checkSuite(suite, groupInfo);
  const content = encode(groupInfoTbsCodec, groupInfo);
  if (!suite.verifyWithLabel(signerPublicKey, GROUP_INFO_LABEL, content, groupInfo.signature)) {
    throw new MlsError('invalid_signature', 'GroupInfo signature does not verify');
  }
}

function checkSuite(suite: CipherSuite, tbs: GroupInfoTBS): void {
  if (tbs.groupContext.cipherSuite !== suite.id) {
    throw new MlsError(
      'unsupported_cipher_suite',
      `GroupInfo cipher suite ${tbs.groupContext.cipherSuite}, expected ${suite.id}`,
    );
  }
}
