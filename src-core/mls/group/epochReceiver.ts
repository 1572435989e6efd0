/**
 * What it takes to read a PrivateMessage of one epoch: the GroupContext (signatures cover it), the
 * tree (senders' signature keys), the secret tree and the sender data secret.
 *
 * The current epoch's receiver lives on in the next few states as a "past epoch", so that
 * application messages sent before a commit and delivered after it still decrypt (§15.3). One
 * receiver may thus belong to several states at once (the current one, and snapshots a caller
 * keeps for fork recovery); it counts its holders and wipes its keys when the last one lets go.
 */
import type { CipherSuite } from '../../crypto/types.js';
import { MlsError } from '../errors.js';
import type { EpochFramingState } from '../framing/rules.js';
import type { GroupContext } from '../groupContext.js';
import type { RatchetTree } from '../ratchetTree/ratchetTree.js';
import type { SecretTree } from '../secretTree.js';

const NO_MEMBERSHIP_KEY = new Uint8Array(0);

export class EpochReceiver {
  private holders = 1;

  /** Takes ownership of `secretTree` and `senderDataSecret`; the creator is the first holder. */
  constructor(
    readonly suite: CipherSuite,
    readonly groupContext: GroupContext,
    readonly tree: RatchetTree,
    readonly secretTree: SecretTree,
    private readonly senderDataSecret: Uint8Array,
  ) {}

  get epoch(): bigint {
    return this.groupContext.epoch;
  }

  /** Whether some state still holds this receiver (its keys are not wiped). */
  get live(): boolean {
    return this.holders > 0;
  }

  /** One more holder. */
  retain(): this {
    if (this.holders === 0) {
      throw new MlsError('secret_deleted', `the keys of epoch ${this.epoch} were deleted`);
    }
    this.holders++;
    return this;
  }

  /** One holder fewer; the last one wipes the keys. Releasing twice per holder is a bug. */
  release(): void {
    if (this.holders === 0) return;
    this.holders--;
    if (this.holders === 0) {
      this.secretTree.destroy();
      this.senderDataSecret.fill(0);
    }
  }

  /**
   * The framing view of this epoch. The membership key only matters for PublicMessages of the
   * current epoch, which the state supplies; past epochs receive PrivateMessages only.
   */
  framing(membershipKey: Uint8Array = NO_MEMBERSHIP_KEY): EpochFramingState {
    if (this.holders === 0) {
      throw new MlsError('secret_deleted', `the keys of epoch ${this.epoch} were deleted`);
    }
    return {
      suite: this.suite,
      groupContext: this.groupContext,
      membershipKey,
      senderDataSecret: this.senderDataSecret,
      secretTree: this.secretTree,
    };
  }
}
