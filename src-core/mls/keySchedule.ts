/**
 * The key schedule (RFC 9420 §8): from the previous epoch's init_secret, the commit_secret, the
 * psk_secret and the new GroupContext to the joiner, welcome and epoch secrets and everything
 * derived from the epoch secret.
 *
 * Forward secrecy (§9.2) asks that a secret be deleted once consumed. Processing a commit is
 * staged, though: a commit that later fails validation must leave the current epoch intact. So the
 * derivations here never modify their inputs; the caller deletes the old epoch's secrets when it
 * merges (`EpochSecrets.destroy`, `forget`), and intermediate values that never leave this module
 * (the extracted member secret, the epoch secret) are zeroized at once.
 */
import { CryptoError } from '../crypto/index.js';
import type { CipherSuite, KeyPair } from '../crypto/types.js';
import { MlsError } from './errors.js';

/** The secrets derived from epoch_secret (§8, "Epoch-Derived Secrets"), by their RFC labels. */
export const EPOCH_SECRET_LABELS = {
  senderData: 'sender data',
  encryption: 'encryption',
  exporter: 'exporter',
  external: 'external',
  confirmation: 'confirm',
  membership: 'membership',
  resumption: 'resumption',
  authentication: 'authentication',
  init: 'init',
} as const;

export type EpochSecretName = keyof typeof EPOCH_SECRET_LABELS;

/** The label under which the joiner of an external commit exports the new init_secret (§8.3). */
const EXTERNAL_INIT_EXPORT_LABEL = new TextEncoder().encode('MLS 1.0 external init secret');
const EMPTY = new Uint8Array(0);

/** The all-zero vector of length KDF.Nh: the commit_secret of a commit without a path. */
export function zeroSecret(suite: CipherSuite): Uint8Array {
  return new Uint8Array(suite.kdf.size);
}

function checkSecret(suite: CipherSuite, secret: Uint8Array, what: string): void {
  if (secret.length !== suite.kdf.size) {
    throw new MlsError(
      'invalid_argument',
      `${what} of ${secret.length} bytes, want ${suite.kdf.size}`,
    );
  }
}

/**
 * joiner_secret = ExpandWithLabel(Extract(salt = init_secret, ikm = commit_secret), "joiner",
 * GroupContext_[n], Nh). `groupContext` is the serialized GroupContext of the new epoch.
 */
export function deriveJoinerSecret(
  suite: CipherSuite,
  initSecret: Uint8Array,
  commitSecret: Uint8Array,
  groupContext: Uint8Array,
): Uint8Array {
  checkSecret(suite, initSecret, 'init_secret');
  checkSecret(suite, commitSecret, 'commit_secret');
  const prk = suite.kdf.extract(initSecret, commitSecret);
  try {
    return suite.expandWithLabel(prk, 'joiner', groupContext, suite.kdf.size);
  } finally {
    prk.fill(0);
  }
}

/** The output of the key schedule for one new epoch. */
export interface NewEpoch {
  /** Sent to new members in GroupSecrets (committer) or received from there (joiner). */
  readonly joinerSecret: Uint8Array;
  /** Keys the GroupInfo inside a Welcome: see `welcomeKeyNonce`. */
  readonly welcomeSecret: Uint8Array;
  readonly epoch: EpochSecrets;
}

/**
 * From joiner_secret on (§8): member = Extract(salt = joiner_secret, ikm = psk_secret);
 * welcome_secret = DeriveSecret(member, "welcome"); epoch_secret = ExpandWithLabel(member, "epoch",
 * GroupContext_[n], Nh). A new member starts here with the joiner_secret from GroupSecrets.
 * The returned `joinerSecret` is the caller's own buffer.
 */
export function epochFromJoinerSecret(
  suite: CipherSuite,
  joinerSecret: Uint8Array,
  pskSecret: Uint8Array,
  groupContext: Uint8Array,
): NewEpoch {
  checkSecret(suite, joinerSecret, 'joiner_secret');
  checkSecret(suite, pskSecret, 'psk_secret');
  const member = suite.kdf.extract(joinerSecret, pskSecret);
  try {
    const welcomeSecret = suite.deriveSecret(member, 'welcome');
    const epochSecret = suite.expandWithLabel(member, 'epoch', groupContext, suite.kdf.size);
    return { joinerSecret, welcomeSecret, epoch: EpochSecrets.fromEpochSecret(suite, epochSecret) };
  } finally {
    member.fill(0);
  }
}

/**
 * welcome_secret alone (§8): a new member needs it to decrypt the GroupInfo, whose GroupContext
 * the rest of `epochFromJoinerSecret` then takes.
 */
export function deriveWelcomeSecret(
  suite: CipherSuite,
  joinerSecret: Uint8Array,
  pskSecret: Uint8Array,
): Uint8Array {
  checkSecret(suite, joinerSecret, 'joiner_secret');
  checkSecret(suite, pskSecret, 'psk_secret');
  const member = suite.kdf.extract(joinerSecret, pskSecret);
  try {
    return suite.deriveSecret(member, 'welcome');
  } finally {
    member.fill(0);
  }
}

/** The inputs of one step of the key schedule (§8). */
export interface KeyScheduleInput {
  /** init_secret of the previous epoch, or from external init (§8.3). Not modified. */
  readonly initSecret: Uint8Array;
  /** The commit_secret (path_secret[n+1] of the root, or zeroSecret without a path). */
  readonly commitSecret: Uint8Array;
  /** psk_secret, or zeroSecret without PSKs (computePskSecret gives that for an empty list). */
  readonly pskSecret: Uint8Array;
  /** The serialized GroupContext of the new epoch. */
  readonly groupContext: Uint8Array;
}

/** One full step of the key schedule, as a committer or a member processing a commit does it. */
export function deriveEpoch(suite: CipherSuite, input: KeyScheduleInput): NewEpoch {
  const joinerSecret = deriveJoinerSecret(
    suite,
    input.initSecret,
    input.commitSecret,
    input.groupContext,
  );
  try {
    return epochFromJoinerSecret(suite, joinerSecret, input.pskSecret, input.groupContext);
  } catch (e) {
    joinerSecret.fill(0);
    throw e;
  }
}

/** welcome_key and welcome_nonce, which encrypt the GroupInfo in a Welcome (§12.4.3.1). */
export function welcomeKeyNonce(
  suite: CipherSuite,
  welcomeSecret: Uint8Array,
): { key: Uint8Array; nonce: Uint8Array } {
  checkSecret(suite, welcomeSecret, 'welcome_secret');
  return {
    key: suite.expandWithLabel(welcomeSecret, 'key', EMPTY, suite.aead.keySize),
    nonce: suite.expandWithLabel(welcomeSecret, 'nonce', EMPTY, suite.aead.nonceSize),
  };
}

/**
 * The joiner's side of external init (§8.3): `kem_output, context = SetupBaseS(external_pub, "")`,
 * `init_secret = context.export("MLS 1.0 external init secret", Nh)`. The kem_output goes into the
 * ExternalInit proposal; the init_secret feeds `deriveEpoch`.
 */
export function externalInitSend(
  suite: CipherSuite,
  externalPub: Uint8Array,
  ikmE?: Uint8Array,
): { kemOutput: Uint8Array; initSecret: Uint8Array } {
  const { enc, exported } = wrapCrypto(() =>
    suite.hpke.sendExport(externalPub, EMPTY, EXTERNAL_INIT_EXPORT_LABEL, suite.kdf.size, ikmE),
  );
  return { kemOutput: enc, initSecret: exported };
}

/**
 * The members' side of external init: `SetupBaseR(kem_output, external_priv, "")` and the same
 * export. A malformed kem_output gives MlsError('invalid_kem_output').
 */
export function externalInitReceive(
  suite: CipherSuite,
  externalPrivateKey: Uint8Array,
  kemOutput: Uint8Array,
): Uint8Array {
  if (kemOutput.length !== suite.hpke.kem.encSize) {
    throw new MlsError(
      'invalid_kem_output',
      `kem_output of ${kemOutput.length} bytes, want ${suite.hpke.kem.encSize}`,
    );
  }
  return wrapCrypto(() =>
    suite.hpke.receiveExport(
      kemOutput,
      externalPrivateKey,
      EMPTY,
      EXTERNAL_INIT_EXPORT_LABEL,
      suite.kdf.size,
    ),
  );
}

function wrapCrypto<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    // Bad keys or encapsulations from the network come back as CryptoError; report them as MLS
    // input errors. Anything else (a bug) propagates untouched.
    if (e instanceof CryptoError) {
      throw new MlsError('invalid_kem_output', 'HPKE rejected the external init key material', {
        cause: e,
      });
    }
    throw e;
  }
}

/** Compares two MACs without an early exit on the first differing byte. */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * The secrets of one epoch. Each can be deleted (zeroized) on its own once consumed; reading a
 * deleted secret throws MlsError('secret_deleted') rather than handing out zeros.
 */
export class EpochSecrets {
  readonly suite: CipherSuite;
  private readonly secrets = new Map<EpochSecretName, Uint8Array>();
  private externalKeys: KeyPair | undefined;

  private constructor(suite: CipherSuite) {
    this.suite = suite;
  }

  /**
   * Derives every epoch secret from `epochSecret` and zeroizes it: nothing else is derived from it.
   * Group creation (§11) starts here with a fresh random epoch secret.
   */
  static fromEpochSecret(suite: CipherSuite, epochSecret: Uint8Array): EpochSecrets {
    checkSecret(suite, epochSecret, 'epoch_secret');
    const out = new EpochSecrets(suite);
    for (const [name, label] of Object.entries(EPOCH_SECRET_LABELS) as [
      EpochSecretName,
      string,
    ][]) {
      out.secrets.set(name, suite.deriveSecret(epochSecret, label));
    }
    epochSecret.fill(0);
    return out;
  }

  /**
   * Secrets restored from storage (the state codec), which takes ownership of the buffers.
   * Throws MlsError('state_corrupt') for a wrong length or a name listed twice.
   */
  static restore(
    suite: CipherSuite,
    entries: Iterable<readonly [EpochSecretName, Uint8Array]>,
  ): EpochSecrets {
    const out = new EpochSecrets(suite);
    for (const [name, secret] of entries) {
      if (!(name in EPOCH_SECRET_LABELS) || out.secrets.has(name)) {
        throw new MlsError('state_corrupt', `epoch secret ${name} unknown or repeated`);
      }
      if (secret.length !== suite.kdf.size) {
        throw new MlsError('state_corrupt', `epoch secret ${name} of ${secret.length} bytes`);
      }
      out.secrets.set(name, secret);
    }
    return out;
  }

  /** The secrets still held, by name (views of the live buffers, for the state codec only). */
  held(): [EpochSecretName, Uint8Array][] {
    return [...this.secrets];
  }

  /** Reads a secret without consuming it. */
  get(name: EpochSecretName): Uint8Array {
    const s = this.secrets.get(name);
    if (s === undefined)
      throw new MlsError('secret_deleted', `${EPOCH_SECRET_LABELS[name]} secret was deleted`);
    return s;
  }

  has(name: EpochSecretName): boolean {
    return this.secrets.has(name);
  }

  /**
   * Hands a secret over to its consumer and deletes it here; the caller now owns the buffer. The
   * secret tree takes the encryption secret this way; the init secret leaves when the next
   * epoch is merged.
   */
  take(name: EpochSecretName): Uint8Array {
    const s = this.get(name);
    this.secrets.delete(name);
    if (name === 'external') this.dropExternalKeys();
    return s;
  }

  /** Zeroizes and deletes the named secrets. */
  forget(...names: EpochSecretName[]): void {
    for (const name of names) {
      this.secrets.get(name)?.fill(0);
      this.secrets.delete(name);
      if (name === 'external') this.dropExternalKeys();
    }
  }

  /** Zeroizes everything (the epoch is over). */
  destroy(): void {
    this.forget(...(Object.keys(EPOCH_SECRET_LABELS) as EpochSecretName[]));
  }

  get senderDataSecret(): Uint8Array {
    return this.get('senderData');
  }
  get encryptionSecret(): Uint8Array {
    return this.get('encryption');
  }
  get exporterSecret(): Uint8Array {
    return this.get('exporter');
  }
  get externalSecret(): Uint8Array {
    return this.get('external');
  }
  get confirmationKey(): Uint8Array {
    return this.get('confirmation');
  }
  get membershipKey(): Uint8Array {
    return this.get('membership');
  }
  get resumptionPsk(): Uint8Array {
    return this.get('resumption');
  }
  get epochAuthenticator(): Uint8Array {
    return this.get('authentication');
  }
  /** init_secret for the next epoch. Not consumed by reading: a staged commit may be discarded. */
  get initSecret(): Uint8Array {
    return this.get('init');
  }

  /** The key schedule step into the next epoch from this epoch's init_secret. */
  next(commitSecret: Uint8Array, pskSecret: Uint8Array, groupContext: Uint8Array): NewEpoch {
    return deriveEpoch(this.suite, {
      initSecret: this.initSecret,
      commitSecret,
      pskSecret,
      groupContext,
    });
  }

  /** external_priv, external_pub = KEM.DeriveKeyPair(external_secret) (§8), derived once. */
  externalKeyPair(): KeyPair {
    this.externalKeys ??= this.suite.deriveHpkeKeyPair(this.externalSecret);
    return this.externalKeys;
  }

  /** The external_pub published in GroupInfo for external joins. */
  get externalPub(): Uint8Array {
    return this.externalKeyPair().publicKey;
  }

  /** The members' side of external init with this epoch's external key pair (§8.3). */
  externalInitSecret(kemOutput: Uint8Array): Uint8Array {
    return externalInitReceive(this.suite, this.externalKeyPair().privateKey, kemOutput);
  }

  /**
   * MLS-Exporter(Label, Context, Length) = ExpandWithLabel(DeriveSecret(exporter_secret, Label),
   * "exported", Hash(Context), Length) (§8.5).
   */
  exporter(label: string, context: Uint8Array, length: number): Uint8Array {
    const max = Math.min(0xffff, 255 * this.suite.kdf.size);
    if (!Number.isInteger(length) || length < 0 || length > max) {
      throw new MlsError('invalid_argument', `exporter length ${length} outside 0..${max}`);
    }
    const derived = this.suite.deriveSecret(this.exporterSecret, label);
    try {
      return this.suite.expandWithLabel(
        derived,
        'exported',
        this.suite.hash.digest(context),
        length,
      );
    } finally {
      derived.fill(0);
    }
  }

  /** confirmation_tag = MAC(confirmation_key, confirmed_transcript_hash) (§6.1). */
  confirmationTag(confirmedTranscriptHash: Uint8Array): Uint8Array {
    return this.suite.hash.mac(this.confirmationKey, confirmedTranscriptHash);
  }

  /** Checks a received confirmation tag in constant time. */
  verifyConfirmationTag(confirmedTranscriptHash: Uint8Array, tag: Uint8Array): boolean {
    return constantTimeEqual(this.confirmationTag(confirmedTranscriptHash), tag);
  }

  private dropExternalKeys(): void {
    this.externalKeys?.privateKey.fill(0);
    this.externalKeys = undefined;
  }
}
