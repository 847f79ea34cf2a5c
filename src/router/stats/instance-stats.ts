import { performance } from 'node:perf_hooks';
import type { InstanceLoad } from '../../../gen/nerve/report/v1/report';
import { CircuitState } from '../../../gen/nerve/discovery/v1/resources';
import { bucketOf, LATENCY_BUCKETS, LATENCY_LAYOUT } from '../../model/latency-buckets';
import { decodeOrca, ORCA_TRAILER } from '../../model/orca';
import { CODE_NAMES } from '../../protocol/grpc-codes';
import { LatencyHistogram } from './latency-histogram';

/**
 * What one router saw of one instance: interval counts (reported, then reset) and lifetime totals
 * (scraped by Prometheus). Updated on the request path, so plain fields and typed arrays only.
 */
/** Linkerd's peak-EWMA defaults: an unmeasured endpoint is assumed 30 ms away; samples decay over 10 s. */
const DEFAULT_RTT_MS = 30;
const DECAY_MS = 10_000;
/** Weight of the newest call in the failure EWMA (about the last ten calls). */
const FAILURE_ALPHA = 0.1;
/** Weight of a faster successful call in the served-latency peak EWMA (about the last five). */
const SERVED_ALPHA = 0.2;
/** An ORCA report older than this says nothing of the instance's calls in flight now. */
const ORCA_FRESH_MS = 2_000;
/** Call start times kept per instance for the oldest call's age (a power of two). */
const START_RING = 32;
/** ORCA named metrics an instance may report its calls in flight under (Prequal's RIF). */
const RIF_METRICS = ['rif', 'requests_in_flight'] as const;

/** Codes that say the instance failed, as opposed to the caller (gRFC A6's usual retryable set and kin). */
export function isInstanceFailure(code: number): boolean {
  return code === 2 || code === 4 || code === 13 || code === 14 || code === 15;
}

export class InstanceStats {
  /** Peak-EWMA latency: jumps at once to a slower sample, decays toward faster ones over ~10 s. */
  latencyEwmaMs = DEFAULT_RTT_MS;
  /**
   * Share of recent calls the instance failed or shed (0..1), exponentially weighted per call. Load shed
   * with RESOURCE_EXHAUSTED counts: a fast refusal must never make an instance look attractive.
   */
  failureEwma = 0;
  /**
   * Latency of the instance's recent successful calls (a peak: up at once, down by a per-call EWMA;
   * errors never lower it), and when the last one ended (performance.now ms): the probing balancer's
   * latency signal.
   */
  servedLatencyMs = DEFAULT_RTT_MS;
  servedAt = 0;
  /**
   * Start times of the latest calls (performance.now ms), a ring indexed by calls started and ended.
   * After m calls ended, the (m+1)-th started is still out or a later one is: either way the oldest call
   * in flight is at least as old as it, so the instance's latency is at least that age, whatever its
   * estimate says (a cold, queueing or hung instance is found out before it answers). With more calls
   * in flight than the ring holds, a newer start overwrites: the bound only loosens.
   */
  private readonly starts = new Float64Array(START_RING);
  private startsTaken = 0;
  private startsEnded = 0;
  /** When the instance joined this router's rotation and began its slow start (performance.now ms); -1: not ramping. */
  rampStartedAt = -1;
  private lastSampleAt = 0;
  /** This router does not pick the instance before this time (performance.now ms): passive ejection. */
  ejectedUntil = 0;
  /** Why the last ejection happened (outlier detection's words), for explanations; set per ejection. */
  ejectionReason = '';
  /** Ejections in a row; reset by a successful call. Each one lasts twice as long as the last. */
  ejections = 0;
  /** Calls the instance failed in a row (outlier detection's consecutive errors). */
  consecutiveFailures = 0;
  requests = 0;
  errors = 0;
  /** Outlier detection's interval counts (caller cancels left out), taken by `takeInterval`. */
  private intervalRequests = 0;
  private intervalSuccesses = 0;
  inFlight = 0;
  totalRequests = 0;
  totalErrors = 0;
  readonly latency = new LatencyHistogram();
  /** Lifetime latencies (never reset), for Prometheus. */
  readonly totalLatency = new LatencyHistogram();
  private readonly byCode = new Uint32Array(CODE_NAMES.length);
  /** Lifetime errors by status code (index = code), for Prometheus. */
  readonly totalByCode = new Float64Array(CODE_NAMES.length);
  /**
   * The newest ORCA trailer (base64, as it came) and when (Date.now ms): kept as a reference per call
   * that carries one, decoded only when a report is made.
   */
  orcaRaw: string | undefined;
  orcaAtMs = 0;
  private orcaDecoded: string | undefined;
  private orca:
    { cpu: number; mem: number; utilization: Record<string, number>; rif: number; warm?: number } | undefined;

  constructor(
    readonly engine: string,
    readonly instanceId: string,
  ) {}

  /** `atMs`: when the attempt started (performance.now ms). */
  started(atMs: number): void {
    this.inFlight++;
    this.starts[this.startsTaken++ & (START_RING - 1)] = atMs;
  }

  /** At most how long the oldest call in flight has been out (0: none in flight). */
  unansweredMs(nowMs: number): number {
    return this.startsTaken > this.startsEnded ? nowMs - this.starts[this.startsEnded & (START_RING - 1)] : 0;
  }

  /** `code` is the gRPC status the caller got (numeric); latency from request start to the end. */
  finished(code: number, latencyMs: number, nowMs = performance.now()): void {
    const w = this.lastSampleAt === 0 ? 0 : Math.exp(-(nowMs - this.lastSampleAt) / DECAY_MS);
    this.lastSampleAt = nowMs;
    this.latencyEwmaMs =
      latencyMs > this.latencyEwmaMs ? latencyMs : this.latencyEwmaMs * w + latencyMs * (1 - w);
    this.failureEwma += ((code === 8 || isInstanceFailure(code) ? 1 : 0) - this.failureEwma) * FAILURE_ALPHA;
    if (code === 0) {
      // A peak, as Linkerd's: a slower answer counts at once, faster ones bring it down over a few calls.
      this.servedLatencyMs =
        latencyMs > this.servedLatencyMs
          ? latencyMs
          : this.servedLatencyMs + (latencyMs - this.servedLatencyMs) * SERVED_ALPHA;
      this.servedAt = nowMs;
      this.ejections = 0;
      this.consecutiveFailures = 0;
    } else if (isInstanceFailure(code)) {
      this.consecutiveFailures++;
    }
    if (code !== 1) {
      this.intervalRequests++;
      if (!isInstanceFailure(code)) this.intervalSuccesses++;
    }
    this.inFlight--;
    this.startsEnded++;
    this.requests++;
    this.totalRequests++;
    const bucket = bucketOf(LATENCY_LAYOUT, latencyMs, LATENCY_BUCKETS);
    this.latency.recordIn(bucket, latencyMs);
    this.totalLatency.recordIn(bucket, latencyMs);
    if (code !== 0) {
      this.errors++;
      this.totalErrors++;
      const known = code > 0 && code < CODE_NAMES.length ? code : 2; // out of range: UNKNOWN
      this.byCode[known]++;
      this.totalByCode[known]++;
    }
  }

  /** The newest ORCA report, decoded once per report that came (not per call); undefined: none or malformed. */
  private decodedOrca(): typeof this.orca {
    if (this.orcaRaw === undefined) return undefined;
    if (this.orcaRaw !== this.orcaDecoded) {
      this.orcaDecoded = this.orcaRaw;
      try {
        const r = decodeOrca(Buffer.from(this.orcaRaw, 'base64'));
        let rif = -1;
        for (const name of RIF_METRICS) if (r.namedMetrics[name] !== undefined) rif = r.namedMetrics[name];
        this.orca = {
          cpu: r.cpuUtilization,
          mem: r.memUtilization,
          utilization: { ...r.utilization },
          rif,
          warm: r.namedMetrics.warm,
        };
      } catch {
        this.orca = undefined;
      }
    }
    return this.orca;
  }

  /**
   * Calls in flight at the instance as the balancer should see them: this router's own, or what the
   * instance last reported over every router (ORCA named metric `rif`) when that is fresh and higher.
   */
  requestsInFlight(): number {
    if (this.orcaRaw === undefined || Date.now() - this.orcaAtMs > ORCA_FRESH_MS) return this.inFlight;
    const rif = this.decodedOrca()?.rif ?? -1;
    return rif > this.inFlight ? rif : this.inFlight;
  }

  /** The instance said it is warm (ORCA named metric `warm` = 1): slow start may end early. */
  reportsWarm(): boolean {
    return this.orcaRaw !== undefined && this.decodedOrca()?.warm === 1;
  }

  /** The newest ORCA report into `load`; a malformed one is dropped (the instance's, not ours). */
  private addOrca(load: InstanceLoad): void {
    const orca = this.decodedOrca();
    if (!orca) return;
    load.cpuUtilization = orca.cpu;
    load.memUtilization = orca.mem;
    load.utilization = orca.utilization;
    load.orcaAtMs = this.orcaAtMs;
  }

  /** An attempt this router cancelled itself (a hedge that lost): no outcome, no latency, no error. */
  abandoned(): void {
    this.inFlight--;
    this.startsEnded++;
  }

  /** Calls and successes since the last take (outlier detection's success rate). */
  takeInterval(): { requests: number; successes: number } {
    const sample = { requests: this.intervalRequests, successes: this.intervalSuccesses };
    this.intervalRequests = this.intervalSuccesses = 0;
    return sample;
  }

  /** The interval's report; resets the interval counts. */
  drain(): InstanceLoad {
    const errorsByCode: Record<string, number> = {};
    for (let i = 1; i < CODE_NAMES.length; i++)
      if (this.byCode[i] > 0) errorsByCode[CODE_NAMES[i]] = this.byCode[i];
    const load: InstanceLoad = {
      engine: this.engine,
      instanceId: this.instanceId,
      requests: this.requests,
      errors: this.errors,
      inFlight: this.inFlight,
      latency: {
        sumMs: this.latency.sumMs,
        maxMs: this.latency.maxMs,
        p50Ms: this.latency.quantile(0.5),
        p99Ms: this.latency.quantile(0.99),
        baseMs: LATENCY_LAYOUT.baseMs,
        growth: LATENCY_LAYOUT.growth,
        counts: this.latency.trimmedCounts(),
      },
      circuit: CircuitState.CIRCUIT_STATE_CLOSED, // the reporter fills in the breaker's state
      circuitSinceMs: 0,
      errorsByCode,
      loadMetrics: {},
      cpuUtilization: 0,
      memUtilization: 0,
      utilization: {},
      orcaAtMs: 0,
      ejected: false,
    };
    this.addOrca(load);
    this.requests = 0;
    this.errors = 0;
    this.byCode.fill(0);
    this.latency.reset();
    return load;
  }
}

/**
 * Keeps a response's ORCA trailer (gRFC A51) on its instance's stats: a scan of a short trailer list and
 * a reference, no decoding on the call's path.
 */
export function noteOrca(stats: InstanceStats, trailers: readonly string[]): void {
  for (let i = 0; i < trailers.length; i += 2) {
    if (trailers[i] === ORCA_TRAILER) {
      stats.orcaRaw = trailers[i + 1];
      stats.orcaAtMs = Date.now();
      return;
    }
  }
}
