/** A set of listeners called in order of registration; one that throws does not stop the others. */
export class Listeners<T> {
  private readonly set = new Set<(value: T) => void>();

  /** By default a listener's failure is reported as a process warning: never silently dropped. */
  constructor(
    private readonly onError: (err: unknown) => void = (err) =>
      process.emitWarning(err instanceof Error ? err : new Error(String(err)), 'StoreListenerError'),
  ) {}

  add(listener: (value: T) => void): () => void {
    this.set.add(listener);
    return () => this.set.delete(listener);
  }

  emit(value: T): void {
    for (const listener of this.set) {
      try {
        listener(value);
      } catch (err) {
        this.onError(err);
      }
    }
  }

  clear(): void {
    this.set.clear();
  }
}
