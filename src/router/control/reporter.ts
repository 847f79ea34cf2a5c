import {
  type CircuitReport,
  type EngineCalls,
  InstanceLoad,
  type TracedCall,
  StreamReportsRequest,
  StreamReportsResponse,
} from '../../../gen/nerve/report/v1/report';
import { CircuitState } from '../../../gen/nerve/discovery/v1/resources';
import type { Logger } from '../../observability/logger';
import { Backoff } from '../net/backoff';
import { StreamRetry } from './stream-retry';
import { GrpcBidiStream } from './grpc-stream';
import { DEFAULT_KEEPALIVE, type Keepalive } from '../net/keepalive';
import type { ClientCredentials } from '../../security/tls-files';
import type { RoutingState } from '../proxy/routing-state';
import type { Span } from '../../observability/span';

/** Traced calls a report carries at most; more in one period are counted as dropped. */
const MAX_TRACED = 256;

const REPORT_METHOD = '/nerve.report.v1.ReportService/StreamReports';

/**
 * Streams per-instance load to the control plane every interval (the control plane may change the
 * interval in its answers). Instances without traffic in an interval and nothing in flight are left out.
 */
export class Reporter {
  private stream: GrpcBidiStream<StreamReportsRequest, StreamReportsResponse> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private next = 0;
  private stopped = false;
  private readonly retries = new StreamRetry(new Backoff(200, 10_000));
  private lastSent = performance.now();
  reportsSent = 0;
  private traced: TracedCall[] = [];
  /** Calls held per engine scaling from zero (the ingress's), sent with every report while any are. */
  heldCalls: () => Record<string, number> = () => ({});
  private tracedDropped = 0;

  constructor(
    private readonly addresses: readonly string[],
    private readonly nodeId: string,
    private readonly state: RoutingState,
    private readonly logger: Logger,
    private intervalMs = 2_000,
    private readonly keepalive: Keepalive = DEFAULT_KEEPALIVE,
    private readonly credentials: ClientCredentials = {},
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
    // Half-close: the control plane ends the call once it has the last report; closed anyway after 1 s.
    const stream = this.stream;
    stream?.end();
    if (stream) setTimeout(() => stream.close(), 1_000).unref();
  }

  /** A sampled call ended: it goes with the next report. */
  addTraced(span: Span): void {
    if (this.traced.length >= MAX_TRACED) {
      this.tracedDropped++;
      return;
    }
    const a = span.attributes;
    this.traced.push({
      traceId: span.traceId,
      spanId: span.spanId,
      parentSpanId: span.parentSpanId,
      engine: String(a['nerve.engine'] ?? ''),
      instanceId: String(a['nerve.instance'] ?? ''),
      method: span.name,
      grpcStatus: span.status,
      durationMs: span.durationMs,
      startUnixMs: span.startUnixMs,
      attempts: Number(a['nerve.attempts'] ?? 0),
    });
  }

  /** Sends the current interval now (tests; also the last report on shutdown). */
  flush(): void {
    clearTimeout(this.soon);
    this.soon = undefined;
    if (!this.stream) return;
    const now = performance.now();
    const loads = new Map<string, InstanceLoad>();
    for (const s of this.state.drainStats())
      if (s.requests > 0 || s.inFlight > 0) {
        const load = s.drain();
        load.ejected = s.ejectedUntil > now;
        loads.set(`${s.engine}/${s.instanceId}`, load);
      }
    const engineCircuits: Record<string, CircuitReport> = {};
    for (const c of this.state.breakers.takeReport()) {
      if (c.instanceId === '') {
        engineCircuits[c.engine] = { state: c.state, sinceMs: c.sinceMs };
        continue;
      }
      const key = `${c.engine}/${c.instanceId}`;
      // An instance whose breaker changed while no call was counted gets a line of its own.
      const load = loads.get(key) ?? InstanceLoad.fromPartial({ engine: c.engine, instanceId: c.instanceId });
      load.circuit = c.state;
      load.circuitSinceMs = c.sinceMs;
      loads.set(key, load);
    }
    // Closed circuits too, for what served this interval: the control plane counts this router among
    // those reporting a circuit (a steady fleet showed "reporters: 0" while every router was serving).
    const breakers = this.state.breakers;
    for (const load of loads.values()) {
      if (load.circuit === CircuitState.CIRCUIT_STATE_UNSPECIFIED) {
        const b = breakers.instance(load.engine, load.instanceId);
        load.circuit = b.state;
        load.circuitSinceMs = b.sinceMs;
      }
      if (engineCircuits[load.engine] === undefined) {
        const b = breakers.engine(load.engine);
        engineCircuits[load.engine] = { state: b.state, sinceMs: b.sinceMs };
      }
    }
    const engineCalls: EngineCalls[] = [];
    for (const [engine, budget] of this.state.retryBudgets()) {
      const { calls, retries, refused } = budget.takeInterval();
      if (calls > 0 || retries > 0 || refused > 0)
        engineCalls.push({ engine, calls, retries, retriesRefused: refused });
    }
    const heldCalls = this.heldCalls();
    const report: StreamReportsRequest = {
      nodeId: this.nodeId,
      engineCalls,
      heldCalls,
      intervalMs: Math.round(now - this.lastSent),
      loads: [...loads.values()],
      engineCircuits,
      tracedCalls: this.traced,
      tracedDropped: this.tracedDropped,
    };
    this.lastSent = now;
    this.traced = [];
    this.tracedDropped = 0;
    if (
      report.loads.length > 0 ||
      Object.keys(engineCircuits).length > 0 ||
      report.tracedCalls.length > 0 ||
      engineCalls.length > 0 ||
      Object.keys(heldCalls).length > 0
    ) {
      this.stream.write(report);
      this.reportsSent++;
    }
  }

  /**
   * A circuit changed: report within 50 ms rather than at the end of the interval (changes that come
   * together go together). `now`: a call waits on it (held for an engine scaling from zero): at once.
   */
  flushSoon(now = false): void {
    if (this.stopped) return;
    if (now) {
      clearTimeout(this.soon);
      this.soon = setTimeout(() => this.flush(), 0);
    } else if (this.soon === undefined) this.soon = setTimeout(() => this.flush(), 50);
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
    this.stream?.close();
    const stream = (this.stream = new GrpcBidiStream<StreamReportsRequest, StreamReportsResponse>(
      address,
      REPORT_METHOD,
      (r) => StreamReportsRequest.encode(r).finish(),
      (b) => StreamReportsResponse.decode(b),
      this.keepalive,
      this.credentials,
    ));
    let failed = false;
    const retry = (why: string, code?: number) => {
      if (failed || this.stopped) return;
      failed = true;
      if (this.stream === stream) this.stream = undefined;
      const { delayMs, news, refused } = this.retries.failed(code, why);
      const fields = { address, error: why, retryInMs: delayMs };
      if (refused)
        this.logger.log(news ? 'error' : 'debug', 'report stream refused by the control plane', fields);
      else this.logger.debug('report stream lost; reconnecting', fields);
      this.retryTimer = setTimeout(() => this.connect(), delayMs);
    };
    stream.on('data', (response: StreamReportsResponse) => {
      this.retries.accepted();
      if (response.reportIntervalMs > 0 && response.reportIntervalMs !== this.intervalMs) {
        this.intervalMs = response.reportIntervalMs;
        clearTimeout(this.timer);
        this.schedule();
      }
    });
    stream.on('error', (err) => retry(err.message, err.code));
    stream.on('end', () => retry('ended by the control plane'));
  }
}
