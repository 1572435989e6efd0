import { describe, expect, it } from 'vitest';
import { decode, encode } from '../../src-core/codec/index.js';
import { cipherSuite } from '../../src-core/crypto/index.js';
import type { CipherSuite, CipherSuiteId, KeyPair } from '../../src-core/crypto/index.js';
import type { Capabilities } from '../../src-core/mls/capabilities.js';
import { MlsError } from '../../src-core/mls/errors.js';
import type { MlsErrorCode } from '../../src-core/mls/errors.js';
import { mlsMessageCodec } from '../../src-core/mls/framing/mlsMessage.js';
import type { GroupInfoTBS } from '../../src-core/mls/groupInfo.js';
import {
  groupInfoCodec,
  signGroupInfo,
  verifyGroupInfoSignature,
} from '../../src-core/mls/groupInfo.js';
import type { KeyPackage, KeyPackageTBS } from '../../src-core/mls/keyPackage.js';
import {
  keyPackageCodec,
  keyPackageRef,
  signKeyPackage,
  verifyKeyPackage,
} from '../../src-core/mls/keyPackage.js';
import type {
  LeafNode,
  LeafNodeContent,
  LeafNodeSourceFields,
} from '../../src-core/mls/leafNode.js';
import {
  LeafNodeSource,
  leafNodeCodec,
  signLeafNode,
  verifyLeafNode,
  verifyLeafNodeSignature,
} from '../../src-core/mls/leafNode.js';
import { ratchetTreeCodec } from '../../src-core/mls/ratchetTreeExtension.js';
import { groupSecretsCodec } from '../../src-core/mls/welcome.js';
import { hex, readSharedJson } from '../support/shared.js';

function mlsError(f: () => unknown, code: MlsErrorCode): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(MlsError);
    expect((e as MlsError).code).toBe(code);
    return;
  }
  throw new Error(`expected MlsError ${code}, nothing was thrown`);
}

const NOW = 1_800_000_000n;
const policy = { now: NOW, maxLifetime: 90n * 86_400n };

function capabilities(suite: CipherSuite): Capabilities {
  return {
    versions: [1],
    cipherSuites: [suite.id],
    extensions: [0xff00],
    proposals: [],
    credentials: [1],
  };
}

function content(suite: CipherSuite, sig: KeyPair, select: LeafNodeSourceFields): LeafNodeContent {
  return {
    encryptionKey: suite.generateHpkeKeyPair().publicKey,
    signatureKey: sig.publicKey,
    credential: { credentialType: 1, identity: new TextEncoder().encode('alice') },
    capabilities: capabilities(suite),
    ...select,
    extensions: [{ extensionType: 0xff00, extensionData: new Uint8Array([1]) }],
  };
}

const kpSource: LeafNodeSourceFields = {
  leafNodeSource: LeafNodeSource.keyPackage,
  lifetime: { notBefore: NOW - 3600n, notAfter: NOW + 86_400n },
};

/** Flips one bit of a byte string, returning a copy. */
function flip(b: Uint8Array, at = 0): Uint8Array {
  const c = Uint8Array.from(b);
  c[at % c.length]! ^= 1;
  return c;
}

describe.each([1, 2] as const)('signing and verification, cipher suite %i', (id: CipherSuiteId) => {
  const suite = cipherSuite(id);
  const sig = suite.generateSignatureKeyPair();
  const groupId = suite.randomBytes(16);
  const binding = { groupId, leafIndex: 5 };

  function keyPackage(overrides: Partial<KeyPackageTBS> = {}, leaf?: LeafNode): KeyPackage {
    const leafNode = leaf ?? signLeafNode(suite, content(suite, sig, kpSource), sig.privateKey);
    const tbs: KeyPackageTBS = {
      version: 1,
      cipherSuite: suite.id,
      initKey: suite.generateHpkeKeyPair().publicKey,
      leafNode,
      extensions: [{ extensionType: 0x0a0a, extensionData: new Uint8Array([7]) }],
      ...overrides,
    };
    return signKeyPackage(suite, tbs, sig.privateKey);
  }

  it('LeafNode of each source: signs, survives encoding, verifies; a tampered one does not', () => {
    const sources: LeafNodeSourceFields[] = [
      kpSource,
      { leafNodeSource: LeafNodeSource.update },
      { leafNodeSource: LeafNodeSource.commit, parentHash: suite.randomBytes(suite.hash.size) },
    ];
    for (const select of sources) {
      const b = select.leafNodeSource === LeafNodeSource.keyPackage ? undefined : binding;
      const leaf = decode(
        leafNodeCodec,
        encode(leafNodeCodec, signLeafNode(suite, content(suite, sig, select), sig.privateKey, b)),
      );
      verifyLeafNodeSignature(suite, leaf, b);
      verifyLeafNode(suite, leaf, { source: select.leafNodeSource, binding: b, lifetime: policy });
      mlsError(
        () => verifyLeafNodeSignature(suite, { ...leaf, signature: flip(leaf.signature) }, b),
        'invalid_signature',
      );
      mlsError(
        () =>
          verifyLeafNodeSignature(suite, { ...leaf, encryptionKey: flip(leaf.encryptionKey) }, b),
        'invalid_signature',
      );
      mlsError(
        () =>
          verifyLeafNode(suite, leaf, { source: select.leafNodeSource === 1 ? 2 : 1, binding: b }),
        'invalid_leaf_node_source',
      );
    }
  });

  it('an update/commit LeafNode is bound to its group id and leaf index', () => {
    const leaf = signLeafNode(
      suite,
      content(suite, sig, { leafNodeSource: LeafNodeSource.update }),
      sig.privateKey,
      binding,
    );
    mlsError(
      () => verifyLeafNodeSignature(suite, leaf, { groupId: flip(groupId), leafIndex: 5 }),
      'invalid_signature',
    );
    mlsError(
      () => verifyLeafNodeSignature(suite, leaf, { groupId, leafIndex: 4 }),
      'invalid_signature',
    );
    mlsError(() => verifyLeafNodeSignature(suite, leaf), 'invalid_argument');
    const kpLeaf = signLeafNode(suite, content(suite, sig, kpSource), sig.privateKey);
    mlsError(() => verifyLeafNodeSignature(suite, kpLeaf, binding), 'invalid_argument');
  });

  it('LeafNode local checks: capabilities and lifetime', () => {
    const noCred = signLeafNode(
      suite,
      {
        ...content(suite, sig, kpSource),
        capabilities: { ...capabilities(suite), credentials: [2] },
      },
      sig.privateKey,
    );
    mlsError(() => verifyLeafNode(suite, noCred, {}), 'unsupported_capability');
    const unlistedExt = signLeafNode(
      suite,
      {
        ...content(suite, sig, kpSource),
        capabilities: { ...capabilities(suite), extensions: [] },
      },
      sig.privateKey,
    );
    mlsError(() => verifyLeafNode(suite, unlistedExt, {}), 'unsupported_capability');
    const ext = { extensionType: 0x0001, extensionData: new Uint8Array() };
    const twice = signLeafNode(
      suite,
      { ...content(suite, sig, kpSource), extensions: [ext, ext] },
      sig.privateKey,
    );
    mlsError(() => verifyLeafNode(suite, twice, {}), 'duplicate_extension');
    // application_id (a default type) is supported without being listed.
    verifyLeafNode(
      suite,
      signLeafNode(suite, { ...content(suite, sig, kpSource), extensions: [ext] }, sig.privateKey),
      {},
    );
    const leaf = signLeafNode(suite, content(suite, sig, kpSource), sig.privateKey);
    mlsError(
      () => verifyLeafNode(suite, leaf, { lifetime: { now: NOW + 86_401n } }),
      'invalid_lifetime',
    );
    mlsError(
      () => verifyLeafNode(suite, leaf, { lifetime: { now: NOW - 3601n } }),
      'invalid_lifetime',
    );
    mlsError(
      () => verifyLeafNode(suite, leaf, { lifetime: { now: NOW, maxLifetime: 3600n } }),
      'invalid_lifetime',
    );
  });

  it('KeyPackage: signs, survives encoding, verifies, and has a reference', () => {
    const kp = decode(keyPackageCodec, encode(keyPackageCodec, keyPackage()));
    verifyKeyPackage(suite, kp, policy);
    const ref = keyPackageRef(suite, kp);
    expect(ref).toEqual(suite.makeKeyPackageRef(encode(keyPackageCodec, kp)));
    expect(ref.length).toBe(suite.hash.size);
    expect(keyPackageRef(suite, keyPackage())).not.toEqual(ref);
  });

  it('KeyPackage: each rule of §10.1 rejects with its own code', () => {
    const kp = keyPackage();
    mlsError(
      () => verifyKeyPackage(suite, { ...kp, signature: flip(kp.signature) }, policy),
      'invalid_signature',
    );
    mlsError(
      () => verifyKeyPackage(suite, { ...kp, initKey: flip(kp.initKey) }, policy),
      'invalid_signature',
    );
    mlsError(
      () => verifyKeyPackage(suite, keyPackage({ version: 2 }), policy),
      'unsupported_version',
    );
    mlsError(
      () => verifyKeyPackage(suite, keyPackage({ cipherSuite: id === 1 ? 2 : 1 }), policy),
      'unsupported_cipher_suite',
    );
    mlsError(
      () =>
        verifyKeyPackage(
          suite,
          keyPackage({ initKey: kp.leafNode.encryptionKey }, kp.leafNode),
          policy,
        ),
      'init_key_equals_encryption_key',
    );
    const ext = { extensionType: 0x0a0a, extensionData: new Uint8Array() };
    mlsError(
      () => verifyKeyPackage(suite, keyPackage({ extensions: [ext, ext] }), policy),
      'duplicate_extension',
    );
    const updateLeaf = signLeafNode(
      suite,
      content(suite, sig, { leafNodeSource: LeafNodeSource.update }),
      sig.privateKey,
      binding,
    );
    mlsError(
      () => verifyKeyPackage(suite, keyPackage({}, updateLeaf), policy),
      'invalid_leaf_node_source',
    );
    mlsError(() => verifyKeyPackage(suite, kp, { now: NOW + 86_401n }), 'invalid_lifetime');
    // A leaf signed by another key: the leaf signature fails even though the KeyPackage's verifies.
    const other = suite.generateSignatureKeyPair();
    const foreignLeaf = signLeafNode(suite, content(suite, sig, kpSource), other.privateKey);
    mlsError(
      () => verifyKeyPackage(suite, keyPackage({}, foreignLeaf), policy),
      'invalid_signature',
    );
    mlsError(() => keyPackageRef(cipherSuite(id === 1 ? 2 : 1), kp), 'unsupported_cipher_suite');
  });

  it('GroupInfo: signs, survives encoding, verifies; tampering is rejected', () => {
    const tbs: GroupInfoTBS = {
      groupContext: {
        version: 1,
        cipherSuite: suite.id,
        groupId,
        epoch: 7n,
        treeHash: suite.randomBytes(suite.hash.size),
        confirmedTranscriptHash: suite.randomBytes(suite.hash.size),
        extensions: [],
      },
      extensions: [{ extensionType: 0x0a0a, extensionData: new Uint8Array([1, 2]) }],
      confirmationTag: suite.randomBytes(suite.hash.size),
      signer: 3,
    };
    const gi = decode(
      groupInfoCodec,
      encode(groupInfoCodec, signGroupInfo(suite, tbs, sig.privateKey)),
    );
    verifyGroupInfoSignature(suite, gi, sig.publicKey);
    mlsError(
      () =>
        verifyGroupInfoSignature(suite, { ...gi, signature: flip(gi.signature) }, sig.publicKey),
      'invalid_signature',
    );
    mlsError(
      () => verifyGroupInfoSignature(suite, { ...gi, signer: 4 }, sig.publicKey),
      'invalid_signature',
    );
    mlsError(
      () => verifyGroupInfoSignature(suite, gi, suite.generateSignatureKeyPair().publicKey),
      'invalid_signature',
    );
    mlsError(
      () => verifyGroupInfoSignature(cipherSuite(id === 1 ? 2 : 1), gi, sig.publicKey),
      'unsupported_cipher_suite',
    );
  });
});

// Signatures made by other implementations: the official vectors.
describe('signatures from the official vectors verify', () => {
  interface TreeCase {
    cipher_suite: number;
    tree: string;
    group_id: string;
  }
  interface WelcomeCase {
    cipher_suite: number;
    init_priv: string;
    signer_pub: string;
    key_package: string;
    welcome: string;
  }

  it('every leaf of every tree-validation tree (LeafNodeTBS of all three sources)', () => {
    const cases = readSharedJson('mls-test-vectors', 'tree-validation.json') as TreeCase[];
    let checked = 0;
    for (const tc of cases) {
      const suite = cipherSuite(tc.cipher_suite as CipherSuiteId);
      const nodes = decode(ratchetTreeCodec, hex(tc.tree));
      nodes.forEach((n, i) => {
        if (n?.nodeType !== 1) return;
        const leaf = n.leafNode;
        const b =
          leaf.leafNodeSource === LeafNodeSource.keyPackage
            ? undefined
            : { groupId: hex(tc.group_id), leafIndex: i / 2 };
        verifyLeafNodeSignature(suite, leaf, b);
        mlsError(
          () => verifyLeafNodeSignature(suite, { ...leaf, signature: flip(leaf.signature, 5) }, b),
          'invalid_signature',
        );
        checked++;
      });
    }
    expect(checked).toBeGreaterThan(cases.length);
  });

  it('welcome.json: KeyPackage verifies, its ref names the Welcome entry, the GroupInfo signature verifies', () => {
    const cases = readSharedJson('mls-test-vectors', 'welcome.json') as WelcomeCase[];
    expect(cases.length).toBeGreaterThan(0);
    for (const tc of cases) {
      const suite = cipherSuite(tc.cipher_suite as CipherSuiteId);
      const kpMsg = decode(mlsMessageCodec, hex(tc.key_package));
      const welcomeMsg = decode(mlsMessageCodec, hex(tc.welcome));
      if (kpMsg.wireFormat !== 5 || welcomeMsg.wireFormat !== 3)
        throw new Error('unexpected wire formats');
      const kp = kpMsg.keyPackage;
      const lifetime = kp.leafNode.leafNodeSource === 1 ? kp.leafNode.lifetime : undefined;
      verifyKeyPackage(suite, kp, { now: lifetime!.notBefore });

      const welcome = welcomeMsg.welcome;
      const ref = keyPackageRef(suite, kp);
      const entry = welcome.secrets.find((s) => Buffer.from(s.newMember).equals(ref));
      expect(entry).toBeDefined();
      const secrets = decode(
        groupSecretsCodec,
        suite.decryptWithLabel(
          hex(tc.init_priv),
          'Welcome',
          welcome.encryptedGroupInfo,
          entry!.encryptedGroupSecrets.kemOutput,
          entry!.encryptedGroupSecrets.ciphertext,
        ),
      );
      expect(secrets.psks).toEqual([]);
      // §8: member_secret = Extract(joiner_secret, psk_secret = 0); welcome_secret = DeriveSecret(., "welcome").
      const member = suite.kdf.extract(secrets.joinerSecret, new Uint8Array(suite.kdf.size));
      const welcomeSecret = suite.deriveSecret(member, 'welcome');
      const key = suite.expandWithLabel(welcomeSecret, 'key', new Uint8Array(), suite.aead.keySize);
      const nonce = suite.expandWithLabel(
        welcomeSecret,
        'nonce',
        new Uint8Array(),
        suite.aead.nonceSize,
      );
      const giBytes = suite.aead.open(key, nonce, new Uint8Array(), welcome.encryptedGroupInfo);
      const gi = decode(groupInfoCodec, giBytes);
      expect(encode(groupInfoCodec, gi)).toEqual(giBytes);
      verifyGroupInfoSignature(suite, gi, hex(tc.signer_pub));
      mlsError(
        () =>
          verifyGroupInfoSignature(
            suite,
            { ...gi, confirmationTag: flip(gi.confirmationTag) },
            hex(tc.signer_pub),
          ),
        'invalid_signature',
      );
    }
  });
});
