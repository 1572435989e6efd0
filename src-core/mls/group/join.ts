/**
 * Joining a group from a Welcome (RFC 9420 §12.4.3.1): find our EncryptedGroupSecrets by
 * KeyPackageRef, open it with the init key, derive the welcome key with the PSKs, open and verify
 * the GroupInfo, validate the whole tree, find our leaf, derive the path keys from the path secret,
 * run the key schedule and check the confirmation tag.
 *
 * A successful join deletes the KeyPackage's init key and its copy of the leaf key (forward
 * secrecy: a later theft of them opens nothing), unless the KeyPackage is last-resort and may be
 * used again. A failed join deletes nothing: the Welcome may have been forged.
 */
import { decode, encode } from '../../codec/index.js';
import { CryptoError, cipherSuite, isCipherSuiteId } from '../../crypto/index.js';
import type { CipherSuite } from '../../crypto/types.js';
import { MlsError } from '../errors.js';
import { ExtensionType } from '../extension.js';
import { WireFormat } from '../framing/framedContent.js';
import type { MlsMessage } from '../framing/mlsMessage.js';
import { decodeMlsMessage } from '../framing/mlsMessage.js';
import { updateInterimTranscriptHash } from '../framing/transcriptHash.js';
import type { GroupContext } from '../groupContext.js';
import { PROTOCOL_VERSION_MLS10, groupContextCodec } from '../groupContext.js';
import type { GroupInfo } from '../groupInfo.js';
import { groupInfoCodec, verifyGroupInfoSignature } from '../groupInfo.js';
import { keyPackageRef } from '../keyPackage.js';
import type { EpochSecrets } from '../keySchedule.js';
import { deriveWelcomeSecret, epochFromJoinerSecret, welcomeKeyNonce } from '../keySchedule.js';
import { checkDistinctExtensions, leafNodeCodec } from '../leafNode.js';
import type { PreSharedKeyID, ResumptionPreSharedKeyID } from '../psk.js';
import { PSKType, ResumptionPSKUsage, checkPskNonce, computePskSecret } from '../psk.js';
import { RatchetTree } from '../ratchetTree/ratchetTree.js';
import { receivedTreeCodec } from '../ratchetTree/receivedTree.js';
import type { TreeValidationContext } from '../ratchetTree/treeValidation.js';
import { validateRatchetTree } from '../ratchetTree/treeValidation.js';
import { equalBytes } from '../ratchetTree/treeReader.js';
import type { RatchetTreeNodes } from '../ratchetTreeExtension.js';
import { PrivatePath } from '../treekem/privatePath.js';
import { commonAncestor } from '../treeMath.js';
import type { LeafIndex } from '../treeMath.js';
import type { GroupSecrets, Welcome } from '../welcome.js';
import { groupSecretsCodec } from '../welcome.js';
import type { GroupConfig, ResolvedGroupConfig } from './config.js';
import { requireCredential, resolveGroupConfig } from './config.js';
import { epochReceiver, keptResumptionPsks } from './epochTransition.js';
import { GroupState } from './groupState.js';
import type { KeyPackageBundle } from './keyPackages.js';
import { isLastResort } from './keyPackages.js';
import { checkHpkePublicKey, checkLeafSupportsExtensions } from './leafChecks.js';
import { checkGroupContextExtensions } from './proposals/validate.js';
import type { PskSource } from './psks.js';
import { resolvePsks } from './psks.js';
import { WELCOME_LABEL } from './welcome.js';

export interface JoinOptions {
  /** The Welcome, as an MLSMessage (decoded or not) or bare. */
  readonly welcome: MlsMessage | Welcome | Uint8Array;
  /** Our KeyPackages that the Welcome may be for. */
  readonly keyPackages: readonly KeyPackageBundle[];
  /** The tree, when the Welcome's GroupInfo does not carry it (§12.4.3.3). */
  readonly ratchetTree?: RatchetTreeNodes;
  readonly config?: GroupConfig;
  /** The suite implementation to use (default `cipherSuite(welcome.cipher_suite)`). */
  readonly suite?: CipherSuite;
  /** §12.4.3.1: the group_id must differ from those of our other groups. */
  readonly isGroupIdInUse?: (groupId: Uint8Array) => boolean;
  /**
   * The group a Welcome with a reinit or branch PSK resumes. Such a Welcome is refused without it
   * ('resumption_unverified'): §12.4.3.1 asks for checks against the old group. Set by
   * `joinReInitGroup` and `joinBranch`.
   */
  readonly resumes?: ResumedGroup;
}

/** The group a Welcome resumes with a reinit or branch PSK (§11.2, §11.3). */
export interface ResumedGroup {
  readonly groupId: Uint8Array;
  /** Its kept resumption PSKs, by epoch. */
  resumptionPsk(epoch: bigint): Uint8Array | undefined;
  /**
   * §12.4.3.1: checks the new group against the old one, throwing MlsError to refuse. Called once
   * the GroupInfo and the tree are verified, before any state is made.
   */
  verify(psk: ResumptionPreSharedKeyID, groupInfo: GroupInfo, tree: RatchetTree): void;
}

function welcomeOf(input: JoinOptions['welcome']): Welcome {
  if (input instanceof Uint8Array) {
    const m = decodeMlsMessage(input);
    if (m.wireFormat !== WireFormat.welcome) {
      throw new MlsError('invalid_wire_format', 'not a Welcome');
    }
    return m.welcome;
  }
  if ('wireFormat' in input) {
    if (input.wireFormat !== WireFormat.welcome) {
      throw new MlsError('invalid_wire_format', 'not a Welcome');
    }
    return input.welcome;
  }
  return input;
}

function suiteOf(welcome: Welcome, given: CipherSuite | undefined): CipherSuite {
  if (given !== undefined) {
    if (given.id !== welcome.cipherSuite) {
      throw new MlsError('unsupported_cipher_suite', `Welcome for suite ${welcome.cipherSuite}`);
    }
    return given;
  }
  if (!isCipherSuiteId(welcome.cipherSuite)) {
    throw new MlsError('unsupported_cipher_suite', `Welcome for suite ${welcome.cipherSuite}`);
  }
  return cipherSuite(welcome.cipherSuite);
}

function open<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof CryptoError) {
      throw new MlsError('decryption_failed', `${what} does not decrypt`, { cause: e });
    }
    throw e;
  }
}

function decodeOr<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof MlsError) throw e;
    throw new MlsError('decode_failed', `${what} does not decode`, { cause: e });
  }
}

/** Our entry of the Welcome and the KeyPackage it is for. */
function findOurSecrets<B extends WelcomeKey>(
  suite: CipherSuite,
  welcome: Welcome,
  bundles: readonly B[],
): { bundle: B; groupSecrets: GroupSecrets } {
  for (const bundle of bundles) {
    if (bundle.keyPackage.cipherSuite !== welcome.cipherSuite) continue;
    const ref = keyPackageRef(suite, bundle.keyPackage);
    const entry = welcome.secrets.find((s) => equalBytes(s.newMember, ref));
    if (entry === undefined) continue;
    const ct = entry.encryptedGroupSecrets;
    const plain = open('GroupSecrets', () =>
      suite.decryptWithLabel(
        bundle.initPrivateKey,
        WELCOME_LABEL,
        welcome.encryptedGroupInfo,
        ct.kemOutput,
        ct.ciphertext,
      ),
    );
    try {
      return {
        bundle,
        groupSecrets: decodeOr('GroupSecrets', () => decode(groupSecretsCodec, plain)),
      };
    } finally {
      plain.fill(0);
    }
  }
  throw new MlsError('no_matching_key_package', 'the Welcome is for none of our KeyPackages');
}

/** §12.4.3.1: a reinit or branch PSK must be the only such PSK (and starts epoch 1). */
function checkJoinPsks(
  suite: CipherSuite,
  psks: readonly PreSharedKeyID[],
): ResumptionPreSharedKeyID | undefined {
  let special: ResumptionPreSharedKeyID | undefined;
  for (const id of psks) {
    checkPskNonce(suite, id);
    if (id.pskType === PSKType.resumption && id.usage !== ResumptionPSKUsage.application) {
      if (special !== undefined) {
        throw new MlsError('psk_usage_invalid', 'more than one reinit or branch PSK');
      }
      special = id;
    }
  }
  return special;
}

/** The tree of a GroupInfo: its ratchet_tree extension, else the one given out of band. */
export function treeOf(
  suite: CipherSuite,
  gi: GroupInfo,
  outOfBand: RatchetTreeNodes | undefined,
): RatchetTree {
  return receivedTreeOf(suite, gi, outOfBand).tree;
}

export interface ReceivedRatchetTree {
  readonly tree: RatchetTree;
  /** The leaves' encodings as received in the extension, by leaf index (views: join-long use). */
  readonly leafBytes: ((leafIndex: LeafIndex) => Uint8Array | undefined) | undefined;
}

/** The nodes of a GroupInfo's tree before it is built, with the leaves' bytes when received. */
export interface ReceivedNodes {
  readonly nodes: RatchetTreeNodes;
  readonly leafBytes: readonly (Uint8Array | undefined)[] | undefined;
}

function receivedNodesOf(gi: GroupInfo, outOfBand: RatchetTreeNodes | undefined): ReceivedNodes {
  const ext = gi.extensions.find((e) => e.extensionType === ExtensionType.ratchetTree);
  if (ext !== undefined) {
    return decodeOr('ratchet_tree extension', () => decode(receivedTreeCodec, ext.extensionData));
  }
  if (outOfBand === undefined) {
    throw new MlsError('missing_ratchet_tree', 'no ratchet_tree extension and no tree given');
  }
  return { nodes: outOfBand, leafBytes: undefined };
}

/** `treeOf`, with the leaves' bytes when the tree came in the extension (receivedTree.ts). */
function receivedTreeOf(
  suite: CipherSuite,
  gi: GroupInfo,
  outOfBand: RatchetTreeNodes | undefined,
  beforeBuild?: (received: ReceivedNodes, leafBytes: ReceivedRatchetTree['leafBytes']) => void,
): ReceivedRatchetTree {
  const received = receivedNodesOf(gi, outOfBand);
  const bytes = received.leafBytes;
  const leafBytes =
    bytes === undefined ? undefined : (leafIndex: LeafIndex) => bytes[2 * leafIndex];
  beforeBuild?.(received, leafBytes);
  return { tree: RatchetTree.fromNodes(suite, received.nodes, bytes), leafBytes };
}

/** §12.4.3.1 "Verify the integrity of the ratchet tree", plus keys and credentials. */
export function validateTree(
  suite: CipherSuite,
  config: ResolvedGroupConfig,
  tree: RatchetTree,
  gc: GroupContext,
  leafBytes?: ReceivedRatchetTree['leafBytes'],
): void {
  validateRatchetTree(tree, treeValidationContext(config, gc, leafBytes));
  checkTreeKeysAndCredentials(suite, config, tree, gc);
}

export function treeValidationContext(
  config: ResolvedGroupConfig,
  gc: GroupContext,
  leafBytes: ReceivedRatchetTree['leafBytes'],
): TreeValidationContext {
  return {
    groupId: gc.groupId,
    treeHash: gc.treeHash,
    extensions: gc.extensions,
    ...(config.checkTreeLifetimes ? { lifetime: { now: config.now() } } : {}),
    ...(leafBytes === undefined ? {} : { leafBytes }),
  };
}

/** The members' HPKE keys and credentials (the AS), after the tree's own rules. */
export function checkTreeKeysAndCredentials(
  suite: CipherSuite,
  config: ResolvedGroupConfig,
  tree: RatchetTree,
  gc: GroupContext,
): void {
  tree.forEachMember((leaf, leafIndex) => {
    checkHpkePublicKey(suite, leaf.encryptionKey, `leaf ${leafIndex} encryption key`);
    requireCredential(config, leaf.credential, leaf.signatureKey, {
      kind: 'tree',
      groupId: gc.groupId,
      leafIndex,
    });
  });
  tree.forEachParent((p, x) => checkHpkePublicKey(suite, p.encryptionKey, `node ${x} key`));
}

/** Our leaf: the one identical to our KeyPackage's LeafNode. */
function findOwnLeaf(tree: RatchetTree, bundle: KeyPackageBundle): LeafIndex {
  const leaf = bundle.keyPackage.leafNode;
  const x = tree.findEncryptionKey(leaf.encryptionKey);
  if (x !== undefined && x % 2 === 0) {
    const inTree = tree.leafNode(x / 2);
    if (
      inTree !== undefined &&
      equalBytes(encode(leafNodeCodec, inTree), encode(leafNodeCodec, leaf))
    ) {
      return x / 2;
    }
  }
  throw new MlsError('own_leaf_not_found', 'our KeyPackage leaf is not in the tree');
}

/** What only we can read of a Welcome: our GroupSecrets and the GroupInfo. */
export interface OpenedWelcome<B extends WelcomeKey> {
  readonly bundle: B;
  /** Secrets inside: wipe `joinerSecret` and the path secret when done. */
  readonly groupSecrets: GroupSecrets;
  /** psk_secret of the GroupSecrets' PSKs: wipe when done. */
  readonly pskSecret: Uint8Array;
  readonly groupInfo: GroupInfo;
  /** Whether a reinit or branch PSK is among the PSKs. */
  readonly resumed: boolean;
  /** That PSK. */
  readonly resumption: ResumptionPreSharedKeyID | undefined;
}

/** A KeyPackage and its init private key: all it takes to open a Welcome. */
export type WelcomeKey = Pick<KeyPackageBundle, 'keyPackage' | 'initPrivateKey'>;

/**
 * The first steps of §12.4.3.1: our EncryptedGroupSecrets by KeyPackageRef, opened with the init
 * key; the PSKs; the GroupInfo opened with the welcome key. Its signature is not checked here
 * (that needs the tree).
 */
export function openWelcome<B extends WelcomeKey>(
  suite: CipherSuite,
  welcome: Welcome,
  bundles: readonly B[],
  config: ResolvedGroupConfig,
  resumes?: PskSource['own'],
): OpenedWelcome<B> {
  const { bundle, groupSecrets } = findOurSecrets(suite, welcome, bundles);
  const toWipe: Uint8Array[] = [];
  let pskSecret: Uint8Array | undefined;
  try {
    const resumption = checkJoinPsks(suite, groupSecrets.psks);
    const source: PskSource = resumes === undefined ? { config } : { config, own: resumes };
    pskSecret = computePskSecret(suite, resolvePsks(source, groupSecrets.psks));
    const welcomeSecret = deriveWelcomeSecret(suite, groupSecrets.joinerSecret, pskSecret);
    const { key, nonce } = welcomeKeyNonce(suite, welcomeSecret);
    toWipe.push(welcomeSecret, key, nonce);
    const giBytes = open('GroupInfo', () =>
      suite.aead.open(key, nonce, new Uint8Array(0), welcome.encryptedGroupInfo),
    );
    const groupInfo = decodeOr('GroupInfo', () => decode(groupInfoCodec, giBytes));
    const gc = groupInfo.groupContext;
    if (gc.version !== PROTOCOL_VERSION_MLS10) {
      throw new MlsError('unsupported_version', `GroupContext version ${gc.version}`);
    }
    if (gc.cipherSuite !== bundle.keyPackage.cipherSuite) {
      throw new MlsError('unsupported_cipher_suite', 'GroupInfo and KeyPackage suites differ');
    }
    return {
      bundle,
      groupSecrets,
      pskSecret,
      groupInfo,
      resumed: resumption !== undefined,
      resumption,
    };
  } catch (e) {
    pskSecret?.fill(0);
    groupSecrets.joinerSecret.fill(0);
    groupSecrets.pathSecret?.pathSecret.fill(0);
    throw e;
  } finally {
    for (const w of toWipe) w.fill(0);
  }
}

/** A join whose GroupInfo is verified and whose tree is built, but not yet validated. */
export interface JoinInProgress {
  readonly config: ResolvedGroupConfig;
  readonly suite: CipherSuite;
  readonly opened: OpenedWelcome<KeyPackageBundle>;
  readonly tree: RatchetTree;
  readonly leafBytes: ReceivedRatchetTree['leafBytes'];
  /** Wiped when the join ends, whichever way. */
  readonly secretsToWipe: Uint8Array[];
}

/**
 * §12.4.3.1 up to the tree's validation. Wipes the secrets it opened if it throws. `beforeBuild`
 * sees the tree's nodes once decoded (the async join starts the signatures there).
 */
export function startJoin(
  options: JoinOptions,
  beforeBuild?: (
    received: ReceivedNodes,
    leafBytes: ReceivedRatchetTree['leafBytes'],
    gc: GroupContext,
    suite: CipherSuite,
  ) => void,
): JoinInProgress {
  const config = resolveGroupConfig(options.config);
  const welcome = welcomeOf(options.welcome);
  const suite = suiteOf(welcome, options.suite);
  const opened = openWelcome(suite, welcome, options.keyPackages, config, options.resumes);
  const { groupSecrets, pskSecret } = opened;
  const gi = opened.groupInfo;
  const gc = gi.groupContext;
  const secretsToWipe: Uint8Array[] = [groupSecrets.joinerSecret, pskSecret];
  if (groupSecrets.pathSecret !== undefined) secretsToWipe.push(groupSecrets.pathSecret.pathSecret);
  try {
    if (options.isGroupIdInUse?.(gc.groupId) === true) {
      throw new MlsError('duplicate_group_id', 'we are already in a group with this id');
    }
    checkDistinctExtensions(gi.extensions, 'GroupInfo');
    checkGroupContextExtensions(config, gc.groupId, gc.extensions);
    const { tree, leafBytes } = receivedTreeOf(
      suite,
      gi,
      options.ratchetTree,
      beforeBuild === undefined ? undefined : (r, b) => beforeBuild(r, b, gc, suite),
    );
    const signer = gi.signer < tree.leafCount ? tree.leafNode(gi.signer) : undefined;
    if (signer === undefined) {
      throw new MlsError('invalid_signature', `GroupInfo signer ${gi.signer} is not a member`);
    }
    verifyGroupInfoSignature(suite, gi, signer.signatureKey);
    return { config, suite, opened, tree, leafBytes, secretsToWipe };
  } catch (e) {
    for (const s of secretsToWipe) s.fill(0);
    throw e;
  }
}

/** Joins the group a Welcome is for. Throws MlsError naming the rule a bad Welcome breaks. */
export function joinFromWelcome(options: JoinOptions): GroupState {
  const join = startJoin(options);
  try {
    const gc = join.opened.groupInfo.groupContext;
    validateTree(join.suite, join.config, join.tree, gc, join.leafBytes);
  } catch (e) {
    for (const s of join.secretsToWipe) s.fill(0);
    throw e;
  }
  return finishJoin(options, join);
}

/** The rest of §12.4.3.1 once the tree is valid: our leaf, path secrets, key schedule, state. */
export function finishJoin(options: JoinOptions, join: JoinInProgress): GroupState {
  const { config, suite, opened, tree, secretsToWipe } = join;
  const { bundle, groupSecrets, pskSecret, resumption } = opened;
  const gi = opened.groupInfo;
  const gc = gi.groupContext;
  let epochSecrets: EpochSecrets | undefined;
  let privatePath: PrivatePath | undefined;
  try {
    const me = findOwnLeaf(tree, bundle);
    checkLeafSupportsExtensions(bundle.keyPackage.leafNode, gc.extensions, 'our leaf');

    const leafPublic = bundle.keyPackage.leafNode.encryptionKey;
    const leafPrivate = bundle.encryptionPrivateKey.slice();
    privatePath = PrivatePath.forLeaf(me, { publicKey: leafPublic, privateKey: leafPrivate });
    if (!equalBytes(suite.hpke.kem.publicKeyFromPrivate(leafPrivate), leafPublic)) {
      throw new MlsError('private_key_mismatch', 'our leaf private key does not match the leaf');
    }
    if (groupSecrets.pathSecret !== undefined) {
      if (gi.signer === me) throw new MlsError('invalid_sender', 'the GroupInfo signer is us');
      privatePath = privatePath.withWelcomePathSecret(
        tree,
        commonAncestor(2 * me, 2 * gi.signer),
        groupSecrets.pathSecret.pathSecret,
      );
    }

    const epoch = epochFromJoinerSecret(
      suite,
      groupSecrets.joinerSecret,
      pskSecret,
      encode(groupContextCodec, gc),
    );
    epochSecrets = epoch.epoch;
    secretsToWipe.push(epoch.welcomeSecret);
    if (!epochSecrets.verifyConfirmationTag(gc.confirmedTranscriptHash, gi.confirmationTag)) {
      throw new MlsError('invalid_confirmation_tag', 'GroupInfo confirmation tag does not match');
    }
    if (resumption !== undefined) {
      if (gc.epoch !== 1n) {
        throw new MlsError('psk_usage_invalid', 'a reinit or branch Welcome must start epoch 1');
      }
      if (options.resumes === undefined) {
        throw new MlsError('resumption_unverified', 'a reinit or branch Welcome without its group');
      }
      options.resumes.verify(resumption, gi, tree);
    }
    const receiver = epochReceiver(suite, config, gc, tree, epochSecrets);
    const state = GroupState.fromParts({
      suite,
      config,
      groupContext: gc,
      tree,
      ownLeaf: me,
      privatePath,
      signaturePrivateKey: bundle.signaturePrivateKey,
      interimTranscriptHash: updateInterimTranscriptHash(
        suite,
        gc.confirmedTranscriptHash,
        gi.confirmationTag,
      ),
      confirmationTag: gi.confirmationTag,
      epochSecrets,
      receiver,
      pastReceivers: [],
      resumptionPsks: keptResumptionPsks(config, gc.epoch, epochSecrets),
      status: 'active',
    });
    if (!isLastResort(bundle.keyPackage)) {
      bundle.initPrivateKey.fill(0);
      bundle.encryptionPrivateKey.fill(0);
    }
    return state;
  } catch (e) {
    epochSecrets?.destroy();
    privatePath?.retire();
    throw e;
  } finally {
    for (const s of secretsToWipe) s.fill(0);
  }
}
