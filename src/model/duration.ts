const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration as people write one (`90s`, `15m`, `2h`, `1d`; one unit) → ms, or undefined if it is not one. */
export function durationMs(raw: string): number | undefined {
  const m = /^(\d{1,9})(ms|s|m|h|d)$/.exec(raw);
  return m ? Number(m[1]) * UNIT_MS[m[2]] : undefined;
}
