import type { FleetEvent, FleetEventKind } from '../../model/fleet/fleet-event';
import type { ConfigStore } from '../../store/config-store';
import type { EventBus } from '../kernel/events';
import type { LeaderElection } from '../leader/leader-election';
import type { Logger } from '../../observability/logger';
import { SharedNamespace } from '../../store/shared-namespace';

/** Shared namespace of the fleet's lifecycle events: field = engine, value = its newest events. */
export const FLEET_EVENTS_NS = new SharedNamespace<FleetEvent[]>('fleet-events', 'the leader, fenced');
const KEEP = 100;

/**
 * The fleet's event log: the leader (supervision, leases, autoscaling) records events under its fence;
 * every replica follows the shared namespace and emits what is new on its bus as `fleet.event`, so every
 * replica's feed, alerting and `GET /engines/:name` see the same events whoever made them.
 */
export class FleetEvents {
  private readonly seen = new Map<string, string>();
  private readonly pending = new Map<string, FleetEvent[]>();
  private flushing = false;
  private seq = 0;

  constructor(
    private readonly store: ConfigStore,
    private readonly bus: EventBus,
    private readonly leader: LeaderElection,
    private readonly logger: Logger,
  ) {}

  /** Follows the shared log; returns the unsubscribe function. */
  follow(): () => void {
    for (const [engine, list] of FLEET_EVENTS_NS.map(this.store)) {
      const events = list;
      if (events.length > 0) this.seen.set(engine, events[events.length - 1].id);
    }
    return this.store.watchShared((c) => {
      const changed = FLEET_EVENTS_NS.changed(c);
      if (!changed) return;
      const events = changed.value ?? [];
      const last = this.seen.get(c.field) ?? '';
      for (const e of events) if (newer(e.id, last)) this.bus.emit('fleet.event', e);
      if (events.length > 0) this.seen.set(c.field, events[events.length - 1].id);
      else this.seen.delete(c.field);
    });
  }

  /** The newest events of an engine, oldest first. */
  list(engine: string): FleetEvent[] {
    return (FLEET_EVENTS_NS.get(this.store, engine) ?? []).slice();
  }

  /** Records an event (leader only; dropped with a log line otherwise). Writes are batched per tick. */
  record(
    kind: FleetEventKind,
    engine: string,
    message: string,
    instance?: string,
    data?: FleetEvent['data'],
  ): void {
    const now = Date.now();
    const event: FleetEvent = {
      id: `${String(now).padStart(15, '0')}-${String(++this.seq).padStart(9, '0')}`,
      at: new Date(now).toISOString(),
      kind,
      engine,
      ...(instance !== undefined && { instance }),
      message,
      ...(data !== undefined && { data }),
    };
    this.logger.info('fleet event', { kind, engine, instance, message });
    const list = this.pending.get(engine) ?? [];
    list.push(event);
    this.pending.set(engine, list);
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => void this.flush());
    }
  }

  private async flush(): Promise<void> {
    this.flushing = false;
    const fence = this.leader.fence;
    const batch = [...this.pending];
    this.pending.clear();
    if (!fence) return;
    const fields = batch.map(([engine, events]) => {
      const merged = [...this.list(engine), ...events].slice(-KEEP);
      return [engine, merged] as const;
    });
    try {
      await FLEET_EVENTS_NS.put(this.store, fields, fence);
    } catch (err) {
      this.logger.warn('could not record fleet events', { error: String(err) });
    }
  }
}

function newer(id: string, than: string): boolean {
  return id > than;
}
