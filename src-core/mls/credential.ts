import { CodecError, opaque, struct, uint16, vector } from '../codec/index.js';
import type { Codec, Reader, Writer } from '../codec/index.js';

/** RFC 9420 §17.5: the credential types this implementation knows by number. */
export const CredentialType = {
  basic: 0x0001,
  x509: 0x0002,
} as const;

/** `struct { opaque cert_data<V>; } Certificate;` (one DER-encoded X.509 certificate) */
export interface Certificate {
  readonly certData: Uint8Array;
}

export const certificateCodec: Codec<Certificate> = struct<Certificate>({ certData: opaque });

/** `case basic: opaque identity<V>;` */
export interface BasicCredential {
  readonly credentialType: typeof CredentialType.basic;
  readonly identity: Uint8Array;
}

/** `case x509: Certificate certificates<V>;` (certificates[0] is the end-entity certificate) */
export interface X509Credential {
  readonly credentialType: typeof CredentialType.x509;
  readonly certificates: readonly Certificate[];
}

/**
 * A credential of a type this implementation does not interpret (a newer registered type, a
 * private-use type, or GREASE). RFC 9420 §13.3 lets a group use any credential type that all of
 * its members list in their capabilities, so such a credential must survive a decode/encode
 * round trip; whether it is acceptable is decided by capability checks and the application's
 * credential validation, not by the decoder.
 *
 * The RFC does not define the body of an unregistered type. Both defined types carry their body
 * as one variable-length vector, and so do the custom credentials of OpenMLS and mls-rs, so the
 * body is kept as `opaque<V>`.
 */
export interface CustomCredential {
  readonly credentialType: number;
  readonly data: Uint8Array;
}

/**
 * ```
 * uint16 CredentialType;
 *
 * struct {
 *     CredentialType credential_type;
 *     select (Credential.credential_type) {
 *         case basic:
 *             opaque identity<V>;
 *
 *         case x509:
 *             Certificate certificates<V>;
 *     };
 * } Credential;
 * ```
 */
export type Credential = BasicCredential | X509Credential | CustomCredential;

/** Narrows a credential to a type this implementation does not interpret. */
export function isCustomCredential(c: Credential): c is CustomCredential {
  return 'data' in c;
}

const certificatesCodec = vector(certificateCodec) as Codec<readonly Certificate[]>;

export const credentialCodec: Codec<Credential> = {
  encode(w: Writer, c: Credential): void {
    if (isCustomCredential(c)) {
      // A known type dressed as a custom one would decode back differently: refuse it here so a
      // value and its encoding always correspond one to one.
      if (c.credentialType === CredentialType.basic || c.credentialType === CredentialType.x509) {
        throw new CodecError(
          'invalid_value',
          `credential type ${c.credentialType} given as custom`,
        );
      }
      uint16.encode(w, c.credentialType);
      opaque.encode(w, c.data);
      return;
    }
    uint16.encode(w, c.credentialType);
    if (c.credentialType === CredentialType.basic) opaque.encode(w, c.identity);
    else certificatesCodec.encode(w, c.certificates);
  },
  decode(r: Reader): Credential {
    const credentialType = uint16.decode(r);
    switch (credentialType) {
      case 0:
        throw new CodecError('invalid_value', 'credential type 0 is reserved');
      case CredentialType.basic:
        return { credentialType, identity: opaque.decode(r) };
      case CredentialType.x509:
        return { credentialType, certificates: certificatesCodec.decode(r) };
      default:
        return { credentialType, data: opaque.decode(r) };
    }
  },
};
