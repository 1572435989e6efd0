/**
 * One request to a peer, with failures named the same way whichever RequestPort carries it: a
 * DeliveryError from the port (refused, unreachable, timed out, misbehaving) passes as is,
 * anything else the port throws becomes 'peer_unreachable'. Callers then tell a peer's failure
 * (move on to the next peer) from their own bugs and their callers' errors (which propagate).
 */
import { DeliveryError, isDeliveryError } from './errors.js';
import type { DeliveryErrorCode } from './errors.js';
import type { PeerIdString, RequestOptions, RequestPort } from './ports.js';

export async function peerRequest(
  requests: RequestPort,
  peer: PeerIdString,
  protocol: string,
  body: Uint8Array,
  options: RequestOptions = {},
): Promise<Uint8Array> {
  try {
    return await requests.request(peer, protocol, body, options);
  } catch (err) {
    if (isDeliveryError(err) || options.signal?.aborted === true) throw err;
    throw new DeliveryError('peer_unreachable', `${protocol} to a peer failed`, { cause: err });
  }
}

/** The code of a peer's failure; anything that is not a DeliveryError is rethrown. */
export function peerFailure(err: unknown): DeliveryErrorCode {
  if (isDeliveryError(err)) return err.code;
  throw err;
}
