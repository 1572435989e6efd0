/**
 * What the delivery logic needs from the world, and nothing more. The real implementation sits
 * on src-core/net (gossipsub topics and request/response streams); the deterministic simulation
 * (test/delivery/sim) implements the same ports over a seeded network and a virtual clock. Keeping
 * the delivery logic behind these ports is what lets one seed reproduce a failure exactly.
 */

/** A libp2p peer id as a string; never an identity (MLS and the identity layer say who is who). */
export type PeerIdString = string;

export interface TimerHandle {
  readonly id: number;
}

/** Time as the delivery logic sees it: milliseconds, monotonic within one run. */
export interface Clock {
  now(): number;
  setTimer(delayMs: number, callback: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** Randomness the delivery logic may use for jitter and ids (not for keys: keys come from crypto). */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
}

export interface ChannelMessage {
  readonly channel: string;
  readonly data: Uint8Array;
  /** The neighbour that forwarded it, not its author. */
  readonly receivedFrom: PeerIdString;
}

/**
 * Publish/subscribe over group channels (gossipsub topics in production). Delivery is best effort:
 * messages may be lost, delayed, duplicated or reordered; the sequencer and the sync protocol make
 * up for that.
 */
export interface ChannelPort {
  publish(channel: string, data: Uint8Array): Promise<void>;
  /** Returns an unsubscribe function. A handler must not throw; it is called once per arrival. */
  subscribe(channel: string, onMessage: (message: ChannelMessage) => void): () => void;
  /** Peers currently known to be subscribed to the channel (best knowledge, may be stale). */
  subscribers(channel: string): readonly PeerIdString[];
}

export interface RequestOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * One request, one response, to a named peer (a libp2p stream in production). Protocol names are
 * short lowercase words (`sync`, `keypackages`, `mailbox`); versions live inside the bodies.
 */
export interface RequestPort {
  request(
    peer: PeerIdString,
    protocol: string,
    body: Uint8Array,
    options?: RequestOptions,
  ): Promise<Uint8Array>;
  /** Returns an unregister function. The handler's rejection is sent back as a refusal. */
  handle(
    protocol: string,
    handler: (body: Uint8Array, from: PeerIdString) => Promise<Uint8Array>,
  ): () => void;
}

/** Everything one peer's delivery stack is given. */
export interface DeliveryPorts {
  readonly self: PeerIdString;
  readonly clock: Clock;
  readonly random: Random;
  readonly channels: ChannelPort;
  readonly requests: RequestPort;
}
