import { type EngineCircuits } from '../../../gen/nerve/discovery/v1/resources';
import { canonicalJson, type JsonValue } from '../../model/config';
import type { Logger } from '../../observability/logger';
import type { ConfigStore } from '../../store/config-store';
import type { EngineCatalog } from '../config/engine-catalog';
import type { EventBus } from '../kernel/events';
import type { LeaderElection } from '../leader/leader-election';
import { Disposables, type Module } from '../kernel/module';
import { CircuitBoard, type EngineCircuitStatus } from './circuit-board';
import { SharedNamespace } from '../../store/shared-namespace';
import { fleetRetryBudget } from '../retry-budget/retry-budget-module';

/** Shared namespace of global circuit states, written by the leader: engine → EngineCircuits. */
export const CIRCUITS_NS = new SharedNamespace<EngineCircuits>(
  'circuits',
  'the leader (circuit aggregation), fenced',
);
/** Shared namespace of manual resets, written by whichever replica took the request. */
export const RESETS_NS = new SharedNamespace<ResetRequest>(
  'circuit-resets',
  'the replica that took the reset',
);

interface ResetRequest {
  readonly instanceIds: string[];
  readonly engineWide: boolean;
  readonly at: number;
}

const EMPTY = (engine: string): EngineCircuits => ({
  engine,
  instances: [],
  engineCircuit: undefined,
  retryBudget: undefined,
});

/**
 * An engine's circuits as the leader aggregated and shared them, with the fleet's retry budget: the
 * engine's fleet-wide dynamic state, what routers are sent.
 */
export function circuitResource(store: ConfigStore, engine: string): EngineCircuits {
  const raw = CIRCUITS_NS.get(store, engine);
  const circuits = raw === undefined || raw === null || typeof raw !== 'object' ? EMPTY(engine) : raw;
  const retryBudget = fleetRetryBudget(store, engine);
  return retryBudget ? { ...circuits, retryBudget } : circuits;
}

/**
 * Circuit states across the fleet. Every replica folds every router's reports (its own routers' and,
 * through the shared reports, the other replicas') into a CircuitBoard; the leader alone publishes the
 * global states to the store, and every replica serves what the store holds, so all push the same
 * bytes. A manual reset is shared too, so it reaches the leader whichever replica took it.
 */
export class CircuitModule implements Module {
  readonly name = 'circuits';
  readonly board: CircuitBoard;
  private readonly disposables = new Disposables();
  private publishQueued = false;

  constructor(
    private readonly store: ConfigStore,
    private readonly engines: EngineCatalog,
    private readonly bus: EventBus,
    private readonly leader: LeaderElection,
    private readonly logger: Logger,
    staleAfterMs: number,
    private readonly sweepMs: number,
  ) {
    this.board = new CircuitBoard(staleAfterMs, () => this.queuePublish());
  }

  start(): void {
    const sweeper = setInterval(() => this.board.sweep(), this.sweepMs).unref();
    this.disposables.add(() => clearInterval(sweeper));
    this.disposables.add(
      this.bus.on('report.received', (r) => this.board.record(r.nodeId, r.loads, r.engineCircuits)),
    );
    this.disposables.add(this.bus.on('leader.changed', (e) => e.leading && this.queuePublish()));
    this.disposables.add(this.bus.on('engine.changed', () => this.queuePublish()));
    this.disposables.add(
      this.store.watchShared((c) => {
        if (CIRCUITS_NS.changed(c)) this.bus.emit('circuits.changed', { engines: [c.field] });
        const r = RESETS_NS.changed(c)?.value;
        if (r) this.board.reset(c.field, r.instanceIds, r.engineWide);
      }),
    );
  }

  stop(): void {
    this.disposables.dispose();
  }

  /** The global circuits of an engine as the leader published them. */
  resource(engine: string): EngineCircuits {
    return circuitResource(this.store, engine);
  }

  status(engine: string, instanceIds: readonly string[]): EngineCircuitStatus {
    return this.board.status(engine, instanceIds);
  }

  async reset(engine: string, instanceIds: string[], engineWide: boolean): Promise<void> {
    const request: ResetRequest = { instanceIds, engineWide, at: Date.now() };
    await RESETS_NS.put(this.store, [[engine, request]]);
  }

  private queuePublish(): void {
    if (this.publishQueued) return;
    this.publishQueued = true;
    setImmediate(() => {
      this.publishQueued = false;
      void this.publish();
    });
  }

  /** The leader writes the engines whose global circuits differ from what the store holds. */
  private async publish(): Promise<void> {
    const fence = this.leader.fence;
    if (!fence) return;
    const shared = CIRCUITS_NS.map(this.store);
    const fields: [string, EngineCircuits | undefined][] = [];
    const names = new Set<string>();
    for (const spec of this.engines.listNow()) {
      names.add(spec.name);
      // As JSON holds it (no undefined fields), so that equal states compare equal.
      const json = JSON.parse(JSON.stringify(this.board.resource(spec.name))) as JsonValue;
      const current = shared.get(spec.name);
      if (current === undefined || canonicalJson(current as object as JsonValue) !== canonicalJson(json))
        fields.push([spec.name, json as object as EngineCircuits]);
    }
    for (const name of shared.keys()) if (!names.has(name)) fields.push([name, undefined]);
    if (fields.length === 0) return;
    try {
      await CIRCUITS_NS.put(this.store, fields, fence);
    } catch (err) {
      this.logger.warn('circuit states not shared', { error: String(err) });
    }
  }
}
