import { z } from 'zod';
import { formatIssues, name, type Result } from '../validate';

const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];

/** `9`, `9:17`, `monday:friday`: a value or an inclusive range, read by `read` (a name or a number). */
function parseRange(text: string, read: (part: string) => number | undefined): [number, number] | undefined {
  const parts = text.trim().toLowerCase().split(':');
  if (parts.length > 2) return undefined;
  const a = read(parts[0]);
  const b = parts.length === 2 ? read(parts[1]) : a;
  return a === undefined || b === undefined ? undefined : [a, b];
}

const int = (lo: number, hi: number) => (p: string) => {
  if (!/^-?\d+$/.test(p)) return undefined;
  const n = Number(p);
  return n >= lo && n <= hi ? n : undefined;
};
const named = (names: readonly string[], base: number) => (p: string) => {
  const i = names.indexOf(p);
  return i >= 0 ? i + base : int(base, names.length - 1 + base)(p);
};

const readWeekday = named(WEEKDAYS, 0);
const readMonth = named(MONTHS, 1);
const readDay = (p: string) => {
  const n = int(-31, 31)(p);
  return n === 0 ? undefined : n;
};
const readYear = int(1970, 9999);

/** "HH:MM", 00:00 to 24:00, as minutes of the day. */
function minutes(text: string): number | undefined {
  const m = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(text);
  if (!m) return undefined;
  const v = Number(m[1]) * 60 + Number(m[2]);
  return v <= 24 * 60 ? v : undefined;
}

function ranges(read: (p: string) => number | undefined, what: string) {
  return z
    .array(z.string().max(40))
    .default([])
    .superRefine((xs, ctx) =>
      xs.forEach((x, i) => {
        const r = parseRange(x, read);
        if (!r || (r[0] > 0 === r[1] > 0 && r[0] > r[1]))
          ctx.addIssue({ code: 'custom', path: [i], message: `not a ${what} or a range of them: ${x}` });
      }),
    );
}

function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * One interval of time, as Alertmanager's `time_intervals` entries: every field given must hold (an
 * absent field holds always). Ranges are inclusive, `monday:friday`, `1:7`; days of the month may count
 * from the end (`-1` is the last day); times are `start` inclusive to `end` exclusive, 00:00 to 24:00,
 * in `location` (an IANA zone, UTC by default).
 */
export const intervalSchema = z.strictObject({
  times: z
    .array(
      z.strictObject({ start: z.string(), end: z.string() }).superRefine((t, ctx) => {
        const s = minutes(t.start);
        const e = minutes(t.end);
        if (s === undefined) ctx.addIssue({ code: 'custom', path: ['start'], message: 'must be HH:MM' });
        if (e === undefined) ctx.addIssue({ code: 'custom', path: ['end'], message: 'must be HH:MM' });
        if (s !== undefined && e !== undefined && s >= e)
          ctx.addIssue({ code: 'custom', path: ['end'], message: 'must be after start' });
      }),
    )
    .default([]),
  weekdays: ranges(readWeekday, 'weekday'),
  daysOfMonth: ranges(readDay, 'day of the month (1 to 31, or -31 to -1 from the end)'),
  months: ranges(readMonth, 'month'),
  years: ranges(readYear, 'year'),
  location: z.string().default('UTC').refine(validZone, {
    message: 'not a time zone this control plane knows (an IANA name such as Europe/Berlin)',
  }),
});

export type Interval = z.output<typeof intervalSchema>;

/** A named set of intervals (Alertmanager's `time_intervals` entry): it holds when any of them does. */
export const timeIntervalSchema = z.strictObject({
  name,
  intervals: z.array(intervalSchema).min(1),
});

export type TimeInterval = z.output<typeof timeIntervalSchema>;

export function parseTimeInterval(input: unknown, prefix = ''): Result<TimeInterval> {
  const parsed = timeIntervalSchema.safeParse(input);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, errors: formatIssues(parsed.error.issues, prefix) };
}

interface Clock {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly weekday: number;
  readonly minute: number;
  readonly daysInMonth: number;
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** The wall clock in `zone` at `ms`. */
function clockIn(zone: string, ms: number): Clock {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      weekday: 'long',
      hour: 'numeric',
      minute: 'numeric',
      hourCycle: 'h23',
    });
    formats.set(zone, f);
  }
  const parts: Record<string, string> = {};
  for (const p of f.formatToParts(new Date(ms))) parts[p.type] = p.value;
  const year = Number(parts.year);
  const month = Number(parts.month);
  return {
    year,
    month,
    day: Number(parts.day),
    weekday: WEEKDAYS.indexOf(parts.weekday.toLowerCase()),
    minute: Number(parts.hour) * 60 + Number(parts.minute),
    daysInMonth: new Date(Date.UTC(year, month, 0)).getUTCDate(),
  };
}

function inRanges(
  xs: readonly string[],
  read: (p: string) => number | undefined,
  v: number,
  size = 0,
): boolean {
  if (xs.length === 0) return true;
  return xs.some((x) => {
    const r = parseRange(x, read);
    if (!r) return false;
    // Days counted from the end of the month (-1: the last day) are read against this month's length.
    const [a, b] = r.map((n) => (n < 0 ? size + 1 + n : n));
    return v >= a && v <= b;
  });
}

/** Whether `ms` falls in the interval. */
export function inInterval(interval: Interval, ms: number): boolean {
  const c = clockIn(interval.location, ms);
  if (
    interval.times.length > 0 &&
    !interval.times.some((t) => c.minute >= minutes(t.start)! && c.minute < minutes(t.end)!)
  )
    return false;
  return (
    inRanges(interval.weekdays, readWeekday, c.weekday) &&
    inRanges(interval.daysOfMonth, readDay, c.day, c.daysInMonth) &&
    inRanges(interval.months, readMonth, c.month) &&
    inRanges(interval.years, readYear, c.year)
  );
}

/** Whether any of the named interval's intervals holds at `ms` (an unknown name holds never). */
export function inTimeInterval(t: TimeInterval | undefined, ms: number): boolean {
  return t !== undefined && t.intervals.some((i) => inInterval(i, ms));
}
