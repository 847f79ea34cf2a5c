import type { ColdStart } from '../../../gen/nerve/discovery/v1/resources';
import { type Clock, REAL_CLOCK } from '../resilience/clock';

/** The header a call held through a cold start carries to the instance and back to the caller. */
export const COLD_START_HEADER = 'x-nerve-cold-start';

interface Held {
  readonly since: number;
  readonly go: (waitedMs: number) => void;
  readonly fail: (message: string) => void;
  timer: unknown;
}

/**
 * Calls held while an engine that scales to zero has no instance (Knative's activator, KEDA's HTTP
 * add-on, in the router). The first call held tells the control plane at once (`demand`), which starts
 * an instance; when a configuration with a routable instance arrives, `release` sends the held calls on
 * in arrival order. Bounded per engine: past `maxHeldCalls`, or after `holdTimeoutMs`, a call gets
 * UNAVAILABLE saying why. Off the request path's common case: only calls that found no instance get here.
 */
export class ColdStartHolds {
  private readonly held = new Map<string, Held[]>();

  constructor(
    private readonly demand: (engine: string) => void,
    private readonly clock: Clock = REAL_CLOCK,
  ) {}

  /**
   * Holds a call; false (and `fail` called) when the engine's holds are full. `go` runs with the time it
   * waited once released; `fail` with the reason when it times out or the engine goes away.
   */
  hold(
    engine: string,
    policy: ColdStart,
    go: (waitedMs: number) => void,
    fail: (message: string) => void,
  ): () => void {
    let queue = this.held.get(engine);
    if (!queue) this.held.set(engine, (queue = []));
    if (queue.length >= policy.maxHeldCalls) {
      fail(
        `engine "${engine}" has no instance yet (scaling from zero) and this router holds ${queue.length} calls for it already (maxHeldCalls ${policy.maxHeldCalls})`,
      );
      return noop;
    }
    const entry: Held = { since: this.clock.now(), go, fail, timer: undefined };
    entry.timer = this.clock.setTimeout(() => {
      if (this.remove(engine, entry))
        fail(
          `engine "${engine}" has no instance serving within the ${policy.holdTimeoutMs} ms cold-start hold (scaling from zero; the control plane was told when the first call was held)`,
        );
    }, policy.holdTimeoutMs);
    queue.push(entry);
    if (queue.length === 1) this.demand(engine);
    return () => {
      if (this.remove(engine, entry)) this.clock.clearTimeout(entry.timer);
    };
  }

  /** Sends an engine's held calls on (it has an instance now). */
  release(engine: string): void {
    const queue = this.held.get(engine);
    if (!queue) return;
    this.held.delete(engine);
    const now = this.clock.now();
    for (const h of queue) {
      this.clock.clearTimeout(h.timer);
      h.go(now - h.since);
    }
  }

  /** Fails an engine's held calls (it left the configuration, or no longer scales from zero). */
  drop(engine: string, message: string): void {
    const queue = this.held.get(engine);
    if (!queue) return;
    this.held.delete(engine);
    for (const h of queue) {
      this.clock.clearTimeout(h.timer);
      h.fail(message);
    }
  }

  /** Engines with held calls. */
  engines(): string[] {
    return [...this.held.keys()];
  }

  /** Held calls per engine, for the report. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [engine, queue] of this.held) out[engine] = queue.length;
    return out;
  }

  private remove(engine: string, entry: Held): boolean {
    const queue = this.held.get(engine);
    const i = queue?.indexOf(entry) ?? -1;
    if (i < 0) return false;
    queue!.splice(i, 1);
    if (queue!.length === 0) this.held.delete(engine);
    return true;
  }
}

function noop(): void {}
