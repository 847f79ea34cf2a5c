import * as grpc from '@grpc/grpc-js';
import {
  type CircuitReport,
  type InstanceLoad,
  ReportServiceClient,
  type StreamReportsRequest,
  type StreamReportsResponse,
} from '../../gen/nerve/report/v1/report';
import type { Logger } from '../observability/logger';
import { Backoff } from './backoff';
import { DEFAULT_KEEPALIVE, type Keepalive, keepaliveOptions } from './keepalive';
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
  private soon: NodeJS.Timeout | undefined;
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
    private readonly keepalive: Keepalive = DEFAULT_KEEPALIVE,
  ) {}

  start(): void {
    this.connect();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.retryTimer);
    clearTimeout(this.soon);
    this.stream?.end();
    this.client?.close();
  }

  /** Sends the current interval now (tests; also the last report on shutdown). */
  flush(): void {
    clearTimeout(this.soon);
    this.soon = undefined;
    if (!this.stream) return;
    const now = performance.now();
    const loads = new Map<string, InstanceLoad>();
    for (const s of this.state.drainStats())
      if (s.requests > 0 || s.inFlight > 0) loads.set(`${s.engine}/${s.instanceId}`, s.drain());
    const engineCircuits: Record<string, CircuitReport> = {};
    for (const c of this.state.breakers.takeReport()) {
      if (c.instanceId === '') {
        engineCircuits[c.engine] = { state: c.state, sinceMs: c.sinceMs };
        continue;
      }
      const key = `${c.engine}/${c.instanceId}`;
      const load = loads.get(key) ?? idleLoad(c.engine, c.instanceId);
      load.circuit = c.state;
      load.circuitSinceMs = c.sinceMs;
      loads.set(key, load);
    }
    const report: StreamReportsRequest = {
      nodeId: this.nodeId,
      intervalMs: Math.round(now - this.lastSent),
      loads: [...loads.values()],
      engineCircuits,
    };
    this.lastSent = now;
    if (report.loads.length > 0 || Object.keys(engineCircuits).length > 0) {
      this.stream.write(report);
      this.reportsSent++;
    }
  }

  /** A circuit changed: report within 50 ms rather than at the end of the interval. */
  flushSoon(): void {
    if (this.soon !== undefined || this.stopped) return;
    this.soon = setTimeout(() => this.flush(), 50);
    this.soon.unref();
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
    const client = (this.client = new ReportServiceClient(
      address,
      grpc.credentials.createInsecure(),
      keepaliveOptions(this.keepalive),
    ));
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

/** A report line for an instance whose breaker changed while no call was counted. */
function idleLoad(engine: string, instanceId: string): InstanceLoad {
  return {
    engine,
    instanceId,
    requests: 0,
    errors: 0,
    inFlight: 0,
    latency: undefined,
    circuit: 0,
    circuitSinceMs: 0,
    errorsByCode: {},
    loadMetrics: {},
  };
}
