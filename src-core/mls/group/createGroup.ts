/**
 * Creating a group (RFC 9420 §11): one member, epoch 0, a fresh random epoch secret, the
 * confirmation tag over the empty transcript and the interim transcript hash from it.
 */
import type { CipherSuite, KeyPair } from '../../crypto/types.js';
import type { Capabilities } from '../capabilities.js';
import type { Credential } from '../credential.js';
import type { Extension } from '../extension.js';
import { updateInterimTranscriptHash } from '../framing/transcriptHash.js';
import type { GroupContext } from '../groupContext.js';
import { PROTOCOL_VERSION_MLS10 } from '../groupContext.js';
import { EpochSecrets } from '../keySchedule.js';
import { LeafNodeSource, checkLeafNodeCapabilities, signLeafNode } from '../leafNode.js';
import {
  checkRequiredCapabilities,
  requiredCapabilitiesOf,
} from '../ratchetTree/leafValidation.js';
import { RatchetTree } from '../ratchetTree/ratchetTree.js';
import { PrivatePath } from '../treekem/privatePath.js';
import type { GroupConfig } from './config.js';
import { resolveGroupConfig } from './config.js';
import { epochReceiver, keptResumptionPsks } from './epochTransition.js';
import { GroupState } from './groupState.js';
import { checkLeafSupportsExtensions } from './leafChecks.js';
import { defaultCapabilities, lifetimeFrom } from './keyPackages.js';
import { checkGroupContextExtensions } from './proposals/validate.js';

export interface CreateGroupOptions {
  readonly suite: CipherSuite;
  readonly credential: Credential;
  readonly signatureKeyPair: KeyPair;
  /** Default: KDF.Nh random bytes (§11: unique with overwhelming probability). */
  readonly groupId?: Uint8Array;
  /** Our leaf's capabilities (default: `defaultCapabilities`). */
  readonly capabilities?: Capabilities;
  readonly leafExtensions?: readonly Extension[];
  /** The GroupContext extensions. */
  readonly extensions?: readonly Extension[];
  readonly config?: GroupConfig;
}

/** A new group with us alone at leaf 0, in epoch 0. */
export function createGroup(options: CreateGroupOptions): GroupState {
  const { suite } = options;
  const config = resolveGroupConfig(options.config);
  const extensions = options.extensions ?? [];
  const encryption = suite.generateHpkeKeyPair();
  const leaf = signLeafNode(
    suite,
    {
      encryptionKey: encryption.publicKey,
      signatureKey: options.signatureKeyPair.publicKey,
      credential: options.credential,
      capabilities:
        options.capabilities ?? defaultCapabilities(suite, options.credential.credentialType),
      leafNodeSource: LeafNodeSource.keyPackage,
      lifetime: lifetimeFrom(config.now(), config.keyPackageValidFor),
      extensions: options.leafExtensions ?? [],
    },
    options.signatureKeyPair.privateKey,
  );
  checkLeafNodeCapabilities(leaf);
  const tree = RatchetTree.create(suite, leaf);
  const groupContext: GroupContext = {
    version: PROTOCOL_VERSION_MLS10,
    cipherSuite: suite.id,
    groupId: options.groupId ?? suite.randomBytes(suite.kdf.size),
    epoch: 0n,
    treeHash: tree.treeHash(),
    confirmedTranscriptHash: new Uint8Array(0),
    extensions,
  };
  const epochSecrets = EpochSecrets.fromEpochSecret(suite, suite.randomBytes(suite.kdf.size));
  const confirmationTag = epochSecrets.confirmationTag(groupContext.confirmedTranscriptHash);
  const receiver = epochReceiver(suite, config, groupContext, tree, epochSecrets);
  const state = GroupState.fromParts({
    suite,
    config,
    groupContext,
    tree,
    ownLeaf: 0,
    privatePath: PrivatePath.forLeaf(0, encryption),
    signaturePrivateKey: options.signatureKeyPair.privateKey,
    interimTranscriptHash: updateInterimTranscriptHash(
      suite,
      groupContext.confirmedTranscriptHash,
      confirmationTag,
    ),
    confirmationTag,
    epochSecrets,
    receiver,
    pastReceivers: [],
    resumptionPsks: keptResumptionPsks(config, 0n, epochSecrets),
    status: 'active',
  });
  try {
    // Our own GroupContext extensions must be well-formed and supported by our leaf (§13.4).
    checkGroupContextExtensions(config, groupContext.groupId, extensions);
    checkRequiredCapabilities(leaf, requiredCapabilitiesOf(extensions));
    checkLeafSupportsExtensions(leaf, extensions, 'our leaf');
  } catch (e) {
    state.destroy();
    throw e;
  }
  return state;
}
