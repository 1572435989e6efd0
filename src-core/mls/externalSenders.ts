import { opaque, struct, vector } from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import type { Credential } from './credential.js';
import { credentialCodec } from './credential.js';

/**
 * ```
 * struct {
 *   SignaturePublicKey signature_key;
 *   Credential credential;
 * } ExternalSender;
 * ```
 * A party outside the group allowed to send proposals (§12.1.8.1); its index in the list is the
 * `sender_index` of an `external` Sender.
 */
export interface ExternalSender {
  readonly signatureKey: Uint8Array;
  readonly credential: Credential;
}

export const externalSenderCodec: Codec<ExternalSender> = struct<ExternalSender>({
  signatureKey: opaque,
  credential: credentialCodec,
});

/** `ExternalSender external_senders<V>;`: the `extension_data` of an `external_senders` extension. */
export const externalSendersCodec: Codec<readonly ExternalSender[]> = vector(
  externalSenderCodec,
) as Codec<readonly ExternalSender[]>;
