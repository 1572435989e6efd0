/**
 * Joining from a Welcome with the tree's leaf signatures, a join's dominant cost (one per member),
 * verified on other cores: `joinFromWelcome` (join.ts) with the same checks in the same order,
 * the same errors, and likewise no state change when it fails.
 */
import type { BatchVerifier } from '../../crypto/batchVerify.js';
import { createBatchVerifier } from '../../crypto/batchVerify.js';
import type { CipherSuite } from '../../crypto/types.js';
import type { GroupContext } from '../groupContext.js';
import type { RatchetTree } from '../ratchetTree/ratchetTree.js';
import type {
  SignatureBatchVerifier,
  StartedLeafSignatures,
} from '../ratchetTree/treeValidation.js';
import { startLeafSignatures, validateRatchetTreeAsync } from '../ratchetTree/treeValidation.js';
import type { ResolvedGroupConfig } from './config.js';
import type { GroupState } from './groupState.js';
import type { JoinOptions, ReceivedRatchetTree } from './join.js';
import {
  checkTreeKeysAndCredentials,
  finishJoin,
  startJoin,
  treeValidationContext,
  validateTree,
} from './join.js';

export interface AsyncJoinOptions extends JoinOptions {
  /**
   * Verifies the tree's leaf signatures in batches (e.g. on worker threads). By default a large
   * tree (from PARALLEL_JOIN_MIN_MEMBERS members) gets a worker-thread verifier for this join
   * (src-core/crypto/batchVerify.ts), closed when the join ends; a smaller one is verified here.
   */
  readonly verifier?: SignatureBatchVerifier;
}

/** From this many members a join spawns workers by default: below, starting them costs more. */
export const PARALLEL_JOIN_MIN_MEMBERS = 1024;

/**
 * `joinFromWelcome` with the leaf signatures, a join's dominant cost, verified by a batch verifier
 * that may use other cores. The same checks in the same order, the same errors, and likewise no
 * state changes when it fails.
 */
export async function joinFromWelcomeAsync(options: AsyncJoinOptions): Promise<GroupState> {
  let own: BatchVerifier | undefined;
  let verify = options.verifier;
  let started: StartedLeafSignatures | undefined;
  try {
    const join = startJoin(options, (received, leafBytes, gc, suite) => {
      if (verify === undefined) {
        let members = 0;
        for (let x = 0; x < received.nodes.length; x += 2) {
          if (received.nodes[x] !== undefined) members++;
        }
        if (members < PARALLEL_JOIN_MIN_MEMBERS) return;
        const v = createBatchVerifier(suite.signature);
        own = v;
        verify = (checks) => v.verify(checks);
      }
      started = startLeafSignatures(
        received.nodes,
        { groupId: gc.groupId, ...(leafBytes === undefined ? {} : { leafBytes }) },
        verify,
      );
    });
    const gc = join.opened.groupInfo.groupContext;
    try {
      if (verify === undefined)
        validateTree(join.suite, join.config, join.tree, gc, join.leafBytes);
      else {
        await validateTreeAsync(join.suite, join.config, join.tree, gc, verify, {
          leafBytes: join.leafBytes,
          started,
        });
      }
    } catch (e) {
      for (const s of join.secretsToWipe) s.fill(0);
      throw e;
    }
    return finishJoin(options, join);
  } finally {
    await (own as BatchVerifier | undefined)?.close();
  }
}

/** `validateTree` with the leaf signatures verified by `verify`. */
export async function validateTreeAsync(
  suite: CipherSuite,
  config: ResolvedGroupConfig,
  tree: RatchetTree,
  gc: GroupContext,
  verify: SignatureBatchVerifier,
  received: {
    leafBytes?: ReceivedRatchetTree['leafBytes'];
    started?: StartedLeafSignatures | undefined;
  } = {},
): Promise<void> {
  await validateRatchetTreeAsync(
    tree,
    treeValidationContext(config, gc, received.leafBytes),
    verify,
    received.started,
  );
  checkTreeKeysAndCredentials(suite, config, tree, gc);
}
