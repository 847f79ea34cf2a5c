/**
 * One xDS resource type the router understands. A response is decoded and validated whole; if any
 * resource is bad the response is NACKed with `reason` and nothing of it is applied (SotW semantics:
 * the last good config stays).
 */
export interface ResourceType<T> {
  readonly typeUrl: string;
  decode(bytes: Uint8Array): T;
  /** Returns why the set is unacceptable, or undefined. `names` are the resources' names, in order. */
  validate(resources: readonly T[]): string | undefined;
  /** Applies an accepted set (the complete state of the world for this type). */
  apply(resources: readonly T[]): void;
}
