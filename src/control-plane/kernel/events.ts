import type { CircuitReport, EngineCalls, InstanceLoad } from '../../../gen/nerve/report/v1/report';
import type { ChangeRecord } from '../../model/config';
import type { CheckState } from '../../model/health';
import type { StoreStatus } from '../../store/config-store';
import type { EngineEvent } from '../../model/engine-event';
import type { FleetEvent } from '../../model/fleet/fleet-event';
import type { ScaleDecision } from '../../model/fleet/autoscale';
import type { Rollout } from '../../model/rollout';

/** One report of loads (and circuits) from a router or an LRS client, on this replica or another. */
export interface ReportReceived {
  readonly nodeId: string;
  readonly source: 'router' | 'lrs';
  /** The replica whose stream received it (this one's id for local reports). */
  readonly replica: string;
  readonly loads: readonly InstanceLoad[];
  readonly engineCircuits: Readonly<Record<string, CircuitReport>>;
  /** Per engine, calls the router completed and retries it made over the interval (fleet retry budget). */
  readonly engineCalls: readonly EngineCalls[];
  /** Per engine scaling from zero, calls the router holds for want of an instance (absent: none). */
  readonly heldCalls?: Readonly<Record<string, number>>;
  /** Calls dropped per engine over the last interval (LRS). */
  readonly dropped: Readonly<Record<string, number>>;
  /** The period the counts cover. */
  readonly intervalMs: number;
  /**
   * Stamped by the replica that received it: its sequence (growing per replica) and time. Reports are
   * shared between replicas as "the newest per node" and may be heard again; (replica, source, node,
   * seq) tells a delta already counted.
   */
  readonly seq: number;
  readonly atMs: number;
}

/** A report as a transport hands it over, before the replica stamps it. */
export type IncomingReport = Omit<ReportReceived, 'seq' | 'atMs'>;

export interface LeaderChanged {
  readonly leading: boolean;
  /** This replica's fence while it leads. */
  readonly fence?: string;
}

/** The typed events modules meet through; each module subscribes to what it needs and emits what it makes. */
export interface ControlPlaneEvents {
  /** The configuration changed (a commit here, on another replica, or a reload). */
  'config.changed': ChangeRecord;
  /** One engine's spec was put or deleted (derived from config.changed). */
  'engine.changed': EngineEvent;
  /** An instance's health status changed, as the fleet's leader measured it. */
  'health.changed': { readonly engine: string; readonly instanceId: string; readonly state: CheckState };
  'report.received': ReportReceived;
  /** Global circuit states changed: snapshots must be rebuilt. */
  'circuits.changed': { readonly engines: readonly string[] };
  'leader.changed': LeaderChanged;
  'store.status': StoreStatus;
  /** A data plane rejected configuration (an xDS NACK). */
  'xds.nack': {
    readonly nodeId: string;
    readonly typeUrl: string;
    readonly version: string;
    readonly error: string;
  };
  /** A lifecycle event of the fleet (supervision, leases, scaling), as the leader recorded it. */
  'fleet.event': FleetEvent;
  /** A registration lease of the engine lapsed or came back: its routing changed. */
  'leases.changed': { readonly engine: string };
  /** The leader's autoscaler decided (whether or not the size changed). */
  'autoscale.decision': { readonly engine: string; readonly decision: ScaleDecision };
  /** A rollout was created or moved (every replica hears it from the store). */
  'rollout.changed': Rollout;
  /** The closed-loop weights of an engine changed: snapshots must be rebuilt. */
  'weights.changed': { readonly engine: string };
}

type Handler<T> = (payload: T) => void;

/**
 * A synchronous, typed event bus. Handlers run in subscription order; one that throws is reported and
 * does not stop the others, so a faulty module cannot starve its neighbours of events.
 */
export class EventBus {
  private readonly handlers = new Map<keyof ControlPlaneEvents, Set<Handler<never>>>();

  constructor(private readonly onError: (event: string, err: unknown) => void) {}

  on<K extends keyof ControlPlaneEvents>(event: K, handler: Handler<ControlPlaneEvents[K]>): () => void {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    set.add(handler as Handler<never>);
    return () => set.delete(handler as Handler<never>);
  }

  emit<K extends keyof ControlPlaneEvents>(event: K, payload: ControlPlaneEvents[K]): void {
    for (const handler of this.handlers.get(event) ?? []) {
      try {
        (handler as Handler<ControlPlaneEvents[K]>)(payload);
      } catch (err) {
        this.onError(event, err);
      }
    }
  }
}
