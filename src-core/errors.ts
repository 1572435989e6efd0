/**
 * Every layer of src-core throws its own error class with a machine-readable code, so callers can
 * tell "the network sent garbage" from "our state is broken" without parsing messages. Messages
 * never carry secret material: only lengths, indices and names.
 */
export abstract class ParleyError<Code extends string = string> extends Error {
  abstract readonly layer: string;
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.code = code;
    this.name = new.target.name;
  }
}
