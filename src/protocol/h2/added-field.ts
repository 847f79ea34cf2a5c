/**
 * A field a proxy adds to a request it forwards, written straight into the header block (a literal never
 * indexed, with a literal name) with its value made from `seed` at write time: the same seed writes the
 * same value (a retried call carries the same field), and no string is made per call. The router's
 * made trace context is one (router/tracing/made-traceparent.ts).
 */
export interface AddedField {
  readonly name: string;
  /** The value's length in bytes, below 127 (its length fits the first byte). */
  readonly length: number;
  /** Writes the value's `length` bytes at `out[at]`. */
  write(out: Uint8Array, at: number, seed: number): void;
}
