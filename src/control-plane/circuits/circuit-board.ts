import {
  CircuitState,
  type EngineCircuits,
  type InstanceCircuit,
} from '../../../gen/nerve/discovery/v1/resources';
import type { CircuitReport, InstanceLoad } from '../../../gen/nerve/report/v1/report';

interface RouterView {
  readonly state: CircuitState;
  /** The router's own transition time (epoch ms). */
  readonly sinceMs: number;
  /** When the report arrived (this control plane's clock). */
  readonly atMs: number;
}

/** One circuit's global state; `openOn`/`reporters` are as of the last change, so pushes stay stable. */
interface GlobalCircuit {
  state: CircuitState;
  sinceMs: number;
  resetAtMs: number;
  openOn: number;
  reporters: number;
}

/** A circuit as the admin API shows it: the global state, live counts and every router's view. */
export interface CircuitStatus extends GlobalCircuit {
  readonly instanceId: string;
  /** Routers (among those counted) whose circuit is half-open. */
  readonly halfOpenOn: number;
  readonly routers: Record<string, CircuitState>;
}

export interface EngineCircuitStatus {
  readonly engine: string;
  readonly engineCircuit: CircuitStatus;
  readonly instances: CircuitStatus[];
}

const CLOSED = CircuitState.CIRCUIT_STATE_CLOSED;
const OPEN = CircuitState.CIRCUIT_STATE_OPEN;
const HALF_OPEN = CircuitState.CIRCUIT_STATE_HALF_OPEN;

/**
 * Aggregates the circuit states every router reports into global ones: a circuit open on more than half
 * of the routers reporting it is OPEN for all (each router then opens its own once); open or probing on
 * more than half, HALF_OPEN; otherwise CLOSED. Only routers that carried calls to the engine within the
 * served window count: a circuit one router opened is that router's view, and a reporter with no
 * traffic (a stolen credential reporting circuits it never exercised) moves nothing. A router's
 * report stops counting after `staleAfterMs`.
 * A manual reset closes the circuit at once, and an OPEN that a router entered before the reset is not
 * counted (that router has not applied the reset yet). `onChange` runs when a global state changes.
 */
export class CircuitBoard {
  private readonly reports = new Map<string, Map<string, RouterView>>();
  private readonly global = new Map<string, GlobalCircuit>();
  /** Circuits some router sees open or probing (or globally not closed): what staleness can change. */
  private readonly hot = new Set<string>();
  /** Per engine, the circuits its resource lists (not closed, or reset): snapshots read only these. */
  private readonly notable = new Map<string, Set<string>>();
  /** Per engine, when each router last reported calls to it: only those routers' views count. */
  private readonly served = new Map<string, Map<string, number>>();
  private sweeps = 0;

  constructor(
    private readonly staleAfterMs: number,
    private readonly onChange: () => void,
    private readonly now: () => number = Date.now,
    /** How recently a router must have carried calls to an engine for its views of it to count. */
    private readonly servedWindowMs = Math.max(60_000, staleAfterMs),
  ) {}

  /**
   * One router's report: instance circuits in its loads (LRS loads carry none), engine-wide ones by name.
   * Runs per report, so only views that changed (a new router, another state) are recomputed: a steady
   * fleet reporting closed circuits costs a map update per instance.
   */
  record(nodeId: string, loads: readonly InstanceLoad[], engines: Record<string, CircuitReport>): void {
    const at = this.now();
    const touched: string[] = [];
    for (const l of loads) {
      if (l.requests > 0) this.noteServed(l.engine, nodeId, at);
      if (l.circuit === CircuitState.CIRCUIT_STATE_UNSPECIFIED) continue;
      const key = `${l.engine}/${l.instanceId}`;
      if (this.put(key, nodeId, l.circuit, l.circuitSinceMs, at)) touched.push(key);
    }
    for (const [engine, c] of Object.entries(engines))
      if (this.put(`${engine}/`, nodeId, c.state, c.sinceMs, at)) touched.push(`${engine}/`);
    if (touched.length > 0 && this.recompute(touched)) this.onChange();
  }

  /**
   * Forgets reports that went stale (a router went away) and recomputes the circuits that can change by
   * it: those open or probing somewhere. Every tenth sweep also drops stale views of closed circuits, and
   * circuits closed with no report left and no recent reset, so instances long gone cost nothing.
   */
  sweep(): void {
    const full = ++this.sweeps % 10 === 0;
    let changed = this.recompute(full ? [...this.reports.keys()] : [...this.hot]);
    const oldest = this.now() - this.staleAfterMs;
    if (full) {
      const servedSince = this.now() - this.servedWindowMs;
      for (const [engine, byNode] of this.served) {
        for (const [node, at] of byNode) if (at < servedSince) byNode.delete(node);
        if (byNode.size === 0) this.served.delete(engine);
      }
      for (const [key, g] of this.global) {
        if (g.state !== CLOSED || this.reports.has(key) || g.resetAtMs > oldest) continue;
        this.global.delete(key);
        this.unmark(key);
        changed ||= g.resetAtMs > 0; // it was in the pushed resource
      }
    }
    if (changed) this.onChange();
  }

  /** Closes the engine's circuits by hand: the engine-wide one and those of `instanceIds`. */
  reset(engine: string, instanceIds: readonly string[], engineWide: boolean): void {
    const at = this.now();
    const keys = instanceIds.map((id) => `${engine}/${id}`);
    if (engineWide) keys.push(`${engine}/`);
    for (const key of keys) {
      const g = this.entry(key);
      g.resetAtMs = at;
      if (g.state !== CLOSED) Object.assign(g, { state: CLOSED, sinceMs: at, openOn: 0 });
      this.mark(key, g);
    }
    this.onChange();
  }

  /** The EngineCircuits resource for one engine: circuits with something to say (not closed, or reset). */
  resource(engine: string): EngineCircuits {
    const instances: InstanceCircuit[] = [];
    let engineCircuit: InstanceCircuit | undefined;
    for (const key of this.notable.get(engine) ?? []) {
      const c: InstanceCircuit = {
        instanceId: key.slice(key.lastIndexOf('/') + 1),
        ...this.global.get(key)!,
      };
      if (c.instanceId === '') engineCircuit = c;
      else instances.push(c);
    }
    instances.sort((a, b) => (a.instanceId < b.instanceId ? -1 : 1));
    return { engine, instances, engineCircuit, retryBudget: undefined };
  }

  status(engine: string, instanceIds: readonly string[]): EngineCircuitStatus {
    return {
      engine,
      engineCircuit: this.statusOf(engine, ''),
      instances: instanceIds.map((id) => this.statusOf(engine, id)),
    };
  }

  private statusOf(engine: string, instanceId: string): CircuitStatus {
    const key = `${engine}/${instanceId}`;
    const g = this.global.get(key);
    const routers: Record<string, CircuitState> = {};
    if (g === undefined && !this.reports.has(key))
      // A circuit no router reported and no one reset (the common case): closed, nothing to count.
      return {
        state: CLOSED,
        sinceMs: 0,
        resetAtMs: 0,
        openOn: 0,
        reporters: 0,
        halfOpenOn: 0,
        instanceId,
        routers,
      };
    for (const [node, v] of this.fresh(key)) routers[node] = v.state;
    const { openOn, halfOpenOn, reporters } = this.count(key, g?.resetAtMs ?? 0);
    // Built field by field: spreading two objects with shared keys takes V8's slow path, and /health
    // asks this for every instance of the fleet.
    return {
      state: g?.state ?? CLOSED,
      sinceMs: g?.sinceMs ?? 0,
      resetAtMs: g?.resetAtMs ?? 0,
      openOn,
      reporters,
      halfOpenOn,
      instanceId,
      routers,
    };
  }

  private noteServed(engine: string, nodeId: string, at: number): void {
    let byNode = this.served.get(engine);
    if (!byNode) this.served.set(engine, (byNode = new Map()));
    byNode.set(nodeId, at);
  }

  /** Whether `nodeId` carried calls to the engine of circuit `key` within the served window. */
  private servedRecently(key: string, nodeId: string): boolean {
    const at = this.served.get(key.slice(0, key.lastIndexOf('/')))?.get(nodeId);
    return at !== undefined && at >= this.now() - this.servedWindowMs;
  }

  /** Records a router's view; true when it is new or differs from the router's last one. */
  private put(key: string, nodeId: string, state: CircuitState, sinceMs: number, atMs: number): boolean {
    let byNode = this.reports.get(key);
    if (!byNode) this.reports.set(key, (byNode = new Map()));
    const last = byNode.get(nodeId);
    byNode.set(nodeId, { state, sinceMs, atMs });
    if (state !== CLOSED) this.hot.add(key);
    return last === undefined || last.state !== state || last.sinceMs !== sinceMs;
  }

  private mark(key: string, g: GlobalCircuit): void {
    if (g.state === CLOSED && g.resetAtMs === 0) return this.unmark(key);
    const engine = key.slice(0, key.lastIndexOf('/'));
    let keys = this.notable.get(engine);
    if (!keys) this.notable.set(engine, (keys = new Set()));
    keys.add(key);
  }

  private unmark(key: string): void {
    const engine = key.slice(0, key.lastIndexOf('/'));
    const keys = this.notable.get(engine);
    if (keys?.delete(key) && keys.size === 0) this.notable.delete(engine);
  }

  private entry(key: string): GlobalCircuit {
    let g = this.global.get(key);
    if (!g) this.global.set(key, (g = { state: CLOSED, sinceMs: 0, resetAtMs: 0, openOn: 0, reporters: 0 }));
    return g;
  }

  private fresh(key: string): [string, RouterView][] {
    const byNode = this.reports.get(key);
    if (!byNode) return [];
    const oldest = this.now() - this.staleAfterMs;
    for (const [node, v] of byNode) if (v.atMs < oldest) byNode.delete(node);
    if (byNode.size === 0) this.reports.delete(key);
    return [...byNode];
  }

  /**
   * The quorum a global state is decided by: the fresh views of routers that served the engine within
   * the served window. A router that carried no call to the engine has no evidence of its circuits, so
   * its view (however many such routers there are) moves nothing.
   */
  private count(key: string, resetAtMs: number): { openOn: number; reporters: number; halfOpenOn: number } {
    let openOn = 0;
    let halfOpenOn = 0;
    let reporters = 0;
    for (const [node, v] of this.fresh(key)) {
      if (!this.servedRecently(key, node)) continue;
      reporters++;
      if (v.sinceMs < resetAtMs && v.state !== CLOSED) continue; // from before the reset
      if (v.state === OPEN) openOn++;
      else if (v.state === HALF_OPEN) halfOpenOn++;
    }
    return { openOn, halfOpenOn, reporters };
  }

  private recompute(keys: readonly string[]): boolean {
    let changed = false;
    for (const key of keys) {
      const g = this.entry(key);
      const { openOn, halfOpenOn, reporters } = this.count(key, g.resetAtMs);
      const state =
        2 * openOn > reporters ? OPEN : 2 * (openOn + halfOpenOn) > reporters ? HALF_OPEN : CLOSED;
      if (state === CLOSED && openOn + halfOpenOn === 0) this.hot.delete(key);
      if (state === g.state) continue;
      Object.assign(g, { state, sinceMs: this.now(), openOn, reporters });
      this.mark(key, g);
      changed = true;
    }
    return changed;
  }
}
