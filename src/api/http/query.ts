import { NerveError } from '../../model/errors';
import { durationMs } from '../../model/duration';
import { echo } from '../../model/echo';

/** A query parameter as one string, or undefined; repeated parameters are refused by name. */
export function one(query: Record<string, unknown>, name: string): string | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string')
    throw new NerveError('INVALID_ARGUMENT', `query parameter ${name} must be given once`);
  return v;
}

/** A true/false query flag (`?dryRun`, `?dryRun=true`); absent: false. */
export function flag(name: string, raw: unknown): boolean {
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true' || raw === '') return true;
  throw new NerveError('INVALID_ARGUMENT', `${name} must be true or false, got ${echo(String(raw), 20)}`);
}

/** A time parameter → epoch ms: a duration back from now (`15m`, `1h`, `2d`), RFC 3339, or Unix ms. */
export function timeParam(
  query: Record<string, unknown>,
  name: string,
  now: () => number = Date.now,
): number | undefined {
  const raw = one(query, name);
  if (raw === undefined || raw === '') return undefined;
  if (/^\d{1,16}$/.test(raw)) return Number(raw);
  const ago = durationMs(raw);
  if (ago !== undefined) return now() - ago;
  const ms = /^\d{4}-\d\d-\d\dT/.test(raw) ? Date.parse(raw) : NaN;
  if (Number.isNaN(ms))
    throw new NerveError(
      'INVALID_ARGUMENT',
      `${name} must be a duration back from now (15m, 1h, 2d), an RFC 3339 time (2026-12-04T21:00:00Z) or Unix milliseconds, got ${echo(raw, 64)}`,
    );
  return ms;
}

/** A positive integer parameter within bounds. */
export function intParam(
  query: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const raw = one(query, name);
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!/^\d{1,12}$/.test(raw) || n < min || n > max)
    throw new NerveError(
      'INVALID_ARGUMENT',
      `${name} must be an integer from ${min} to ${max}, got ${echo(raw, 32)}`,
    );
  return n;
}

/** A comma list (`topics=a,b`) or repeated parameter, as a list; undefined when absent. */
export function listParam(query: Record<string, unknown>, name: string): string[] | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  const parts = (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(','));
  return parts.map((p) => p.trim()).filter(Boolean);
}
