/**
 * A part of the control plane with a lifecycle. Modules start in the order the control plane lists
 * them and stop in reverse; they meet only through the event bus and the store, so adding one touches
 * no other.
 */
export interface Module {
  readonly name: string;
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}

/** Runs cleanups registered while starting (unsubscribes, timers) when the module stops. */
export class Disposables {
  private readonly list: (() => void)[] = [];

  add(dispose: () => void): void {
    this.list.push(dispose);
  }

  dispose(): void {
    for (const d of this.list.splice(0).reverse()) d();
  }
}
