/** A resource of a response that came wrapped (envoy.service.discovery.v3.Resource). */
export interface WrappedEntry<T> {
  readonly name: string;
  readonly version: string;
  readonly value: T;
  /** Absent: it does not expire. */
  readonly ttlMs?: number;
}

interface Held<T> {
  version: string;
  value: T;
  timer: NodeJS.Timeout | undefined;
}

/**
 * The client side of xDS resource TTLs for one type: the wrapped resources a router holds, each with
 * a timer that a response carrying it again (with a body, or as a heartbeat without one) restarts. A
 * timer that runs out calls `onExpired`: the resource is gone, as if the control plane had removed it.
 */
export class ExpiringResources<T> {
  private readonly held = new Map<string, Held<T>>();

  constructor(private readonly onExpired: (name: string) => void) {}

  /** What a heartbeat of `name` at `version` refreshes, or undefined when this router does not hold it. */
  heldAt(name: string, version: string): T | undefined {
    const h = this.held.get(name);
    return h && h.version === version ? h.value : undefined;
  }

  /**
   * An accepted response's wrapped resources, the type's whole state (SotW): their timers restart and
   * every other held resource is let go. Returns whether any value changed (false: heartbeats only).
   */
  accept(entries: readonly WrappedEntry<T>[]): boolean {
    let changed = entries.length !== this.held.size;
    const seen = new Set<string>();
    for (const e of entries) {
      seen.add(e.name);
      let h = this.held.get(e.name);
      if (!h || h.version !== e.version) changed = true;
      if (!h) this.held.set(e.name, (h = { version: e.version, value: e.value, timer: undefined }));
      h.version = e.version;
      h.value = e.value;
      clearTimeout(h.timer);
      h.timer =
        e.ttlMs === undefined || e.ttlMs <= 0
          ? undefined
          : setTimeout(() => {
              this.held.delete(e.name);
              this.onExpired(e.name);
            }, e.ttlMs).unref();
    }
    for (const [name, h] of this.held)
      if (!seen.has(name)) {
        clearTimeout(h.timer);
        this.held.delete(name);
        changed = true;
      }
    return changed;
  }

  /** Resources held with a TTL now (the router's xDS page and metrics). */
  get size(): number {
    return this.held.size;
  }

  stop(): void {
    for (const h of this.held.values()) clearTimeout(h.timer);
    this.held.clear();
  }
}
