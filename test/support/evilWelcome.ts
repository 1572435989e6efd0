/**
 * A malicious committer's Welcome (RFC 9420 §12.4.3.1): a GroupInfo for whatever tree and
 * GroupContext the test chooses, signed by the committer, with a confirmation tag that matches a
 * joiner_secret the forger picks, encrypted to the joiner's KeyPackage. The joiner can check only
 * what §12.4.3.1 lets it check (signatures, the tree's integrity, the tag), so a tree that breaks a
 * rule reaches exactly that rule's check. Test-only.
 */
import { encode } from '../../src-core/codec/index.js';
import type { CipherSuite } from '../../src-core/crypto/types.js';
import type { Extension } from '../../src-core/mls/extension.js';
import { ExtensionType } from '../../src-core/mls/extension.js';
import { encodeMlsMessage } from '../../src-core/mls/framing/mlsMessage.js';
import { createWelcome } from '../../src-core/mls/group/index.js';
import type { GroupContext } from '../../src-core/mls/groupContext.js';
import { groupContextCodec } from '../../src-core/mls/groupContext.js';
import { signGroupInfo } from '../../src-core/mls/groupInfo.js';
import type { KeyPackage } from '../../src-core/mls/keyPackage.js';
import { epochFromJoinerSecret, zeroSecret } from '../../src-core/mls/keySchedule.js';
import { RatchetTree } from '../../src-core/mls/ratchetTree/index.js';
import type { RatchetTreeNodes } from '../../src-core/mls/ratchetTreeExtension.js';
import { ratchetTreeCodec } from '../../src-core/mls/ratchetTreeExtension.js';
import type { LeafIndex } from '../../src-core/mls/treeMath.js';

export interface ForgeWelcomeOptions {
  readonly suite: CipherSuite;
  /** The GroupContext claimed; its tree_hash is replaced by the hash of `nodes` unless kept. */
  readonly groupContext: GroupContext;
  /** The tree sent in the ratchet_tree extension; undefined sends none. */
  readonly nodes: RatchetTreeNodes | undefined;
  /** Keep `groupContext.treeHash` although `nodes` hash to something else. */
  readonly keepTreeHash?: boolean;
  readonly signer: LeafIndex;
  readonly signaturePrivateKey: Uint8Array;
  readonly joiner: KeyPackage;
  /** The confirmation tag sent, given the one matching the forged joiner_secret. */
  readonly confirmationTag?: (honest: Uint8Array) => Uint8Array;
  /** How the tree is encoded (default: the ratchet_tree codec, which refuses bad encodings). */
  readonly encodeTree?: (nodes: RatchetTreeNodes) => Uint8Array;
  /** More GroupInfo extensions. */
  readonly extensions?: readonly Extension[];
}

/** An encoded Welcome MLSMessage as described by `o`. */
export function forgeWelcome(o: ForgeWelcomeOptions): Uint8Array {
  const { suite } = o;
  let treeHash = o.groupContext.treeHash;
  if (o.nodes !== undefined && o.keepTreeHash !== true) {
    treeHash = RatchetTree.fromNodes(suite, o.nodes).treeHash();
  }
  const groupContext: GroupContext = { ...o.groupContext, treeHash };
  const joinerSecret = suite.randomBytes(suite.kdf.size);
  const epoch = epochFromJoinerSecret(
    suite,
    joinerSecret,
    zeroSecret(suite),
    encode(groupContextCodec, groupContext),
  );
  const tag = epoch.epoch.confirmationTag(groupContext.confirmedTranscriptHash);
  const extensions: Extension[] = [...(o.extensions ?? [])];
  if (o.nodes !== undefined) {
    extensions.push({
      extensionType: ExtensionType.ratchetTree,
      extensionData: o.encodeTree?.(o.nodes) ?? encode(ratchetTreeCodec, o.nodes),
    });
  }
  const groupInfo = signGroupInfo(
    suite,
    {
      groupContext,
      extensions,
      confirmationTag: o.confirmationTag?.(tag) ?? tag,
      signer: o.signer,
    },
    o.signaturePrivateKey,
  );
  const welcome = createWelcome({
    suite,
    groupInfo,
    joinerSecret,
    welcomeSecret: epoch.welcomeSecret,
    psks: [],
    newMembers: [{ keyPackage: o.joiner, pathSecret: undefined }],
  });
  epoch.epoch.destroy();
  return encodeMlsMessage(welcome);
}
