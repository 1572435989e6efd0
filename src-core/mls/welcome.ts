import { opaque, optional, struct, uint16, vector } from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import type { HPKECiphertext } from './hpkeCiphertext.js';
import { hpkeCiphertextCodec } from './hpkeCiphertext.js';
import type { PreSharedKeyID } from './psk.js';
import { preSharedKeyIdCodec } from './psk.js';

/** `struct { opaque path_secret<V>; } PathSecret;` */
export interface PathSecret {
  readonly pathSecret: Uint8Array;
}

export const pathSecretCodec: Codec<PathSecret> = struct<PathSecret>({ pathSecret: opaque });

/**
 * ```
 * struct {
 *   opaque joiner_secret<V>;
 *   optional<PathSecret> path_secret;
 *   PreSharedKeyID psks<V>;
 * } GroupSecrets;
 * ```
 * Carries secrets: holders should zeroize `joinerSecret` and `pathSecret` once the epoch's
 * keys are derived.
 */
export interface GroupSecrets {
  readonly joinerSecret: Uint8Array;
  readonly pathSecret: PathSecret | undefined;
  readonly psks: readonly PreSharedKeyID[];
}

export const groupSecretsCodec: Codec<GroupSecrets> = struct<GroupSecrets>({
  joinerSecret: opaque,
  pathSecret: optional(pathSecretCodec),
  psks: vector(preSharedKeyIdCodec) as Codec<readonly PreSharedKeyID[]>,
});

/**
 * ```
 * struct {
 *   KeyPackageRef new_member;
 *   HPKECiphertext encrypted_group_secrets;
 * } EncryptedGroupSecrets;
 * ```
 * `encrypted_group_secrets` = EncryptWithLabel(init_key, "Welcome", encrypted_group_info,
 * GroupSecrets) (§12.4.3.1).
 */
export interface EncryptedGroupSecrets {
  readonly newMember: Uint8Array;
  readonly encryptedGroupSecrets: HPKECiphertext;
}

export const encryptedGroupSecretsCodec: Codec<EncryptedGroupSecrets> =
  struct<EncryptedGroupSecrets>({
    newMember: opaque,
    encryptedGroupSecrets: hpkeCiphertextCodec,
  });

/**
 * ```
 * struct {
 *   CipherSuite cipher_suite;
 *   EncryptedGroupSecrets secrets<V>;
 *   opaque encrypted_group_info<V>;
 * } Welcome;
 * ```
 */
export interface Welcome {
  readonly cipherSuite: number;
  readonly secrets: readonly EncryptedGroupSecrets[];
  readonly encryptedGroupInfo: Uint8Array;
}

export const welcomeCodec: Codec<Welcome> = struct<Welcome>({
  cipherSuite: uint16,
  secrets: vector(encryptedGroupSecretsCodec) as Codec<readonly EncryptedGroupSecrets[]>,
  encryptedGroupInfo: opaque,
});
