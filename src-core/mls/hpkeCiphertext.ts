import { opaque, struct } from '../codec/index.js';
import type { Codec } from '../codec/index.js';

/**
 * ```
 * struct {
 *     opaque kem_output<V>;
 *     opaque ciphertext<V>;
 * } HPKECiphertext;
 * ```
 */
export interface HPKECiphertext {
  readonly kemOutput: Uint8Array;
  readonly ciphertext: Uint8Array;
}

export const hpkeCiphertextCodec: Codec<HPKECiphertext> = struct<HPKECiphertext>({
  kemOutput: opaque,
  ciphertext: opaque,
});
