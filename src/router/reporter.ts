import * as grpc from '@grpc/grpc-js';
import {
  ReportServiceClient,
  type StreamReportsRequest,
  type StreamReportsResponse,
} from '../../gen/nerve/report/v1/report';
import type { Logger } from '../observability/logger';
import { Backoff } from './backoff';
import type { RoutingState } from './routing-state';

/**
 * Streams per-instance load to the control plane every interval (the control plane may change the
 * interval in its answers). Instances without traffic in an interval and nothing in flight are left out.
 */
export class Reporter {
  private stream: grpc.ClientDuplexStream<StreamReportsRequest, StreamReportsResponse> | undefined;
  private client: ReportServiceClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private next = 0;
  private stopped = false;
  private readonly backoff = new Backoff(200, 10_000);
  private lastSent = performance.now();
  reportsSent = 0;

  constructor(
    private readonly addresses: readonly string[],
    private readonly nodeId: string,
    private readonly state: RoutingState,
    private readonly logger: Logger,
    private intervalMs = 2_000,
  ) {}

  start(): void {
    this.connect();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.retryTimer);
    this.stream?.end();
    this.client?.close();
  }

  /** Sends the current interval now (tests; also the last report on shutdown). */
  flush(): void {
    if (!this.stream) return;
    const now = performance.now();
    const loads = this.state
      .drainStats()
      .filter((s) => s.requests > 0 || s.inFlight > 0)
      .map((s) => s.drain());
    const report: StreamReportsRequest = {
      nodeId: this.nodeId,
      intervalMs: Math.round(now - this.lastSent),
      loads,
    };
    this.lastSent = now;
    if (loads.length > 0) {
      this.stream.write(report);
      this.reportsSent++;
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.flush();
      this.schedule();
    }, this.intervalMs);
    this.timer.unref();
  }

  private connect(): void {
    if (this.stopped) return;
    const address = this.addresses[this.next++ % this.addresses.length];
    this.client?.close();
    const client = (this.client = new ReportServiceClient(address, grpc.credentials.createInsecure()));
    const stream = (this.stream = client.streamReports());
    let failed = false;
    const retry = (why: string) => {
      if (failed || this.stopped) return;
      failed = true;
      if (this.stream === stream) this.stream = undefined;
      const delay = this.backoff.next();
      this.logger.debug('report stream lost; reconnecting', { address, error: why, retryInMs: delay });
      this.retryTimer = setTimeout(() => this.connect(), delay);
    };
    stream.on('data', (response: StreamReportsResponse) => {
      this.backoff.reset();
      if (response.reportIntervalMs > 0 && response.reportIntervalMs !== this.intervalMs) {
        this.intervalMs = response.reportIntervalMs;
        clearTimeout(this.timer);
        this.schedule();
      }
    });
    stream.on('error', (err: Error) => retry(err.message));
    stream.on('end', () => retry('ended by the control plane'));
  }
}
