/**
 * Receiving many PrivateMessages at once (a catch-up after being offline, a burst): the same
 * checks and the same outcome as `unprotectPrivateMessage` on each message in order, with the
 * signature checks, which dominate the cost, spread over worker threads.
 *
 * Three passes. (1) On the calling thread, without touching any state, a segment at a time:
 * sender data, the content keys (`SecretTree.peeker`: one forward walk per ratchet), decryption,
 * decoding and the signed bytes; each segment's signatures go to the workers at once, so that
 * they verify while this thread decrypts the next segment. (2) Await the verdicts.
 * (3) Synchronously, message by message in order, `SecretTree.consume` consumes a generation only
 * for a message that decrypted, decoded and verified and that `accept` took, after the same
 * window checks as `withKey`: the commit-on-success rule holds for each message exactly as one by
 * one, since a key and its plaintext do not depend on the order in which keys are consumed. A
 * message whose key was not peeked (far out of order, or the tree changed meanwhile) is decrypted
 * and verified in pass 3 on the spot, through `withKey`.
 */
import { createBatchVerifier } from '../../crypto/batchVerify.js';
import type { BatchVerifier, SignatureCheck } from '../../crypto/batchVerify.js';
import { mlsLabel, signContentCodec } from '../../crypto/labels.js';
import { encode } from '../../codec/index.js';
import type { SignatureScheme } from '../../crypto/types.js';
import { MlsError } from '../errors.js';
import type { KeyNonce, KeyPeeker, RatchetKind } from '../secretTree.js';
import type { AuthenticatedContent } from './authenticatedContent.js';
import { FRAMED_CONTENT_SIGN_LABEL, framedContentTBS } from './authenticatedContent.js';
import { ContentType, framedContentTBSCodec } from './framedContent.js';
import type { PrivateMessage } from './privateMessage.js';
import type { EpochFramingState } from './rules.js';
import { checkHeader } from './rules.js';
import type { SenderData } from './senderData.js';
import { decryptSenderData } from './senderData.js';
import type { SignatureKeyLookup } from './unprotect.js';
import { openPrivateContent, verifySignature } from './unprotect.js';

/** One message's outcome: what `accept` returned, or the MlsError that rejected it. */
export type UnprotectResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: MlsError };

export interface UnprotectBatchOptions {
  /** Verifier for the suite's signature scheme; default: one shared per scheme (see below). */
  readonly verifier?: BatchVerifier;
}

/** Signatures per verifier call: small enough that workers start while pass 1 goes on. */
const CHUNK = 64;
const SIGN_LABEL = mlsLabel(FRAMED_CONTENT_SIGN_LABEL);

// One worker pool per scheme for the process: workers are spawned on first use and unref'd when
// idle, so a shared pool keeps no process alive and costs nothing while unused.
const sharedVerifiers = new WeakMap<SignatureScheme, BatchVerifier>();

function sharedVerifier(scheme: SignatureScheme): BatchVerifier {
  let v = sharedVerifiers.get(scheme);
  if (v === undefined) {
    v = createBatchVerifier(scheme);
    sharedVerifiers.set(scheme, v);
  }
  return v;
}

const yieldToEventLoop = (): Promise<void> =>
  new Promise((resolve) => {
    if (typeof setImmediate === 'function') setImmediate(resolve);
    else setTimeout(resolve, 0);
  });

interface Staged {
  readonly senderData: SenderData;
  readonly kind: RatchetKind;
  /** Decrypted content, or why it failed before its signature (pass 1). */
  opened?: AuthenticatedContent;
  failed?: MlsError;
  /** Index of its signature among the verdicts. */
  check?: number;
}

/**
 * Unprotects `messages` of one epoch as `unprotectPrivateMessage(state, m, lookup, accept)` would
 * in order, returning one result per message. `accept` runs on each verified content before its
 * key is consumed; throwing an MlsError from it rejects that message and consumes nothing. Any
 * other exception propagates at once: the messages before it are then processed, the rest not.
 */
export async function unprotectPrivateMessages<T>(
  state: EpochFramingState,
  messages: readonly PrivateMessage[],
  lookup: SignatureKeyLookup,
  accept: (authenticated: AuthenticatedContent) => T,
  options: UnprotectBatchOptions = {},
): Promise<UnprotectResult<T>[]> {
  const { suite } = state;
  const verifier = options.verifier ?? sharedVerifier(suite.signature);
  const results = new Array<UnprotectResult<T> | undefined>(messages.length);

  // Pass 1, a segment at a time: sender data, keys, decryption and the signed bytes; no state
  // changes. Each segment's signatures go to the workers before the next segment is decrypted.
  const staged = new Array<Staged | undefined>(messages.length);
  const verdicts: Promise<boolean[]>[] = [];
  let checks = 0;
  let peeker: KeyPeeker | undefined;
  try {
    peeker = state.secretTree.peeker();
  } catch (e) {
    // A destroyed tree: pass 3 gets the same error from withKey for each message.
    if (!(e instanceof MlsError)) throw e;
  }
  try {
    for (let from = 0; from < messages.length; from += CHUNK) {
      const to = Math.min(messages.length, from + CHUNK);
      const segment: number[] = [];
      for (let i = from; i < to; i++) {
        const s = openSenderData(state, messages[i]!);
        if (s instanceof MlsError) results[i] = { ok: false, error: s };
        else {
          staged[i] = s;
          segment.push(i);
        }
      }
      const keys =
        peeker?.peek(
          segment.map((i) => {
            const { senderData, kind } = staged[i]!;
            return { leaf: senderData.leafIndex, kind, generation: senderData.generation };
          }),
        ) ?? [];
      const pending: SignatureCheck[] = [];
      try {
        segment.forEach((i, k) => {
          const kn = keys[k];
          if (kn === undefined) return;
          const check = openAndSign(state, messages[i]!, staged[i]!, kn, lookup);
          if (check !== undefined) {
            staged[i]!.check = checks++;
            pending.push(check);
          }
        });
      } finally {
        for (const kn of keys) {
          kn?.key.fill(0);
          kn?.nonce.fill(0);
        }
      }
      if (pending.length > 0) verdicts.push(verifier.verify(pending, { help: false }));
      // Let the workers' answers in, so that they are handed the next chunks meanwhile.
      if (to < messages.length) await yieldToEventLoop();
    }
  } finally {
    peeker?.dispose();
  }

  // Pass 2: the verdicts, in the order the checks were made.
  const verified = (await Promise.all(verdicts)).flat();

  // Pass 3: consume keys in message order, only for what verified and was accepted.
  for (let i = 0; i < messages.length; i++) {
    const s = staged[i];
    if (s === undefined) continue;
    const { leafIndex, generation } = s.senderData;
    try {
      const tree = state.secretTree;
      const opened = s.opened;
      const value =
        opened === undefined && s.failed === undefined
          ? tree.withKey(leafIndex, s.kind, generation, (key, nonce) => {
              const late = openPrivateContent(suite, messages[i]!, s.senderData, key, nonce);
              verifySignature(state, late, lookup);
              return accept(late);
            })
          : tree.consume(leafIndex, s.kind, generation, () => {
              if (opened === undefined) throw s.failed!;
              if (verified[s.check!] !== true) {
                throw new MlsError('invalid_signature', 'content signature does not verify');
              }
              return accept(opened);
            });
      results[i] = { ok: true, value };
    } catch (e) {
      if (!(e instanceof MlsError)) throw e;
      results[i] = { ok: false, error: e };
    }
  }
  return results as UnprotectResult<T>[];
}

function openSenderData(state: EpochFramingState, m: PrivateMessage): Staged | MlsError {
  try {
    checkHeader(state, m.groupId, m.epoch);
    const senderData = decryptSenderData(
      state.suite,
      state.senderDataSecret,
      m.ciphertext,
      m,
      m.encryptedSenderData,
    );
    const kind = m.contentType === ContentType.application ? 'application' : 'handshake';
    return { senderData, kind };
  } catch (e) {
    if (!(e instanceof MlsError)) throw e;
    return e;
  }
}

/**
 * Decrypts a message with its peeked key and returns the signature check of its content, or
 * records in `s.failed` why it failed before its signature.
 */
function openAndSign(
  state: EpochFramingState,
  m: PrivateMessage,
  s: Staged,
  kn: KeyNonce,
  lookup: SignatureKeyLookup,
): SignatureCheck | undefined {
  try {
    const opened = openPrivateContent(state.suite, m, s.senderData, kn.key, kn.nonce);
    const publicKey = lookup(opened.content.sender, opened.content);
    if (publicKey === undefined) {
      throw new MlsError('invalid_sender', 'no signature key for the sender');
    }
    const tbs = encode(
      framedContentTBSCodec,
      framedContentTBS(opened.wireFormat, opened.content, state.groupContext),
    );
    s.opened = opened;
    return {
      publicKey,
      message: encode(signContentCodec, { label: SIGN_LABEL, content: tbs }),
      signature: opened.auth.signature,
    };
  } catch (e) {
    if (!(e instanceof MlsError)) throw e;
    s.failed = e;
    return undefined;
  }
}
