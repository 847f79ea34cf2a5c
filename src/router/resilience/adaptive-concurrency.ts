import type { AdaptiveConcurrencyPolicy } from '../../../gen/nerve/discovery/v1/policy';

/** Latencies kept per update interval at most; later ones replace earlier at random (reservoir). */
const SAMPLE_CAP = 1_024;
/** Envoy's gradient bounds: the limit at most halves or doubles per interval. */
const MIN_GRADIENT = 0.5;
const MAX_GRADIENT = 2;

/** What the admission reads of a concurrency limiter. */
export interface ConcurrencyLimit {
  readonly limit: number;
  /** Why the limit is what it is, for a refusal's message. */
  describe(): string;
}

/**
 * Envoy's adaptive concurrency gradient controller for one engine in one router. It first measures the
 * minimum RTT at low concurrency (the limit pinned to minRttConcurrency until minRttRequests calls that
 * started then have ended; their samplePercentile is the min RTT), then every updateIntervalMs moves the
 * limit by the gradient of that against the interval's samplePercentile latency:
 *   gradient = clamp(minRtt × (1 + buffer) / sampleRtt, 0.5, 2)
 *   limit    = clamp(gradient × limit + sqrt(gradient × limit), minLimit, maxLimit)
 * so the limit grows while latency stays near the unloaded RTT and falls as queueing inside the engine
 * raises it. It grows only while at least half of it is in use: a limit grown while idle would let a
 * burst pile calls into the engine before latency pulled it down. Only calls that began under the
 * current limit are its samples (one decision per round trip, as TCP's window), so a queue an earlier
 * limit let build is not answered twice. The min RTT is measured again every
 * minRttIntervalMs (with jitter), as the engine changes.
 * Only successful calls are samples: a fast refusal says nothing of how long serving takes. Driven by
 * samples, not timers: no calls, no update (nothing to limit). `now` is performance.now() time.
 */
export class GradientController implements ConcurrencyLimit {
  private current: number;
  /** Limit to return to after a min RTT measurement. */
  private restore: number;
  minRttMs = 0;
  /** The last interval's sampled latency (ms), 0 before the first. */
  sampleRttMs = 0;
  private measuringSince: number;
  private measured = 0;
  private nextMeasureAt = Infinity;
  private nextUpdateAt = 0;
  /** When the limit last changed: calls that began before say nothing of the new one. */
  private changedAt = -Infinity;
  private readonly samples = new Float64Array(SAMPLE_CAP);
  private count = 0;
  private seen = 0;
  /** The most calls in flight seen this interval (the limit grows only when it is being used). */
  private peak = 0;
  /** Calls in flight now under this limit (the engine's admission). */
  inFlight: () => number = () => 0;

  constructor(
    private readonly policy: AdaptiveConcurrencyPolicy,
    now: number,
    private readonly random: () => number = Math.random,
  ) {
    this.restore = policy.minLimit;
    this.current = policy.minRttConcurrency;
    this.measuringSince = now;
  }

  get limit(): number {
    return this.current;
  }

  get measuring(): boolean {
    return this.measuringSince >= 0;
  }

  /** A call that the engine served in `latencyMs`, ending at `now`. */
  sample(latencyMs: number, now: number): void {
    if (this.measuringSince >= 0) {
      // Calls that started before the measurement ran at the old concurrency: not a minimum.
      if (now - latencyMs < this.measuringSince) return;
      this.add(latencyMs);
      if (++this.measured >= this.policy.minRttRequests) this.endMeasurement(now);
      return;
    }
    // One decision per round trip, as TCP cuts its window: a call that began under an earlier limit
    // measures the queue that limit let build, which the change has already answered.
    if (now - latencyMs >= this.changedAt) this.add(latencyMs);
    const inFlight = this.inFlight() + 1; // the call that just ended was in flight
    if (inFlight > this.peak) this.peak = inFlight;
    if (now >= this.nextMeasureAt) return this.startMeasurement(now);
    if (now >= this.nextUpdateAt) this.update(now);
  }

  describe(): string {
    if (this.measuringSince >= 0)
      return `adaptive concurrency limit ${this.current} while measuring the minimum RTT`;
    return `adaptive concurrency limit ${this.current}: sampled latency ${round(this.sampleRttMs)} ms against a minimum RTT of ${round(this.minRttMs)} ms`;
  }

  private update(now: number): void {
    this.nextUpdateAt = now + this.policy.updateIntervalMs;
    if (this.count === 0) return;
    const sampleRtt = this.percentile();
    this.sampleRttMs = sampleRtt;
    const buffered = this.minRttMs * (1 + this.policy.bufferPercent / 100);
    const gradient = Math.min(MAX_GRADIENT, Math.max(MIN_GRADIENT, buffered / Math.max(sampleRtt, 1e-3)));
    const scaled = gradient * this.current;
    const next = Math.floor(scaled + Math.sqrt(scaled));
    // A limit far above what is used says nothing: grown while idle, it would let a burst pile calls
    // into the engine before latency could pull it down (Netflix's concurrency-limits keeps this rule).
    const used = this.peak >= this.current / 2;
    this.peak = 0;
    if (next > this.current && !used) return;
    const bounded = this.bound(next);
    if (bounded !== this.current) this.changedAt = now;
    this.current = bounded;
  }

  private startMeasurement(now: number): void {
    this.restore = this.current;
    this.current = Math.min(this.policy.minRttConcurrency, this.policy.maxLimit);
    this.measuringSince = now;
    this.measured = 0;
    this.reset();
  }

  private endMeasurement(now: number): void {
    this.minRttMs = this.percentile();
    this.measuringSince = -1;
    this.current = this.bound(this.restore);
    this.changedAt = now;
    const jitter = 1 + (this.random() * this.policy.jitterPercent) / 100;
    this.nextMeasureAt = now + this.policy.minRttIntervalMs * jitter;
    this.nextUpdateAt = now + this.policy.updateIntervalMs;
  }

  private bound(n: number): number {
    return Math.min(this.policy.maxLimit, Math.max(this.policy.minLimit, n));
  }

  private add(latencyMs: number): void {
    this.seen++;
    if (this.count < SAMPLE_CAP) this.samples[this.count++] = latencyMs;
    else {
      const i = Math.floor(this.random() * this.seen);
      if (i < SAMPLE_CAP) this.samples[i] = latencyMs;
    }
  }

  /** The samples' percentile (samplePercentile), then a fresh interval. */
  private percentile(): number {
    const sorted = this.samples.subarray(0, this.count).sort();
    const q = this.policy.samplePercentile / 100;
    const value = sorted[Math.min(this.count - 1, Math.max(0, Math.ceil(q * this.count) - 1))];
    this.reset();
    return value;
  }

  private reset(): void {
    this.count = 0;
    this.seen = 0;
  }
}

const round = (x: number) => Math.round(x * 100) / 100;
