/**
 * Rebuilding a group state from its records. The records come from disk, so they are treated as
 * untrusted: every record is parsed with the bounded codec, and the pieces are checked against
 * each other before a state is assembled (each tree hashes to its GroupContext's tree hash, the
 * private keys match the tree, the signature key matches our leaf, the receivers are the epochs
 * the state lists, no record is left over). Any failure gives MlsError('state_corrupt') or
 * 'unsupported_state_version', wipes the secrets decoded so far, and builds no state.
 */
import { cipherSuite, isCipherSuiteId } from '../../crypto/index.js';
import type { CipherSuite } from '../../crypto/types.js';
import { MlsError } from '../errors.js';
import type { GroupConfig, ResolvedGroupConfig } from '../group/config.js';
import { resolveGroupConfig } from '../group/config.js';
import { EpochReceiver } from '../group/epochReceiver.js';
import type { GroupStatus } from '../group/groupState.js';
import { GroupState } from '../group/groupState.js';
import { EpochSecrets } from '../keySchedule.js';
import type { Node } from '../ratchetTreeExtension.js';
import type { RatchetTree } from '../ratchetTree/ratchetTree.js';
import { equalBytes } from '../ratchetTree/treeReader.js';
import type { LeafRatchetState, RatchetState } from '../secretTree.js';
import { SecretTree } from '../secretTree.js';
import { PrivatePath } from '../treekem/privatePath.js';
import type { EpochId } from './keys.js';
import { epochIdOf, epochIdString, hex, sameEpochId } from './keys.js';
import type { Buckets, EpochBucket } from './buckets.js';
import type { StateRecord, StoredRatchet } from './records.js';
import {
  asCorrupt,
  decodeRecord,
  epochRecordCodec,
  leafRecordCodec,
  nodeRecordCodec,
  proposalRecordCodec,
  secretNodeRecordCodec,
  stateRecordCodec,
  treeDeltaRecordCodec,
} from './records.js';
import { applyTreeDelta, checkTreeHash, treeFromNodes } from './treeRecords.js';

export interface DecodeOptions {
  readonly config?: GroupConfig;
  /** The suite implementation; default `cipherSuite(<the stored suite id>)`. */
  readonly suite?: CipherSuite;
}

const STATUS: readonly GroupStatus[] = ['active', 'removed', 'reinit'];

function corrupt(what: string): MlsError {
  return new MlsError('state_corrupt', what);
}

/** What a decode has made so far, to undo if it fails. */
class Undo {
  readonly secrets: Uint8Array[] = [];
  readonly receivers: EpochReceiver[] = [];

  secret(s: Uint8Array): Uint8Array {
    this.secrets.push(s);
    return s;
  }

  run(): void {
    for (const r of this.receivers) r.release();
    for (const s of this.secrets) s.fill(0);
  }
}

function suiteFor(rec: StateRecord, given: CipherSuite | undefined): CipherSuite {
  if (rec.groupContext.cipherSuite !== rec.cipherSuite) {
    throw corrupt('state: suite differs from the GroupContext');
  }
  if (given !== undefined) {
    if (given.id !== rec.cipherSuite) throw corrupt(`state: suite ${rec.cipherSuite} stored`);
    return given;
  }
  if (!isCipherSuiteId(rec.cipherSuite)) throw corrupt(`state: unknown suite ${rec.cipherSuite}`);
  return cipherSuite(rec.cipherSuite);
}

/** Reads the `state` record of a bucket set. */
export function readStateRecord(b: Buckets, where: string): StateRecord {
  if (b.state === undefined) throw corrupt(`${where}: no state record`);
  return decodeRecord(`${where}state`, stateRecordCodec, b.state);
}

/** The current tree from its node records. */
export function treeFromNodeRecords(
  suite: CipherSuite,
  b: Buckets,
  leafCount: number,
): RatchetTree {
  const nodes = new Map<number, Node>();
  for (const [x, bytes] of b.treeNodes)
    nodes.set(x, decodeRecord(`tree/${x}`, nodeRecordCodec, bytes));
  return treeFromNodes(suite, leafCount, nodes, 'tree');
}

/** The snapshot's tree from its delta against the current tree. */
export function treeFromDeltaRecord(
  suite: CipherSuite,
  b: Buckets,
  base: RatchetTree,
  where: string,
): RatchetTree {
  if (b.treeDelta === undefined) throw corrupt(`${where}: no tree record`);
  const delta = decodeRecord(`${where}tree`, treeDeltaRecordCodec, b.treeDelta);
  if (delta.base !== undefined) throw corrupt(`${where}tree: unexpected base`);
  return applyTreeDelta(suite, base, delta, `${where}tree`);
}

function ratchet(r: StoredRatchet, undo: Undo): RatchetState {
  undo.secret(r.secret);
  return {
    next: r.next,
    secret: r.secret,
    skipped: r.skipped.map((k) => {
      undo.secret(k.key);
      undo.secret(k.nonce);
      return [k.generation, { key: k.key, nonce: k.nonce }] as const;
    }),
  };
}

interface ReceiverInput {
  readonly suite: CipherSuite;
  readonly config: ResolvedGroupConfig;
  readonly id: EpochId;
  readonly bucket: EpochBucket;
  readonly where: string;
  /** The tree a stored delta applies to, and its id (absent: the owning state's tree). */
  readonly base: { readonly tree: RatchetTree; readonly id: EpochId | undefined };
  /** Whether a delta must be present (past epochs) or may be absent (the state's own tree). */
  readonly deltaRequired: boolean;
}

function decodeReceiver(input: ReceiverInput, undo: Undo): EpochReceiver {
  const { suite, bucket, where, base } = input;
  if (bucket.context === undefined) throw corrupt(`${where}: no context record`);
  const ctx = decodeRecord(`${where}context`, epochRecordCodec, bucket.context);
  undo.secret(ctx.senderDataSecret);
  if (!sameEpochId(epochIdOf(suite, ctx.groupContext), input.id)) {
    throw corrupt(`${where}: GroupContext does not match the epoch id`);
  }
  if (ctx.senderDataSecret.length !== suite.kdf.size) throw corrupt(`${where}: sender data secret`);
  let tree = base.tree;
  if (bucket.tree !== undefined) {
    const delta = decodeRecord(`${where}tree`, treeDeltaRecordCodec, bucket.tree);
    const baseOk =
      delta.base === undefined
        ? base.id === undefined
        : base.id !== undefined && sameEpochId(delta.base, base.id);
    if (!baseOk) throw corrupt(`${where}tree: stored against another tree`);
    tree = applyTreeDelta(suite, base.tree, delta, `${where}tree`);
  } else if (input.deltaRequired) {
    throw corrupt(`${where}: no tree record`);
  }
  checkTreeHash(tree, ctx.groupContext, `${where}tree`);
  if (ctx.leafCount !== tree.leafCount) throw corrupt(`${where}: secret tree size`);
  const nodes: [number, Uint8Array][] = [];
  for (const [x, bytes] of bucket.nodes) {
    nodes.push([x, undo.secret(decodeRecord(`${where}node/${x}`, secretNodeRecordCodec, bytes))]);
  }
  const leaves: [number, LeafRatchetState][] = [];
  for (const [leaf, bytes] of bucket.leaves) {
    const rec = decodeRecord(`${where}leaf/${leaf}`, leafRecordCodec, bytes);
    leaves.push([
      leaf,
      { handshake: ratchet(rec.handshake, undo), application: ratchet(rec.application, undo) },
    ]);
  }
  const secretTree = SecretTree.restore(
    suite,
    ctx.leafCount,
    { nodes, leaves },
    {
      outOfOrderWindow: input.config.outOfOrderWindow,
      maxForwardDistance: input.config.maxForwardDistance,
    },
  );
  const receiver = new EpochReceiver(
    suite,
    ctx.groupContext,
    tree,
    secretTree,
    ctx.senderDataSecret,
  );
  undo.receivers.push(receiver);
  return receiver;
}

export interface StateInput {
  readonly rec: StateRecord;
  readonly buckets: Buckets;
  /** The key prefix of these records, for messages. */
  readonly where: string;
  /** The owning state's tree, from node records or a delta. */
  readonly tree: (suite: CipherSuite) => RatchetTree;
  /** A receiver held by a state decoded before (a snapshot shares the current state's). */
  readonly shared: (id: EpochId) => EpochReceiver | undefined;
  readonly options: DecodeOptions;
}

/** Builds a state from its decoded pieces, checking them against each other. */
export function buildState(input: StateInput): GroupState {
  const undo = new Undo();
  let state: GroupState | undefined;
  try {
    const { rec, where } = input;
    undo.secret(rec.signaturePrivateKey);
    for (const e of rec.epochSecrets ?? []) undo.secret(e.secret);
    for (const k of rec.privatePath) undo.secret(k.privateKey);
    for (const p of rec.resumptionPsks) undo.secret(p.psk);
    const suite = suiteFor(rec, input.options.suite);
    const config = resolveGroupConfig(input.options.config);
    const status = STATUS[rec.status]!;
    const gc = rec.groupContext;
    const tree = input.tree(suite);
    checkTreeHash(tree, gc, `${where}state`);
    if (rec.ownLeaf >= tree.leafCount) throw corrupt(`${where}state: own leaf out of range`);

    // Receivers: this epoch's (unless removed), then past ones, newest first.
    if (rec.hasCurrentReceiver !== (status !== 'removed')) {
      throw corrupt(`${where}state: receiver list does not fit the status`);
    }
    const used = new Set<string>();
    const receivers: EpochReceiver[] = [];
    rec.receivers.forEach((id, i) => {
      const key = epochIdString(id);
      if (used.has(key)) throw corrupt(`${where}state: epoch ${key} listed twice`);
      used.add(key);
      const current = i === 0 && rec.hasCurrentReceiver;
      if (current ? !sameEpochId(id, epochIdOf(suite, gc)) : id.epoch >= gc.epoch) {
        throw corrupt(`${where}state: receiver ${key} is not a kept epoch`);
      }
      if (i > 0 && id.epoch >= rec.receivers[i - 1]!.epoch) {
        throw corrupt(`${where}state: receivers out of order`);
      }
      const before = receivers[i - 1];
      const base =
        before === undefined
          ? { tree, id: undefined }
          : { tree: before.tree, id: rec.receivers[i - 1] };
      const shared = input.shared(id);
      if (shared !== undefined) {
        undo.receivers.push(shared.retain());
        receivers.push(shared);
        return;
      }
      const bucket = input.buckets.epochs.get(key);
      if (bucket === undefined) throw corrupt(`${where}state: no records for epoch ${key}`);
      bucket.used = true;
      const r = decodeReceiver(
        {
          suite,
          config,
          id,
          bucket,
          where: `${where}epoch/${key}/`,
          base,
          deltaRequired: i > 0,
        },
        undo,
      );
      receivers.push(r);
    });
    for (const [key, bucket] of input.buckets.epochs) {
      if (bucket.used !== true) throw corrupt(`${where}epoch/${key}: not held by the state`);
    }

    // Our keys.
    if (status !== 'removed') {
      const leaf = tree.leafNode(rec.ownLeaf);
      if (leaf === undefined) throw corrupt(`${where}state: our leaf is blank`);
      const sigPub = suite.signature.publicKeyFromPrivate(rec.signaturePrivateKey);
      if (!equalBytes(sigPub, leaf.signatureKey)) {
        throw corrupt(`${where}state: signature key does not match our leaf`);
      }
    }
    const privatePath = PrivatePath.fromKeys(
      rec.ownLeaf,
      rec.privatePath.map((k) => [k.node, { publicKey: k.publicKey, privateKey: k.privateKey }]),
    );
    for (const k of rec.privatePath) {
      // Cheap next to loading the tree (one scalar multiplication per key on our path).
      if (!equalBytes(suite.hpke.kem.publicKeyFromPrivate(k.privateKey), k.publicKey)) {
        throw corrupt(`${where}state: private key of node ${k.node} does not match`);
      }
    }
    if (status !== 'removed') {
      if (privatePath.keyPair(2 * rec.ownLeaf) === undefined) {
        throw corrupt(`${where}state: no key for our leaf`);
      }
      privatePath.checkConsistent(tree);
    }
    if ((rec.epochSecrets === undefined) !== (status === 'removed')) {
      throw corrupt(`${where}state: epoch secrets do not fit the status`);
    }
    if (status === 'reinit' && rec.reInit === undefined) {
      throw corrupt(`${where}state: reinit status without ReInit`);
    }
    const epochSecrets =
      rec.epochSecrets === undefined
        ? undefined
        : EpochSecrets.restore(
            suite,
            rec.epochSecrets.map((e) => [e.name, e.secret]),
          );
    const resumptionPsks = new Map<bigint, Uint8Array>();
    for (const { epoch, psk } of rec.resumptionPsks) {
      if (resumptionPsks.has(epoch) || psk.length !== suite.kdf.size || epoch > gc.epoch) {
        throw corrupt(`${where}state: resumption PSK of epoch ${epoch}`);
      }
      resumptionPsks.set(epoch, psk);
    }

    state = GroupState.fromParts({
      suite,
      config,
      groupContext: gc,
      tree,
      ownLeaf: rec.ownLeaf,
      privatePath,
      signaturePrivateKey: rec.signaturePrivateKey,
      interimTranscriptHash: rec.interimTranscriptHash,
      confirmationTag: rec.confirmationTag,
      epochSecrets,
      receiver: rec.hasCurrentReceiver ? receivers[0] : undefined,
      pastReceivers: rec.hasCurrentReceiver ? receivers.slice(1) : receivers,
      resumptionPsks,
      status,
      ...(rec.reInit === undefined ? {} : { reInit: rec.reInit }),
    });

    for (const [refHex, bytes] of input.buckets.proposals) {
      const p = decodeRecord(`${where}proposal/${refHex}`, proposalRecordCodec, bytes);
      if (p.updateKeyPair !== undefined) undo.secret(p.updateKeyPair.privateKey);
      if (hex(p.ref) !== refHex) throw corrupt(`${where}proposal/${refHex}: ref differs`);
      state.proposals.add({
        ref: p.ref,
        proposal: p.proposal,
        sender: p.sender,
        own: p.own,
        ...(p.updateKeyPair === undefined ? {} : { updateKeyPair: p.updateKeyPair }),
      });
    }
    // Everything is stored already: the journal starts empty.
    state.proposals.takeAdded();
    return state;
  } catch (e) {
    if (state !== undefined) state.destroy();
    else undo.run();
    for (const s of undo.secrets) s.fill(0);
    throw asCorrupt(e, `${input.where}state does not rebuild`);
  }
}
