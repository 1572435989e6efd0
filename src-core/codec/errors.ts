import { ParleyError } from '../errors.js';

export type CodecErrorCode =
  | 'truncated'
  | 'trailing_bytes'
  | 'non_minimal_varint'
  | 'invalid_varint'
  | 'value_out_of_range'
  | 'invalid_value'
  | 'empty_item'
  | 'too_large';

/** Bytes that do not parse as the expected TLS-presentation-language structure. */
export class CodecError extends ParleyError<CodecErrorCode> {
  readonly layer = 'codec';
}
