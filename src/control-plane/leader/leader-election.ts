import type { Logger } from '../../observability/logger';
import type { LeaderLease } from '../../store/leader-lease';
import type { EventBus } from '../kernel/events';
import type { Module } from '../kernel/module';

export interface LeaseTimings {
  /** How long a lease lasts without renewal (client-go: 15 s). */
  readonly ttlMs: number;
  /** How often the leader renews (client-go: 10 s; here a third of the lease, so two renewals may fail). */
  readonly renewMs: number;
  /** How often the others try to take it. */
  readonly retryMs: number;
}

export const DEFAULT_LEASE: LeaseTimings = { ttlMs: 15_000, renewMs: 5_000, retryMs: 2_000 };

/**
 * Elects one replica to run the fleet's singleton work (health probing, circuit aggregation). The leader
 * stops leading on its own clock before its lease can have expired in the store (a renewal that fails
 * or cannot be sent is not waited on past `ttlMs - renewMs`); and every singleton write carries its
 * fence, which the store checks, so even a leader paused past its lease cannot write once resumed.
 */
export class LeaderElection implements Module {
  readonly name = 'leader election';
  private fenceValue: string | undefined;
  private leadingUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The fence of whoever leads, as last seen (for /stats); undefined when nobody holds the lease. */
  holder: string | undefined;
  /** How often this replica took or lost the lease. */
  changes = 0;

  constructor(
    private readonly lease: LeaderLease,
    private readonly replicaId: string,
    private readonly bus: EventBus,
    private readonly logger: Logger,
    private readonly timings: LeaseTimings = DEFAULT_LEASE,
    private readonly now: () => number = Date.now,
  ) {}

  get fence(): string | undefined {
    if (this.fenceValue !== undefined && this.now() >= this.leadingUntil)
      this.stepDown('lease not renewed in time');
    return this.fenceValue;
  }

  get leading(): boolean {
    return this.fence !== undefined;
  }

  async start(): Promise<void> {
    await this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const fence = this.fenceValue;
    if (fence) {
      this.stepDown('shutting down');
      // Released at once, so a successor need not wait for the lease to run out.
      await this.lease.release(fence).catch(() => undefined);
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const started = this.now();
    try {
      if (this.fence) {
        if (await this.lease.renew(this.fenceValue!, this.timings.ttlMs)) this.extend(started);
        else this.stepDown('lease taken by another replica');
      } else {
        const fence = await this.lease.acquire(this.replicaId, this.timings.ttlMs);
        if (fence && !this.stopped) {
          this.fenceValue = fence;
          this.extend(started);
          this.holder = fence;
          this.changes++;
          this.logger.info('leading the fleet', { fence });
          this.bus.emit('leader.changed', { leading: true, fence });
        } else this.holder = await this.lease.holder();
      }
    } catch (err) {
      this.logger.debug('lease operation failed', { error: String(err) });
    }
    if (this.stopped) return;
    const delay = this.fenceValue ? this.timings.renewMs : this.timings.retryMs;
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref();
  }

  /** The lease is ours until ttl after the request was sent; we stop leading a renewal period earlier. */
  private extend(sentAt: number): void {
    this.leadingUntil = sentAt + this.timings.ttlMs - Math.min(this.timings.renewMs, this.timings.ttlMs / 3);
  }

  private stepDown(reason: string): void {
    const fence = this.fenceValue;
    if (!fence) return;
    this.fenceValue = undefined;
    this.holder = undefined;
    this.changes++;
    this.logger.warn('no longer leading the fleet', { fence, reason });
    this.bus.emit('leader.changed', { leading: false });
  }
}
