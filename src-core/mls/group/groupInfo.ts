/**
 * Building GroupInfo objects (RFC 9420 §12.4.3): for a Welcome, and for joiners by external commit
 * (with `external_pub`, §12.4.3.2), optionally carrying the tree (§12.4.3.3).
 */
import { encode, opaque, struct } from '../../codec/index.js';
import type { Codec } from '../../codec/index.js';
import type { CipherSuite } from '../../crypto/types.js';
import type { Extension } from '../extension.js';
import { ExtensionType } from '../extension.js';
import { PROTOCOL_VERSION_MLS10 } from '../groupContext.js';
import type { GroupContext } from '../groupContext.js';
import type { GroupInfo } from '../groupInfo.js';
import { signGroupInfo } from '../groupInfo.js';
import type { MlsMessage } from '../framing/mlsMessage.js';
import { WireFormat } from '../framing/framedContent.js';
import { checkDistinctExtensions } from '../leafNode.js';
import type { TreeReader } from '../ratchetTree/treeReader.js';
import { ratchetTreeCodec } from '../ratchetTreeExtension.js';
import type { LeafIndex } from '../treeMath.js';
import type { GroupState } from './groupState.js';

/** `struct { HPKEPublicKey external_pub; } ExternalPub;` */
export interface ExternalPub {
  readonly externalPub: Uint8Array;
}

export const externalPubCodec: Codec<ExternalPub> = struct<ExternalPub>({ externalPub: opaque });

/** The `ratchet_tree` extension carrying `tree` (§12.4.3.3). */
export function ratchetTreeExtension(tree: TreeReader): Extension {
  return {
    extensionType: ExtensionType.ratchetTree,
    extensionData: encode(ratchetTreeCodec, tree.toNodes()),
  };
}

export interface GroupInfoOptions {
  /** Include the ratchet tree (else joiners get it out of band). Default true. */
  readonly ratchetTree?: boolean;
  /** Include `external_pub`, allowing external commits. Default true. */
  readonly externalPub?: boolean;
  /** More GroupInfo extensions (not ratchet_tree or external_pub). */
  readonly extensions?: readonly Extension[];
}

/** The epoch a GroupInfo describes and who signs it. */
export interface GroupInfoSource {
  readonly suite: CipherSuite;
  readonly groupContext: GroupContext;
  readonly tree: TreeReader;
  readonly confirmationTag: Uint8Array;
  readonly signer: LeafIndex;
  readonly signaturePrivateKey: Uint8Array;
  readonly externalPub?: Uint8Array;
}

/** A signed GroupInfo for `source`'s epoch. */
export function buildGroupInfo(source: GroupInfoSource, options: GroupInfoOptions = {}): GroupInfo {
  const extensions: Extension[] = [...(options.extensions ?? [])];
  if (options.ratchetTree ?? true) extensions.push(ratchetTreeExtension(source.tree));
  if (source.externalPub !== undefined) {
    extensions.push({
      extensionType: ExtensionType.externalPub,
      extensionData: encode(externalPubCodec, { externalPub: source.externalPub }),
    });
  }
  checkDistinctExtensions(extensions, 'GroupInfo');
  return signGroupInfo(
    source.suite,
    {
      groupContext: source.groupContext,
      extensions,
      confirmationTag: source.confirmationTag,
      signer: source.signer,
    },
    source.signaturePrivateKey,
  );
}

/** Wraps a GroupInfo as an MLSMessage. */
export function groupInfoMessage(groupInfo: GroupInfo): MlsMessage {
  return { version: PROTOCOL_VERSION_MLS10, wireFormat: WireFormat.groupInfo, groupInfo };
}

/**
 * A GroupInfo of `state`'s current epoch, signed by us: what a joiner by external commit needs
 * (with `external_pub` and, by default, the tree).
 */
export function createGroupInfo(state: GroupState, options: GroupInfoOptions = {}): MlsMessage {
  state.requireActive();
  const withPub = options.externalPub ?? true;
  return groupInfoMessage(
    buildGroupInfo(
      {
        suite: state.suite,
        groupContext: state.groupContext,
        tree: state.tree,
        confirmationTag: state.confirmationTag,
        signer: state.ownLeaf,
        signaturePrivateKey: state.signaturePrivateKey,
        ...(withPub ? { externalPub: state.externalPub() } : {}),
      },
      options,
    ),
  );
}
