import { type EngineCircuits } from '../../../gen/nerve/discovery/v1/resources';
import { canonicalJson, type JsonValue } from '../../model/config';
import type { Logger } from '../../observability/logger';
import type { ConfigStore } from '../../store/config-store';
import type { EngineCatalog } from '../config/engine-catalog';
import type { EventBus } from '../events';
import type { LeaderElection } from '../leader/leader-election';
import { Disposables, type Module } from '../module';
import { CircuitBoard, type EngineCircuitStatus } from './circuit-board';

/** Shared namespace of global circuit states, written by the leader: engine → EngineCircuits. */
export const CIRCUITS_NS = 'circuits';
/** Shared namespace of manual resets, written by whichever replica took the request. */
export const RESETS_NS = 'circuit-resets';

interface ResetRequest {
  readonly instanceIds: string[];
  readonly engineWide: boolean;
  readonly at: number;
}

const EMPTY = (engine: string): EngineCircuits => ({ engine, instances: [], engineCircuit: undefined });

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
  private readonly decoded = new WeakMap<object, EngineCircuits>();

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
        if (c.ns === CIRCUITS_NS) this.bus.emit('circuits.changed', { engines: [c.field] });
        else if (c.ns === RESETS_NS && c.value) {
          const r = c.value as unknown as ResetRequest;
          this.board.reset(c.field, r.instanceIds, r.engineWide);
        }
      }),
    );
  }

  stop(): void {
    this.disposables.dispose();
  }

  /** The global circuits of an engine as the leader published them. */
  resource(engine: string): EngineCircuits {
    const raw = this.store.shared(CIRCUITS_NS).get(engine);
    if (raw === undefined || raw === null || typeof raw !== 'object') return EMPTY(engine);
    let c = this.decoded.get(raw);
    if (!c) this.decoded.set(raw, (c = raw as unknown as EngineCircuits));
    return c;
  }

  status(engine: string, instanceIds: readonly string[]): EngineCircuitStatus {
    return this.board.status(engine, instanceIds);
  }

  async reset(engine: string, instanceIds: string[], engineWide: boolean): Promise<void> {
    const request: ResetRequest = { instanceIds, engineWide, at: Date.now() };
    await this.store.putShared(RESETS_NS, [[engine, request as unknown as JsonValue]]);
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
    const shared = this.store.shared(CIRCUITS_NS);
    const fields: [string, JsonValue | undefined][] = [];
    const names = new Set<string>();
    for (const spec of this.engines.listNow()) {
      names.add(spec.name);
      const next = JSON.parse(JSON.stringify(this.board.resource(spec.name))) as JsonValue;
      const current = shared.get(spec.name);
      if (current === undefined || canonicalJson(current) !== canonicalJson(next))
        fields.push([spec.name, next]);
    }
    for (const name of shared.keys()) if (!names.has(name)) fields.push([name, undefined]);
    if (fields.length === 0) return;
    try {
      await this.store.putShared(CIRCUITS_NS, fields, fence);
    } catch (err) {
      this.logger.warn('circuit states not shared', { error: String(err) });
    }
  }
}
