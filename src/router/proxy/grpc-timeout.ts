const UNITS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000_001 };

/** grpc-timeout ("100m", "5S", …) in milliseconds, or undefined when absent or malformed. */
export function parseGrpcTimeout(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  return m ? Number(m[1]) * UNITS[m[2]] : undefined;
}

/** Milliseconds as a grpc-timeout value (at most 8 digits, as the spec requires). */
export function formatGrpcTimeout(ms: number): string {
  const whole = Math.max(1, Math.ceil(ms));
  return whole < 1e8 ? `${whole}m` : `${Math.ceil(whole / 1000)}S`;
}

let lastMs = -1;
let lastPair: readonly string[] = ['grpc-timeout', '1m'];

/**
 * The grpc-timeout header pair to send for `ms` left. Calls without a deadline of their own all get their
 * engine's default, the same value call after call: the same array then (no number formatting), which
 * the HPACK encoder recognises and sends as the bytes it sent last time.
 */
export function grpcTimeoutHeader(ms: number): readonly string[] {
  // `ms` comes from subtracting clock readings: float noise (30000.000000000004) must not make it 30001.
  const whole = Math.max(1, Math.ceil(ms - 1e-6));
  if (whole !== lastMs) {
    lastMs = whole;
    lastPair = ['grpc-timeout', formatGrpcTimeout(whole)];
  }
  return lastPair;
}
