// Group states of members of a prebuilt tree, all in the same epoch: what the members of an
// established group hold, without replaying the commits that led there. Each state gets the same
// GroupContext and epoch secret (so they agree on every key) and its own copy of its private keys
// and secrets (so that one state's merge or destroy wipes nothing another state uses).
import type { CipherSuite, KeyPair } from '../../src-core/crypto/types.js';
import { updateInterimTranscriptHash } from '../../src-core/mls/framing/transcriptHash.js';
import type { GroupContext } from '../../src-core/mls/groupContext.js';
import { PROTOCOL_VERSION_MLS10 } from '../../src-core/mls/groupContext.js';
import type { GroupConfig } from '../../src-core/mls/group/index.js';
import { GroupState, resolveGroupConfig } from '../../src-core/mls/group/index.js';
import { epochReceiver, keptResumptionPsks } from '../../src-core/mls/group/epochTransition.js';
import { EpochSecrets } from '../../src-core/mls/keySchedule.js';
import { PrivatePath } from '../../src-core/mls/treekem/index.js';
import type { BaseTree } from './trees.js';
import { BENCH_GROUP_ID } from './trees.js';

function copyKeyPair(kp: KeyPair): KeyPair {
  return { publicKey: kp.publicKey, privateKey: kp.privateKey.slice() };
}

function copyPath(path: PrivatePath): PrivatePath {
  const leaf = path.leafIndex;
  const rest = path.nodes().filter((x) => x !== 2 * leaf);
  return PrivatePath.forLeaf(leaf, copyKeyPair(path.keyPair(2 * leaf)!)).with(
    rest.map((x) => [x, copyKeyPair(path.keyPair(x)!)] as const),
  );
}

/**
 * The states of `leaves` (each must be among the base tree's keyed members) in one fresh epoch of
 * the group whose tree is `base.tree`.
 */
export function memberStates(
  suite: CipherSuite,
  base: BaseTree,
  leaves: readonly number[],
  groupConfig: GroupConfig = {},
): GroupState[] {
  const config = resolveGroupConfig(groupConfig);
  const groupContext: GroupContext = {
    version: PROTOCOL_VERSION_MLS10,
    cipherSuite: suite.id,
    groupId: BENCH_GROUP_ID,
    epoch: 1n,
    treeHash: base.tree.treeHash(),
    // As if some commits had come before (a transcript hash is never empty after epoch 0).
    confirmedTranscriptHash: suite.randomBytes(suite.hash.size),
    extensions: [],
  };
  const epochSecret = suite.randomBytes(suite.kdf.size);
  try {
    return leaves.map((leaf) => {
      const path = base.privatePaths.get(leaf);
      const signatureKey = base.signatureKeys.get(leaf);
      if (path === undefined || signatureKey === undefined) {
        throw new Error(`leaf ${leaf} has no keys in the ${base.shape} tree of ${base.members}`);
      }
      const epochSecrets = EpochSecrets.fromEpochSecret(suite, epochSecret.slice());
      const confirmationTag = epochSecrets.confirmationTag(groupContext.confirmedTranscriptHash);
      const receiver = epochReceiver(suite, config, groupContext, base.tree, epochSecrets);
      return GroupState.fromParts({
        suite,
        config,
        groupContext,
        tree: base.tree,
        ownLeaf: leaf,
        privatePath: copyPath(path),
        signaturePrivateKey: signatureKey.slice(),
        interimTranscriptHash: updateInterimTranscriptHash(
          suite,
          groupContext.confirmedTranscriptHash,
          confirmationTag,
        ),
        confirmationTag,
        epochSecrets,
        receiver,
        pastReceivers: [],
        resumptionPsks: keptResumptionPsks(config, groupContext.epoch, epochSecrets),
        status: 'active',
      });
    });
  } finally {
    epochSecret.fill(0);
  }
}
