/**
 * The cryptographic interface the MLS layer is written against. Every operation is synchronous:
 * MLS does many small hashes and derivations per message, and a promise per hash would dominate.
 *
 * Keys travel as raw bytes in their MLS wire form: HPKE public keys as SerializePublicKey,
 * HPKE private keys as SerializePrivateKey (RFC 9180), signature public keys as in
 * SignaturePublicKey, signature private keys as raw scalars (ECDSA: big-endian field element;
 * EdDSA: the seed).
 */

/** The seven cipher suites of RFC 9420 §17.1. */
export type CipherSuiteId = 1 | 2 | 3 | 4 | 5 | 6 | 7;

export interface Hash {
  readonly name: 'SHA-256' | 'SHA-384' | 'SHA-512';
  /** Output length in bytes (Nh). */
  readonly size: number;
  digest(data: Uint8Array): Uint8Array;
  mac(key: Uint8Array, data: Uint8Array): Uint8Array;
}

export interface Kdf {
  /** The HPKE KDF identifier (RFC 9180 §7.2). */
  readonly id: number;
  /** Nh: the length of an extracted secret. */
  readonly size: number;
  extract(salt: Uint8Array, ikm: Uint8Array): Uint8Array;
  expand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array;
}

export interface Aead {
  /** The HPKE AEAD identifier (RFC 9180 §7.3). */
  readonly id: number;
  readonly keySize: number;
  readonly nonceSize: number;
  readonly tagSize: number;
  seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /** Throws CryptoError('aead_open_failed') if the tag does not verify. */
  open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array;
}

export interface KeyPair {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

export interface Kem {
  /** The HPKE KEM identifier (RFC 9180 §7.1). */
  readonly id: number;
  readonly secretSize: number;
  readonly encSize: number;
  readonly publicKeySize: number;
  readonly privateKeySize: number;
  generateKeyPair(): KeyPair;
  deriveKeyPair(ikm: Uint8Array): KeyPair;
  /** Throws CryptoError('invalid_private_key') for a key out of range or of the wrong length. */
  publicKeyFromPrivate(privateKey: Uint8Array): Uint8Array;
  /**
   * DeserializePublicKey's validation (RFC 9180 §7.1.1): right length and encoding, and for the
   * NIST curves a point on the curve. Encap and Decap also reject bad keys with a CryptoError.
   */
  isValidPublicKey(publicKey: Uint8Array): boolean;
}

/** The result of HPKE single-shot sealing. */
export interface HpkeSealed {
  readonly enc: Uint8Array;
  readonly ciphertext: Uint8Array;
}

/** RFC 9180 HPKE for one (KEM, KDF, AEAD) triple. */
export interface Hpke {
  readonly kem: Kem;
  readonly kdf: Kdf;
  readonly aead: Aead;
  /** Base mode (0) single-shot seal; `ikmE` makes encapsulation deterministic (for tests). */
  seal(
    publicKey: Uint8Array,
    info: Uint8Array,
    aad: Uint8Array,
    plaintext: Uint8Array,
    ikmE?: Uint8Array,
  ): HpkeSealed;
  /** Base mode (0) single-shot open. Throws CryptoError on a bad tag or a bad enc. */
  open(
    enc: Uint8Array,
    privateKey: Uint8Array,
    info: Uint8Array,
    aad: Uint8Array,
    ciphertext: Uint8Array,
  ): Uint8Array;
  /**
   * Base mode single-shot export (RFC 9180 §6.2 SendExport): encapsulates to `publicKey` and
   * returns `enc` with Context.Export(exporterContext, length). MLS external init (RFC 9420 §8.3)
   * derives the joiner's init_secret this way. `ikmE` makes encapsulation deterministic (tests).
   */
  sendExport(
    publicKey: Uint8Array,
    info: Uint8Array,
    exporterContext: Uint8Array,
    length: number,
    ikmE?: Uint8Array,
  ): { enc: Uint8Array; exported: Uint8Array };
  /** Base mode ReceiveExport (RFC 9180 §6.2). Throws CryptoError on a bad enc. */
  receiveExport(
    enc: Uint8Array,
    privateKey: Uint8Array,
    info: Uint8Array,
    exporterContext: Uint8Array,
    length: number,
  ): Uint8Array;
}

export interface SignatureScheme {
  /** The TLS SignatureScheme value (RFC 8446 §4.2.3). */
  readonly id: number;
  generateKeyPair(): KeyPair;
  publicKeyFromPrivate(privateKey: Uint8Array): Uint8Array;
  sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array;
  /** False for a bad signature or a malformed key or signature; never throws on bad input. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

/** A cipher suite with the labeled operations of RFC 9420 §5. */
export interface CipherSuite {
  readonly id: CipherSuiteId;
  readonly name: string;
  readonly hash: Hash;
  readonly kdf: Kdf;
  readonly aead: Aead;
  readonly hpke: Hpke;
  readonly signature: SignatureScheme;

  /** RefHash(label, value) = Hash(RefHashInput), §5.2. */
  refHash(label: string, value: Uint8Array): Uint8Array;
  /** ExpandWithLabel(Secret, Label, Context, Length), §8; label is prefixed with "MLS 1.0 ". */
  expandWithLabel(
    secret: Uint8Array,
    label: string,
    context: Uint8Array,
    length: number,
  ): Uint8Array;
  /** DeriveSecret(Secret, Label) = ExpandWithLabel(Secret, Label, "", Nh). */
  deriveSecret(secret: Uint8Array, label: string): Uint8Array;
  /** DeriveTreeSecret(Secret, Label, Generation, Length), §9.1. */
  deriveTreeSecret(
    secret: Uint8Array,
    label: string,
    generation: number,
    length: number,
  ): Uint8Array;
  /** SignWithLabel(SignatureKey, Label, Content), §5.1.2. */
  signWithLabel(privateKey: Uint8Array, label: string, content: Uint8Array): Uint8Array;
  verifyWithLabel(
    publicKey: Uint8Array,
    label: string,
    content: Uint8Array,
    signature: Uint8Array,
  ): boolean;
  /** EncryptWithLabel(PublicKey, Label, Context, Plaintext), §5.1.3. */
  encryptWithLabel(
    publicKey: Uint8Array,
    label: string,
    context: Uint8Array,
    plaintext: Uint8Array,
  ): { kemOutput: Uint8Array; ciphertext: Uint8Array };
  decryptWithLabel(
    privateKey: Uint8Array,
    label: string,
    context: Uint8Array,
    kemOutput: Uint8Array,
    ciphertext: Uint8Array,
  ): Uint8Array;
  /** DeriveKeyPair for HPKE keys from a secret (path secrets, init secrets). */
  deriveHpkeKeyPair(secret: Uint8Array): KeyPair;
  generateHpkeKeyPair(): KeyPair;
  generateSignatureKeyPair(): KeyPair;
  /** MakeKeyPackageRef(value) = RefHash("MLS 1.0 KeyPackage Reference", value), §5.2. */
  makeKeyPackageRef(keyPackage: Uint8Array): Uint8Array;
  /** MakeProposalRef(value) = RefHash("MLS 1.0 Proposal Reference", value), §5.2. */
  makeProposalRef(authenticatedContent: Uint8Array): Uint8Array;
  /** Fresh random bytes of the given length (CSPRNG). */
  randomBytes(length: number): Uint8Array;
}
