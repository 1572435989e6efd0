/**
 * The MLS cipher suites (RFC 9420 §17.1) and the labeled operations of §5 and §8 on top of them.
 */
import { Writer, encode, opaque, varintSize } from '../codec/index.js';
import type { Backend } from './backend.js';
import { nodeFor } from './backend.js';
import { EMPTY, utf8 } from './bytes.js';
import { CryptoError } from './errors.js';
import { makeHash } from './hash.js';
import type { HashName } from './hash.js';
import { hpkeSuite } from './hpke/index.js';
import type { HpkeSuite } from './hpke/index.js';
import { encryptContextCodec, mlsLabel, refHashInputCodec } from './labels.js';
import { randomBytes } from './random.js';
import { makeSignatureScheme } from './signature/index.js';
import type {
  Aead,
  CipherSuite,
  CipherSuiteId,
  Hash,
  Kdf,
  KeyPair,
  SignatureScheme,
} from './types.js';

interface SuiteSpec {
  readonly name: string;
  readonly kem: number;
  readonly kdf: number;
  readonly aead: number;
  readonly hash: HashName;
  readonly signature: number;
}

/** RFC 9420 §17.1, the table mapping suites to HPKE primitives, hash and TLS SignatureScheme. */
export const SUITES: Readonly<Record<CipherSuiteId, SuiteSpec>> = {
  1: {
    name: 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519',
    kem: 0x0020,
    kdf: 0x0001,
    aead: 0x0001,
    hash: 'SHA-256',
    signature: 0x0807,
  },
  2: {
    name: 'MLS_128_DHKEMP256_AES128GCM_SHA256_P256',
    kem: 0x0010,
    kdf: 0x0001,
    aead: 0x0001,
    hash: 'SHA-256',
    signature: 0x0403,
  },
  3: {
    name: 'MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519',
    kem: 0x0020,
    kdf: 0x0001,
    aead: 0x0003,
    hash: 'SHA-256',
    signature: 0x0807,
  },
  4: {
    name: 'MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448',
    kem: 0x0021,
    kdf: 0x0003,
    aead: 0x0002,
    hash: 'SHA-512',
    signature: 0x0808,
  },
  5: {
    name: 'MLS_256_DHKEMP521_AES256GCM_SHA512_P521',
    kem: 0x0012,
    kdf: 0x0003,
    aead: 0x0002,
    hash: 'SHA-512',
    signature: 0x0603,
  },
  6: {
    name: 'MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448',
    kem: 0x0021,
    kdf: 0x0003,
    aead: 0x0003,
    hash: 'SHA-512',
    signature: 0x0808,
  },
  7: {
    name: 'MLS_256_DHKEMP384_AES256GCM_SHA384_P384',
    kem: 0x0011,
    kdf: 0x0002,
    aead: 0x0002,
    hash: 'SHA-384',
    signature: 0x0503,
  },
};

export function isCipherSuiteId(id: number): id is CipherSuiteId {
  return Number.isInteger(id) && id >= 1 && id <= 7;
}

/** Labels whose `opaque label<V>` encoding is kept; the protocol uses a few dozen. */
const LABEL_CACHE_SIZE = 128;

const KEY_PACKAGE_REF = 'MLS 1.0 KeyPackage Reference';
const PROPOSAL_REF = 'MLS 1.0 Proposal Reference';

class MlsCipherSuite implements CipherSuite {
  readonly name: string;
  readonly hash: Hash;
  readonly kdf: Kdf;
  readonly aead: Aead;
  readonly hpke: HpkeSuite;
  readonly signature: SignatureScheme;
  private readonly labels = new Map<string, Uint8Array>();

  constructor(
    readonly id: CipherSuiteId,
    backend: Backend,
  ) {
    const spec = SUITES[id];
    this.name = spec.name;
    this.hash = makeHash(spec.hash, backend);
    this.hpke = hpkeSuite(spec.kem, spec.kdf, spec.aead, backend);
    this.kdf = this.hpke.kdf;
    this.aead = this.hpke.aead;
    this.signature = makeSignatureScheme(spec.signature, backend);
  }

  refHash(label: string, value: Uint8Array): Uint8Array {
    return this.hash.digest(encode(refHashInputCodec, { label: utf8(label), value }));
  }

  /**
   * `opaque label<V>` for `"MLS 1.0 " + label`, kept per label string: every message expands and
   * signs with the same few labels. Exporter labels come from the application, so the number
   * kept is bounded.
   */
  private encodedLabel(label: string): Uint8Array {
    let encoded = this.labels.get(label);
    if (encoded === undefined) {
      const full = mlsLabel(label);
      const w = new Writer(varintSize(full.length) + full.length);
      opaque.encode(w, full);
      encoded = w.finish();
      if (this.labels.size < LABEL_CACHE_SIZE) this.labels.set(label, encoded);
    }
    return encoded;
  }

  expandWithLabel(
    secret: Uint8Array,
    label: string,
    context: Uint8Array,
    length: number,
  ): Uint8Array {
    if (!Number.isInteger(length) || length < 0 || length > 0xffff) {
      throw new CryptoError('invalid_argument', `ExpandWithLabel length ${length}`);
    }
    // KDFLabel { uint16 length; opaque label<V>; opaque context<V>; }, written in one buffer.
    const encodedLabel = this.encodedLabel(label);
    const w = new Writer(2 + encodedLabel.length + varintSize(context.length) + context.length);
    w.uint16(length);
    w.bytes(encodedLabel);
    opaque.encode(w, context);
    return this.kdf.expand(secret, w.finish(), length);
  }

  deriveSecret(secret: Uint8Array, label: string): Uint8Array {
    return this.expandWithLabel(secret, label, EMPTY, this.kdf.size);
  }

  deriveTreeSecret(
    secret: Uint8Array,
    label: string,
    generation: number,
    length: number,
  ): Uint8Array {
    if (!Number.isInteger(generation) || generation < 0 || generation > 0xffffffff) {
      throw new CryptoError('invalid_argument', `generation ${generation} is not a uint32`);
    }
    const context = Uint8Array.of(
      generation >>> 24,
      (generation >>> 16) & 0xff,
      (generation >>> 8) & 0xff,
      generation & 0xff,
    );
    return this.expandWithLabel(secret, label, context, length);
  }

  /** SignContent { opaque label<V>; opaque content<V>; } */
  private signContent(label: string, content: Uint8Array): Uint8Array {
    const encodedLabel = this.encodedLabel(label);
    const w = new Writer(encodedLabel.length + varintSize(content.length) + content.length);
    w.bytes(encodedLabel);
    opaque.encode(w, content);
    return w.finish();
  }

  signWithLabel(privateKey: Uint8Array, label: string, content: Uint8Array): Uint8Array {
    return this.signature.sign(privateKey, this.signContent(label, content));
  }

  verifyWithLabel(
    publicKey: Uint8Array,
    label: string,
    content: Uint8Array,
    signature: Uint8Array,
  ): boolean {
    return this.signature.verify(publicKey, this.signContent(label, content), signature);
  }

  encryptWithLabel(
    publicKey: Uint8Array,
    label: string,
    context: Uint8Array,
    plaintext: Uint8Array,
  ): { kemOutput: Uint8Array; ciphertext: Uint8Array } {
    const info = encode(encryptContextCodec, { label: mlsLabel(label), context });
    const { enc, ciphertext } = this.hpke.seal(publicKey, info, EMPTY, plaintext);
    return { kemOutput: enc, ciphertext };
  }

  decryptWithLabel(
    privateKey: Uint8Array,
    label: string,
    context: Uint8Array,
    kemOutput: Uint8Array,
    ciphertext: Uint8Array,
  ): Uint8Array {
    const info = encode(encryptContextCodec, { label: mlsLabel(label), context });
    return this.hpke.open(kemOutput, privateKey, info, EMPTY, ciphertext);
  }

  deriveHpkeKeyPair(secret: Uint8Array): KeyPair {
    return this.hpke.kem.deriveKeyPair(secret);
  }

  generateHpkeKeyPair(): KeyPair {
    return this.hpke.kem.generateKeyPair();
  }

  generateSignatureKeyPair(): KeyPair {
    return this.signature.generateKeyPair();
  }

  makeKeyPackageRef(keyPackage: Uint8Array): Uint8Array {
    return this.refHash(KEY_PACKAGE_REF, keyPackage);
  }

  makeProposalRef(authenticatedContent: Uint8Array): Uint8Array {
    return this.refHash(PROPOSAL_REF, authenticatedContent);
  }

  randomBytes(length: number): Uint8Array {
    return randomBytes(length);
  }
}

const cache = new Map<string, CipherSuite>();

/**
 * The cipher suite `id`, constructed once per backend. Throws CryptoError('unsupported') for an
 * id outside 1..7 (a value from the wire that was never checked).
 */
export function cipherSuite(id: CipherSuiteId, options?: { backend?: Backend }): CipherSuite {
  if (!isCipherSuiteId(id)) throw new CryptoError('unsupported', `cipher suite ${String(id)}`);
  // Without node:crypto, `auto` is `noble`: share the objects.
  const backend: Backend =
    options?.backend === 'noble' || nodeFor('auto') === undefined ? 'noble' : 'auto';
  const key = `${backend}:${id}`;
  let suite = cache.get(key);
  if (suite === undefined) {
    suite = new MlsCipherSuite(id, backend);
    cache.set(key, suite);
  }
  return suite;
}
