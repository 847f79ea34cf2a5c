/** Bad input to a computation; the engine answers INVALID_ARGUMENT with this message. */
export class InvalidInputError extends Error {}

/** One operation an engine can run: bytes in, bytes out, synchronous (engines are CPU work). */
export interface Computation {
  readonly name: string;
  readonly description: string;
  run(payload: Buffer): Buffer;
}

/** Parses a JSON object payload, or throws InvalidInputError saying what was expected. */
export function jsonInput(payload: Buffer, operation: string, expected: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new InvalidInputError(`${operation}: payload must be JSON like ${expected}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidInputError(`${operation}: payload must be a JSON object like ${expected}`);
  }
  return value as Record<string, unknown>;
}

export function integerField(
  input: Record<string, unknown>,
  field: string,
  operation: string,
  min: number,
  max: number,
): number {
  const v = input[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new InvalidInputError(`${operation}: "${field}" must be an integer from ${min} to ${max}`);
  }
  return v;
}

export function jsonOutput(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}
