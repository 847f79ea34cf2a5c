import type { ConfigStore } from '../../store/config-store';
import type { LeaderElection } from '../leader/leader-election';

export interface ReplicaView {
  readonly id: string;
  readonly leader: boolean;
  /** The leader's fence (`replica:token`) as this replica last saw it. */
  readonly leaderFence: string | null;
  readonly startedAt: string;
}

/**
 * This replica: its id, when it started, where it listens, and whether it is ready. Ready once
 * listening with its configuration loaded, until it stops. A store that cannot be reached does not
 * make a replica unready: it keeps serving its last state (static stability), and taking it out of a
 * load balancer would only move its routers to replicas in the same plight.
 */
export class ReplicaStatus {
  readonly startedAtMs = Date.now();
  /** The gRPC port once bound (0 before). */
  port = 0;
  stopping = false;
  /** Where people reach this control plane's API (links in notifications); set by the API when it listens. */
  externalUrl = '';

  constructor(
    readonly id: string,
    readonly host: string,
    private readonly store: ConfigStore,
    private readonly leader: LeaderElection,
  ) {}

  readiness(): { ready: boolean; reason?: string } {
    if (this.stopping) return { ready: false, reason: 'shutting down' };
    if (this.port === 0) return { ready: false, reason: 'starting' };
    const empty = this.emptyAndDiverged();
    if (empty !== undefined) return { ready: false, reason: empty };
    return { ready: true };
  }

  /**
   * A replica that started on a store that had lost its data holds nothing to serve: routers must keep
   * their last configuration (or take another replica's), not an empty one from it. Not ready, and its
   * ADS refuses streams, until a restore or a reseed.
   */
  emptyAndDiverged(): string | undefined {
    const store = this.store.status();
    return store.state === 'diverged' && store.version === 0
      ? `the store diverged and this replica holds no configuration: ${store.reason}`
      : undefined;
  }

  view(): ReplicaView {
    return {
      id: this.id,
      leader: this.leader.leading,
      leaderFence: this.leader.holder ?? null,
      startedAt: new Date(this.startedAtMs).toISOString(),
    };
  }
}
