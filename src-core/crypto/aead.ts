/**
 * The HPKE AEADs (RFC 9180 §7.3): AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305, and the
 * export-only marker 0xFFFF. Ciphertexts carry the 16-byte tag at the end (RFC 5116).
 */
import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import type { Backend, NodeCryptoModule } from './backend.js';
import { nodeFor } from './backend.js';
import { checkLength } from './bytes.js';
import { CryptoError } from './errors.js';
import type { Aead } from './types.js';

export const AEAD_EXPORT_ONLY = 0xffff;

const TAG = 16;
const NONCE = 12;

interface AeadSpec {
  readonly keySize: number;
  readonly node: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';
  readonly noble: typeof gcm | typeof chacha20poly1305;
}

const SPECS: Readonly<Record<number, AeadSpec>> = {
  0x0001: { keySize: 16, node: 'aes-128-gcm', noble: gcm },
  0x0002: { keySize: 32, node: 'aes-256-gcm', noble: gcm },
  0x0003: { keySize: 32, node: 'chacha20-poly1305', noble: chacha20poly1305 },
};

const cache = new Map<string, Aead>();

export function makeAead(id: number, backend: Backend): Aead {
  const key = `${backend}:${id}`;
  let aead = cache.get(key);
  if (aead === undefined) {
    aead = build(id, backend);
    cache.set(key, aead);
  }
  return aead;
}

function build(id: number, backend: Backend): Aead {
  if (id === AEAD_EXPORT_ONLY) return exportOnly;
  const spec = SPECS[id];
  if (spec === undefined) throw new CryptoError('unsupported', `AEAD 0x${id.toString(16)}`);
  const node = nodeFor(backend);
  const check = (k: Uint8Array, n: Uint8Array): void => {
    checkLength('AEAD key', k, spec.keySize);
    checkLength('AEAD nonce', n, NONCE);
  };
  const seal = node !== undefined ? nodeSeal(node, spec) : nobleSeal(spec);
  const open = node !== undefined ? nodeOpen(node, spec) : nobleOpen(spec);
  return {
    id,
    keySize: spec.keySize,
    nonceSize: NONCE,
    tagSize: TAG,
    seal(k, n, aad, pt) {
      check(k, n);
      return seal(k, n, aad, pt);
    },
    open(k, n, aad, ct) {
      check(k, n);
      if (ct.length < TAG)
        throw new CryptoError('aead_open_failed', 'ciphertext shorter than the tag');
      return open(k, n, aad, ct);
    },
  };
}

type SealFn = (k: Uint8Array, n: Uint8Array, aad: Uint8Array, pt: Uint8Array) => Uint8Array;

function nobleSeal(spec: AeadSpec): SealFn {
  return (k, n, aad, pt) => spec.noble(k, n, aad).encrypt(pt);
}

function nobleOpen(spec: AeadSpec): SealFn {
  return (k, n, aad, ct) => {
    try {
      return spec.noble(k, n, aad).decrypt(ct);
    } catch (e) {
      throw new CryptoError('aead_open_failed', 'tag did not verify', { cause: e });
    }
  };
}

function nodeSeal(node: NodeCryptoModule, spec: AeadSpec): SealFn {
  return (k, n, aad, pt) => {
    const c = createCipher(node, spec.node, k, n);
    c.setAAD(aad, { plaintextLength: pt.length });
    const body = c.update(pt);
    c.final();
    const out = new Uint8Array(pt.length + TAG);
    out.set(body, 0);
    out.set(c.getAuthTag(), pt.length);
    return out;
  };
}

function nodeOpen(node: NodeCryptoModule, spec: AeadSpec): SealFn {
  return (k, n, aad, ct) => {
    const body = ct.subarray(0, ct.length - TAG);
    const d = createDecipher(node, spec.node, k, n);
    d.setAuthTag(ct.subarray(ct.length - TAG));
    d.setAAD(aad, { plaintextLength: body.length });
    // OpenSSL releases plaintext before it has checked the tag; it is wiped if the tag fails.
    const part = d.update(body);
    try {
      d.final();
    } catch (e) {
      part.fill(0);
      throw new CryptoError('aead_open_failed', 'tag did not verify', { cause: e });
    }
    return ownedPlaintext(part);
  };
}

/**
 * The plaintext as a plain Uint8Array: a view when the Buffer owns its whole ArrayBuffer (node
 * allocates cipher output outside the shared pool), else a copy, with the original wiped.
 */
function ownedPlaintext(b: Uint8Array): Uint8Array {
  if (b.byteOffset === 0 && b.buffer.byteLength === b.length) {
    return new Uint8Array(b.buffer, 0, b.length);
  }
  const out = b.slice();
  b.fill(0);
  return out;
}

// The overloads of createCipheriv are per algorithm family; a union argument matches none of them.
function createCipher(node: NodeCryptoModule, alg: AeadSpec['node'], k: Uint8Array, n: Uint8Array) {
  return alg === 'chacha20-poly1305'
    ? node.createCipheriv(alg, k, n, { authTagLength: TAG })
    : node.createCipheriv(alg, k, n, { authTagLength: TAG });
}

function createDecipher(
  node: NodeCryptoModule,
  alg: AeadSpec['node'],
  k: Uint8Array,
  n: Uint8Array,
) {
  return alg === 'chacha20-poly1305'
    ? node.createDecipheriv(alg, k, n, { authTagLength: TAG })
    : node.createDecipheriv(alg, k, n, { authTagLength: TAG });
}

/** 0xFFFF: an HPKE context that can only Export; Seal and Open are errors (RFC 9180 §5.3). */
const exportOnly: Aead = {
  id: AEAD_EXPORT_ONLY,
  keySize: 0,
  nonceSize: 0,
  tagSize: 0,
  seal() {
    throw new CryptoError('hpke_export_only', 'the export-only AEAD cannot seal');
  },
  open() {
    throw new CryptoError('hpke_export_only', 'the export-only AEAD cannot open');
  },
};
