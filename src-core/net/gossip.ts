// Topics over gossipsub: subscription with an envelope validator, publishing, mesh status.
// Parameters for chat are set here and explained in README.md: StrictNoSign with content-derived
// message ids (MLS authenticates its own messages; author signatures would tell the network who
// wrote what), a size limit, validation before forwarding, peer scoring, flood publish.
import { createHash } from 'node:crypto';
import { StrictNoSign, TopicValidatorResult } from '@libp2p/gossipsub';
import type { GossipSub, GossipsubOpts, Message } from '@libp2p/gossipsub';
import type {
  PeerScoreParams,
  PeerScoreThresholds,
  TopicScoreParams,
} from '@libp2p/gossipsub/score';
import type { GossipConfig } from './config.js';
import { NetError, describeError } from './errors.js';
import type { NetEventEmitter } from './events.js';
import { GossipEnvelope } from './pb/gossip.js';
import { wireBytes } from './reqresp.js';

/** Version of GossipEnvelope this node writes and accepts. */
export const ENVELOPE_VERSION = 1;
/** Protobuf overhead of an envelope around its payload (version, kind, length prefixes). */
const ENVELOPE_OVERHEAD = 32;
/** Largest inbound gossipsub RPC frame; an RPC may carry several messages (IWANT replies). */
const MAX_RPC_BYTES = 4 * 1024 * 1024;
/** Per-peer outbound buffer before the gossip stream to a slow peer is reset. */
const MAX_OUTBOUND_BUFFER = 8 * 1024 * 1024;
const MAX_TOPIC_LENGTH = 256;

export type GossipVerdict = 'accept' | 'reject' | 'ignore';

export interface GossipMessage {
  readonly topic: string;
  /** Content type chosen by the publisher's upper layer; never 0. */
  readonly kind: number;
  readonly payload: Uint8Array;
  /** Content-derived id (hash of topic and data): equal payloads on a topic share it. */
  readonly id: string;
  /**
   * The neighbour that forwarded the message, not its author: with StrictNoSign no author is
   * on the wire. Use it for scoring and rate limits, never as an identity.
   */
  readonly receivedFrom: string;
}

export interface TopicHandlers {
  onMessage(message: GossipMessage): void;
  /**
   * Runs after the envelope checks and before the message is forwarded: 'reject' drops it and
   * lowers the forwarder's score, 'ignore' drops it without blame (e.g. an epoch we have not
   * reached). Must be fast and synchronous; a throw counts as 'ignore'.
   */
  validate?(message: Omit<GossipMessage, 'id'>): GossipVerdict;
}

/** Content-derived message id: SHA-256 over the topic (length-prefixed) and the data. */
export function messageIdFor(topic: string, data: Uint8Array): Uint8Array {
  const t = Buffer.from(topic, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(t.byteLength);
  return new Uint8Array(createHash('sha256').update(len).update(t).update(data).digest());
}

/** Score parameters for each subscribed topic (README.md: "Peer scoring"). */
export function topicScoreParams(cfg: GossipConfig): Partial<TopicScoreParams> {
  return {
    topicWeight: 1,
    // P1: a little credit for staying in the mesh, so stable peers are kept on pruning.
    timeInMeshWeight: 0.01,
    timeInMeshQuantum: 1000,
    timeInMeshCap: 300,
    // P2: credit for being first to deliver, capped; decays with a half-life of ~11 min.
    firstMessageDeliveriesWeight: 0.5,
    firstMessageDeliveriesDecay: 0.999,
    firstMessageDeliveriesCap: 10,
    // P3/P3b off: a quiet chat group delivers few messages, and a delivery-rate quota would
    // punish honest mesh peers for the silence of the group.
    meshMessageDeliveriesWeight: 0,
    meshMessageDeliveriesDecay: 0.5,
    meshMessageDeliveriesCap: 1,
    meshMessageDeliveriesThreshold: 1,
    meshMessageDeliveriesWindow: 10,
    meshMessageDeliveriesActivation: 5000,
    meshFailurePenaltyWeight: 0,
    meshFailurePenaltyDecay: 0.5,
    // P4: invalid messages weigh heavily (squared count) and decay with a half-life of ~69 s:
    // one takes a peer below the gossip threshold, two to the graylist.
    invalidMessageDeliveriesWeight: cfg.invalidMessageWeight,
    invalidMessageDeliveriesDecay: 0.99,
  };
}

export function peerScoreParams(cfg: GossipConfig): Partial<PeerScoreParams> {
  return {
    topicScoreCap: 10,
    appSpecificScore: () => 0,
    appSpecificWeight: 1,
    IPColocationFactorWeight: -5,
    IPColocationFactorThreshold: 10,
    IPColocationFactorWhitelist: new Set(cfg.ipColocationWhitelist),
    behaviourPenaltyWeight: -10,
    behaviourPenaltyThreshold: 0,
    behaviourPenaltyDecay: 0.9,
    decayInterval: 1000,
    decayToZero: 0.01,
    // A peer that misbehaved and reconnects keeps its score for an hour.
    retainScore: 60 * 60 * 1000,
  };
}

export const PEER_SCORE_THRESHOLDS: PeerScoreThresholds = {
  gossipThreshold: -10,
  publishThreshold: -50,
  graylistThreshold: -80,
  // No peer exchange (doPX is off): contacts come from invites and the LAN, not from strangers.
  acceptPXThreshold: 1000,
  opportunisticGraftThreshold: 5,
};

/** Options for `gossipsub()` from our settings. */
export function gossipsubOptions(cfg: GossipConfig): Partial<GossipsubOpts> {
  return {
    globalSignaturePolicy: StrictNoSign,
    msgIdFn: (msg: Message) => messageIdFor(msg.topic, msg.data),
    msgIdToStrFn: (id: Uint8Array) => Buffer.from(id).toString('hex'),
    fallbackToFloodsub: false,
    doPX: false,
    emitSelf: false,
    floodPublish: cfg.floodPublish,
    // Publishing with nobody online is normal in a messenger: delivery stores and syncs later.
    allowPublishToZeroTopicPeers: true,
    D: cfg.D,
    Dlo: cfg.Dlo,
    Dhi: cfg.Dhi,
    Dlazy: cfg.Dlazy,
    heartbeatInterval: cfg.heartbeatIntervalMs,
    seenTTL: cfg.seenTtlMs,
    // IDONTWANT only pays for messages far larger than the id it names.
    idontwantMinDataSize: 16 * 1024,
    maxInboundDataLength: Math.max(MAX_RPC_BYTES, 4 * (cfg.maxMessageBytes + ENVELOPE_OVERHEAD)),
    maxOutboundBufferSize: MAX_OUTBOUND_BUFFER,
    scoreParams: peerScoreParams(cfg),
    scoreThresholds: PEER_SCORE_THRESHOLDS,
  };
}

/**
 * What we use of gossipsub beyond its public interface: the mesh of a topic (for status) and the
 * score parameters (topic parameters are added when a topic is joined; topics are not known at
 * start-up). Checked at start so a gossipsub upgrade that drops them fails loudly.
 */
interface GossipSubInternals {
  getMeshPeers(topic: string): string[];
  score: { params: { topics: Record<string, TopicScoreParams> } };
}

function internals(pubsub: GossipSub): GossipSubInternals {
  const x = pubsub as unknown as Partial<GossipSubInternals>;
  if (typeof x.getMeshPeers !== 'function' || typeof x.score?.params?.topics !== 'object') {
    throw new NetError('invalid_config', 'this gossipsub version lacks getMeshPeers/score.params');
  }
  return x as GossipSubInternals;
}

export function checkTopic(topic: string): void {
  if (topic.length === 0 || topic.length > MAX_TOPIC_LENGTH) {
    throw new NetError('invalid_argument', `topic length must be 1..${MAX_TOPIC_LENGTH}`);
  }
}

interface Joined {
  readonly handlers: TopicHandlers;
  lastStatus: string;
}

export class Gossip {
  readonly #pubsub: GossipSub;
  readonly #internals: GossipSubInternals;
  readonly #cfg: GossipConfig;
  readonly #events: NetEventEmitter;
  readonly #topics = new Map<string, Joined>();
  /** Envelopes decoded by the validator, handed to the message listener without decoding twice. */
  readonly #decoded = new WeakMap<Message, GossipEnvelope>();

  constructor(pubsub: GossipSub, cfg: GossipConfig, events: NetEventEmitter) {
    this.#pubsub = pubsub;
    this.#internals = internals(pubsub);
    this.#cfg = cfg;
    this.#events = events;
    pubsub.addEventListener('gossipsub:message', (evt) => {
      const { msg, msgId, propagationSource } = evt.detail;
      const joined = this.#topics.get(msg.topic);
      const env = this.#decoded.get(msg);
      if (joined === undefined || env === undefined) return;
      try {
        joined.handlers.onMessage({
          topic: msg.topic,
          kind: env.kind,
          payload: env.payload,
          id: msgId,
          receivedFrom: propagationSource.toString(),
        });
      } catch (err) {
        console.error(`net: onMessage for a topic threw ${describeError(err)}`);
      }
    });
    const refresh = (): void => this.#refreshStatus();
    pubsub.addEventListener('gossipsub:graft', refresh);
    pubsub.addEventListener('gossipsub:prune', refresh);
    pubsub.addEventListener('subscription-change', refresh);
    pubsub.addEventListener('gossipsub:heartbeat', refresh);
  }

  /** Joins `topic`; returns a function that leaves it. One subscription per topic. */
  subscribe(topic: string, handlers: TopicHandlers): () => void {
    checkTopic(topic);
    if (this.#topics.has(topic)) {
      throw new NetError('invalid_argument', `already subscribed to this topic`);
    }
    this.#topics.set(topic, { handlers, lastStatus: '' });
    this.#pubsub.topicValidators.set(topic, (from, msg) => this.#validate(from.toString(), msg));
    try {
      this.#pubsub.subscribe(topic);
    } catch (cause) {
      this.#topics.delete(topic);
      this.#pubsub.topicValidators.delete(topic);
      throw new NetError('not_started', 'cannot join a topic: the node is not running', { cause });
    }
    this.#internals.score.params.topics[topic] = {
      ...(this.#internals.score.params.topics[topic] ?? {}),
      ...topicScoreParams(this.#cfg),
    } as TopicScoreParams;
    this.#refreshStatus();
    return () => this.unsubscribe(topic);
  }

  unsubscribe(topic: string): void {
    if (!this.#topics.delete(topic)) return;
    this.#pubsub.topicValidators.delete(topic);
    try {
      this.#pubsub.unsubscribe(topic);
    } catch {
      // The node is stopped: there is no subscription left to announce the end of.
    }
    // Scores of this topic's peers are kept until they decay: leaving does not forgive.
  }

  #validate(from: string, msg: Message): TopicValidatorResult {
    const joined = this.#topics.get(msg.topic);
    if (joined === undefined) return TopicValidatorResult.Ignore;
    if (msg.type !== 'unsigned') return TopicValidatorResult.Reject;
    if (msg.data.byteLength > this.#cfg.maxMessageBytes + ENVELOPE_OVERHEAD) {
      return TopicValidatorResult.Reject;
    }
    let env: GossipEnvelope;
    try {
      env = GossipEnvelope.decode(msg.data);
    } catch {
      return TopicValidatorResult.Reject;
    }
    // A newer envelope version is not the forwarder's fault: drop it without penalty.
    if (env.version !== ENVELOPE_VERSION) return TopicValidatorResult.Ignore;
    if (env.kind === 0 || env.payload.byteLength === 0) return TopicValidatorResult.Reject;
    if (env.payload.byteLength > this.#cfg.maxMessageBytes) return TopicValidatorResult.Reject;
    let verdict: GossipVerdict = 'accept';
    if (joined.handlers.validate !== undefined) {
      try {
        verdict = joined.handlers.validate({
          topic: msg.topic,
          kind: env.kind,
          payload: env.payload,
          receivedFrom: from,
        });
      } catch (err) {
        console.error(`net: a topic validator threw ${describeError(err)}`);
        verdict = 'ignore';
      }
    }
    if (verdict === 'accept') {
      this.#decoded.set(msg, env);
      return TopicValidatorResult.Accept;
    }
    return verdict === 'reject' ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore;
  }

  /**
   * Publishes `payload` under `kind` on `topic` (we need not be subscribed). Resolves with the
   * message id and the number of peers it was sent to (0 when nobody is online).
   */
  async publish(
    topic: string,
    kind: number,
    payload: Uint8Array,
  ): Promise<{ id: string; recipients: number }> {
    checkTopic(topic);
    if (!Number.isInteger(kind) || kind < 1 || kind > 0xffffffff) {
      throw new NetError('invalid_argument', 'kind must be a 32-bit integer above 0');
    }
    if (payload.byteLength === 0) throw new NetError('invalid_argument', 'empty payload');
    if (payload.byteLength > this.#cfg.maxMessageBytes) {
      throw new NetError(
        'message_too_large',
        `payload of ${payload.byteLength} bytes, limit ${this.#cfg.maxMessageBytes}`,
      );
    }
    const data = GossipEnvelope.encode({
      version: ENVELOPE_VERSION,
      kind,
      payload: wireBytes(payload),
    });
    try {
      const result = await this.#pubsub.publish(topic, data);
      return {
        id: Buffer.from(messageIdFor(topic, data)).toString('hex'),
        recipients: result.recipients.length,
      };
    } catch (cause) {
      const reason = (cause as Error).message;
      if (reason === 'PublishError.Duplicate') {
        throw new NetError('duplicate_message', 'this payload was already published on the topic', {
          cause,
        });
      }
      if (reason === 'PublishError.Uninitialized') {
        throw new NetError('not_started', 'cannot publish: the node is not running', { cause });
      }
      throw new NetError('publish_failed', 'publish failed', { cause });
    }
  }

  topics(): string[] {
    return [...this.#topics.keys()];
  }

  meshPeers(topic: string): string[] {
    return this.#internals.getMeshPeers(topic);
  }

  subscribers(topic: string): string[] {
    return this.#pubsub.getSubscribers(topic).map((p) => p.toString());
  }

  #refreshStatus(): void {
    for (const [topic, joined] of this.#topics) {
      const mesh = this.#internals.getMeshPeers(topic).length;
      const subscribers = this.#pubsub.getSubscribers(topic).length;
      const key = `${mesh}/${subscribers}`;
      if (key === joined.lastStatus) continue;
      joined.lastStatus = key;
      this.#events.emit('topic:status', { topic, mesh, subscribers });
    }
  }
}
