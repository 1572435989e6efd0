/**
 * Control messages between the main process and the core's utility process (over the utility
 * process's parent port; the API itself travels over separate MessagePorts, one per client).
 * Both ends parse what they receive with these schemas: the core process runs the network stack
 * and parses data from peers, so main does not trust it more than it must.
 *
 *   main -> core   init {profileDir, keyProtection}     first message, exactly once
 *                  connect (+ one MessagePort)           serve the API on that port
 *                  keychain-result {id, ok, bytes|message}
 *                  shutdown                              lock, stop the node, exit
 *   core -> main   ready | failed {reason}               after init
 *                  keychain {id, op, bytes}              wrap or unwrap with safeStorage
 *                  stopped                               after shutdown
 */
import { z } from 'zod';

/** A database key or its wrapping: tens of bytes; the bound only stops nonsense. */
const bytes = z.custom<Uint8Array>(
  (v) => v instanceof Uint8Array && v.byteLength <= 4096,
  'bytes (at most 4096)',
);
const requestId = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const toCoreMessage = z.union([
  z.strictObject({
    type: z.literal('init'),
    profileDir: z.string().min(1).max(4096),
    keyProtection: z.enum(['keychain', 'passphrase']),
  }),
  z.strictObject({ type: z.literal('connect') }),
  z.strictObject({ type: z.literal('keychain-result'), id: requestId, ok: z.literal(true), bytes }),
  z.strictObject({
    type: z.literal('keychain-result'),
    id: requestId,
    ok: z.literal(false),
    message: z.string().max(1000),
  }),
  z.strictObject({ type: z.literal('shutdown') }),
]);

export const fromCoreMessage = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ready') }),
  z.strictObject({ type: z.literal('failed'), reason: z.string().max(1000) }),
  z.strictObject({
    type: z.literal('keychain'),
    id: requestId,
    op: z.enum(['wrap', 'unwrap']),
    bytes,
  }),
  z.strictObject({ type: z.literal('stopped') }),
]);

export type ToCoreMessage = z.output<typeof toCoreMessage>;
export type FromCoreMessage = z.output<typeof fromCoreMessage>;
export type KeychainRequest = Extract<FromCoreMessage, { type: 'keychain' }>;
export type KeychainResult = Extract<ToCoreMessage, { type: 'keychain-result' }>;
