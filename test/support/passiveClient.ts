/**
 * The passive-client scenarios of the official MLS vectors (test-vectors.md, "Passive Client
 * Scenarios"): join from a Welcome with the given keys, PSKs and (optionally) out-of-band tree,
 * then follow the group's commits, checking the epoch authenticator after each step.
 */
import { decode } from '../../src-core/codec/index.js';
import { cipherSuite } from '../../src-core/crypto/index.js';
import type { CipherSuite, CipherSuiteId } from '../../src-core/crypto/types.js';
import { WireFormat } from '../../src-core/mls/framing/framedContent.js';
import { decodeMlsMessage } from '../../src-core/mls/framing/mlsMessage.js';
import { joinFromWelcome, processMessage } from '../../src-core/mls/group/index.js';
import type { GroupState } from '../../src-core/mls/group/index.js';
import { LeafNodeSource } from '../../src-core/mls/leafNode.js';
import { ratchetTreeCodec } from '../../src-core/mls/ratchetTreeExtension.js';
import { hex, toHex } from './shared.js';

export interface PassiveClientCase {
  cipher_suite: number;
  external_psks: { psk_id: string; psk: string }[];
  key_package: string;
  signature_priv: string;
  encryption_priv: string;
  init_priv: string;
  welcome: string;
  ratchet_tree: string | null;
  initial_epoch_authenticator: string;
  epochs: { proposals: string[]; commit: string; epoch_authenticator: string }[];
}

/**
 * Some P-521 keys in the vectors drop their leading zero byte (65 bytes instead of 66). Our crypto
 * takes the fixed-width big-endian scalar; the integer is the same.
 */
export function leftPad(priv: Uint8Array, width: number): Uint8Array {
  if (priv.length >= width) return priv;
  const out = new Uint8Array(width);
  out.set(priv, width - priv.length);
  return out;
}

/** The width of an ECDSA private key from its uncompressed public key (0x04 || X || Y). */
function signatureKeyWidth(pub: Uint8Array, priv: Uint8Array): number {
  return pub[0] === 0x04 && pub.length % 2 === 1 ? (pub.length - 1) / 2 : priv.length;
}

function sameKey(suite: CipherSuite, what: string, got: Uint8Array, want: Uint8Array): void {
  if (toHex(got) !== toHex(want)) throw new Error(`${what} does not match the KeyPackage`);
  void suite;
}

/** Runs one scenario; throws an Error saying which step differed. */
export function runPassiveClient(tc: PassiveClientCase): GroupState {
  const suite = cipherSuite(tc.cipher_suite as CipherSuiteId);
  const kpMessage = decodeMlsMessage(hex(tc.key_package));
  if (kpMessage.wireFormat !== WireFormat.keyPackage)
    throw new Error('key_package: not a KeyPackage');
  const kp = kpMessage.keyPackage;
  const leaf = kp.leafNode;
  const kemWidth = suite.hpke.kem.privateKeySize;
  const initPrivateKey = leftPad(hex(tc.init_priv), kemWidth);
  const encryptionPrivateKey = leftPad(hex(tc.encryption_priv), kemWidth);
  const sigRaw = hex(tc.signature_priv);
  const signaturePrivateKey = leftPad(sigRaw, signatureKeyWidth(leaf.signatureKey, sigRaw));
  sameKey(suite, 'init_priv', suite.hpke.kem.publicKeyFromPrivate(initPrivateKey), kp.initKey);
  sameKey(
    suite,
    'encryption_priv',
    suite.hpke.kem.publicKeyFromPrivate(encryptionPrivateKey),
    leaf.encryptionKey,
  );
  sameKey(
    suite,
    'signature_priv',
    suite.signature.publicKeyFromPrivate(signaturePrivateKey),
    leaf.signatureKey,
  );
  const psks = new Map(tc.external_psks.map((p) => [p.psk_id, hex(p.psk)]));
  const now = leaf.leafNodeSource === LeafNodeSource.keyPackage ? leaf.lifetime.notBefore : 0n;
  let state = joinFromWelcome({
    welcome: hex(tc.welcome),
    keyPackages: [
      {
        keyPackage: kp,
        ref: new Uint8Array(0),
        initPrivateKey,
        encryptionPrivateKey,
        signaturePrivateKey,
      },
    ],
    ...(tc.ratchet_tree === null
      ? {}
      : { ratchetTree: decode(ratchetTreeCodec, hex(tc.ratchet_tree)) }),
    suite,
    config: {
      now: () => now,
      externalPsk: (id) => psks.get(toHex(id)),
    },
  });
  if (toHex(state.epochAuthenticator()) !== tc.initial_epoch_authenticator) {
    throw new Error('epoch authenticator after joining differs');
  }
  tc.epochs.forEach((epoch, i) => {
    for (const p of epoch.proposals) {
      const got = processMessage(state, hex(p));
      if (got.kind !== 'proposal')
        throw new Error(`epoch ${i}: a proposal was read as ${got.kind}`);
    }
    const got = processMessage(state, hex(epoch.commit));
    if (got.kind !== 'commit') throw new Error(`epoch ${i}: the commit was read as ${got.kind}`);
    state = got.staged.merge();
    if (toHex(state.epochAuthenticator()) !== epoch.epoch_authenticator) {
      throw new Error(`epoch ${i}: epoch authenticator differs`);
    }
  });
  return state;
}
