/**
 * Fixed-size time series of one entity (an engine or an instance) at one resolution: a ring of slots,
 * each stamped with its tick (time / step) and holding every history metric as a float32. Memory is
 * fixed at creation (slots × (4 + 4 × metrics) bytes); a slot whose stamp is not the tick asked for is
 * a gap, so nothing needs clearing.
 */
export const HISTORY_METRICS = [
  'rps',
  'errorRate',
  'p50Ms',
  'p95Ms',
  'p99Ms',
  'inFlight',
  'cpu',
  'memory',
] as const;
export type HistoryMetric = (typeof HISTORY_METRICS)[number];
export const METRIC_COUNT = HISTORY_METRICS.length;

/** Percentiles are downsampled by their maximum (a mean of p99s is no p99); the rest by their mean. */
const BY_MAX = new Set<HistoryMetric>(['p50Ms', 'p95Ms', 'p99Ms']);

export interface Resolution {
  readonly name: string;
  readonly stepMs: number;
  readonly slots: number;
}

/** 10 s for the last hour, 1 min for the last day (/metrics/history). */
export const FINE: Resolution = { name: '10s', stepMs: 10_000, slots: 360 };
export const COARSE: Resolution = { name: '1m', stepMs: 60_000, slots: 1_440 };
export const RESOLUTIONS = [FINE, COARSE] as const;

/** One point: its tick and a value per HISTORY_METRICS (NaN: not measured). */
export interface HistoryPoint {
  readonly tick: number;
  readonly values: ArrayLike<number>;
}

/** Bytes of one slot when stored as bytes (Redis): a uint32 tick and float32 values, little-endian. */
export const SLOT_BYTES = 4 + 4 * METRIC_COUNT;

export class SeriesRing {
  private readonly ticks: Uint32Array;
  private readonly values: Float32Array;

  constructor(readonly slots: number) {
    this.ticks = new Uint32Array(slots);
    this.values = new Float32Array(slots * METRIC_COUNT);
  }

  put(tick: number, values: ArrayLike<number>): void {
    const slot = tick % this.slots;
    this.ticks[slot] = tick;
    for (let m = 0; m < METRIC_COUNT; m++) this.values[slot * METRIC_COUNT + m] = values[m];
  }

  /** Points of ticks from..to (inclusive) that were written, oldest first. */
  read(fromTick: number, toTick: number): HistoryPoint[] {
    const out: HistoryPoint[] = [];
    const start = Math.max(fromTick, toTick - this.slots + 1);
    for (let tick = start; tick <= toTick; tick++) {
      const slot = tick % this.slots;
      if (this.ticks[slot] !== tick) continue;
      out.push({ tick, values: this.values.slice(slot * METRIC_COUNT, (slot + 1) * METRIC_COUNT) });
    }
    return out;
  }
}

/** A slot as bytes (for a store that keeps rings as byte strings). */
export function encodeSlot(tick: number, values: ArrayLike<number>): Buffer {
  const b = Buffer.alloc(SLOT_BYTES);
  b.writeUInt32LE(tick, 0);
  for (let m = 0; m < METRIC_COUNT; m++) b.writeFloatLE(values[m], 4 + 4 * m);
  return b;
}

/** Points of ticks from..to out of a ring stored as bytes (`slots` slots of SLOT_BYTES). */
export function decodeRing(bytes: Buffer, slots: number, fromTick: number, toTick: number): HistoryPoint[] {
  const out: HistoryPoint[] = [];
  const start = Math.max(fromTick, toTick - slots + 1);
  for (let tick = start; tick <= toTick; tick++) {
    const at = (tick % slots) * SLOT_BYTES;
    if (at + SLOT_BYTES > bytes.length || bytes.readUInt32LE(at) !== tick) continue;
    const values = new Float32Array(METRIC_COUNT);
    for (let m = 0; m < METRIC_COUNT; m++) values[m] = bytes.readFloatLE(at + 4 + 4 * m);
    out.push({ tick, values });
  }
  return out;
}

/**
 * Several points as one (10 s → 1 min, or to a caller's step): percentiles by their maximum, the rest
 * by their mean; error rate weighted by rps. NaN values are left out; all NaN gives NaN.
 */
export function downsample(points: readonly HistoryPoint[]): Float32Array {
  const out = new Float32Array(METRIC_COUNT).fill(NaN);
  const rpsAt = HISTORY_METRICS.indexOf('rps');
  HISTORY_METRICS.forEach((metric, m) => {
    let sum = 0,
      weight = 0,
      max = -Infinity;
    for (const p of points) {
      const v = p.values[m];
      if (Number.isNaN(v)) continue;
      const w = metric === 'errorRate' ? (Number.isNaN(p.values[rpsAt]) ? 0 : p.values[rpsAt]) : 1;
      sum += v * w;
      weight += w;
      if (v > max) max = v;
    }
    if (max === -Infinity) return;
    if (BY_MAX.has(metric)) out[m] = max;
    else out[m] = weight > 0 ? sum / weight : metric === 'errorRate' ? 0 : NaN;
  });
  return out;
}
