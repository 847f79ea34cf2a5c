import type { Matcher } from '../matchers';

const UNITS: readonly (readonly [string, number])[] = [
  ['y', 365 * 86_400_000],
  ['w', 7 * 86_400_000],
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
  ['ms', 1],
];

/** A Prometheus duration (`30s`, `5m`, `1h30m`, `1d`) in ms, or undefined when it is not one. */
export function promDurationMs(text: string): number | undefined {
  const m = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(
    text.trim(),
  );
  if (!m || text.trim() === '') return undefined;
  return UNITS.reduce((sum, [, ms], i) => sum + Number(m[i + 1] ?? 0) * ms, 0);
}

/** ms as the shortest Prometheus duration (`5m`, `1h30m`; `0s` for 0). */
export function promDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of UNITS.slice(2)) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

/**
 * One matcher as Alertmanager writes it: `label="value"`, `label=~"re"`, `label!=value` (the value quoted
 * with Go's escapes, or bare).
 */
export function parseMatcher(text: string): Matcher | undefined {
  const m =
    /^\s*\{?\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^"]*?))\s*\}?\s*$/.exec(
      text,
    );
  if (!m) return undefined;
  const value = m[3] !== undefined ? m[3].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c)) : m[4];
  return { label: m[1], op: m[2] as Matcher['op'], value };
}

/** A matcher as Alertmanager writes it, its value quoted. */
export function formatMatcher(m: Matcher): string {
  return `${m.label}${m.op}${JSON.stringify(m.value)}`;
}

/** A name Nerve takes (lowercase letters, digits, `.`, `_`, `-`; 1-63, alphanumeric at both ends). */
export function nerveName(text: string): string {
  const n = text
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
    .slice(0, 63)
    .replace(/[^a-z0-9]+$/, '');
  return n || 'unnamed';
}
