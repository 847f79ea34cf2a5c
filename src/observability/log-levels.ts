import type { Logger } from 'winston';

/** The levels an operator can set, most severe first (winston's npm levels, without the rarely used ones). */
export const LOG_LEVELS = ['error', 'warn', 'info', 'http', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value);
}

interface Entry {
  readonly component: string;
  readonly listeners: Set<() => void>;
}

/**
 * Every logger of the process by component, so an operator can change levels at run time (the admin API's
 * log-level operations, the router admin port's POST /logging). Code that caches "is debug on?" off the
 * hot path subscribes with `onChange` instead of asking winston per call. Several loggers may share a
 * component (tests run many control planes in one process): a change applies to all of them.
 */
export class LogLevels {
  private readonly entries = new Map<Logger, Entry>();

  register(component: string, logger: Logger): void {
    this.entries.set(logger, { component, listeners: new Set() });
  }

  /** Component → level (of its newest logger), sorted by component. */
  levels(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [logger, { component }] of this.entries)
      out[component] = logger.silent ? 'silent' : logger.level;
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
  }

  /**
   * Sets the level of one component, or of every one when `component` is undefined. Throws naming the
   * components known when `component` is not one of them.
   */
  set(level: LogLevel, component?: string): Record<string, string> {
    const known = new Set([...this.entries.values()].map((e) => e.component));
    if (component !== undefined && !known.has(component))
      throw new RangeError(`no logger "${component}"; known: ${[...known].sort().join(', ') || '(none)'}`);
    for (const [logger, entry] of this.entries) {
      if (component !== undefined && entry.component !== component) continue;
      logger.level = level;
      logger.silent = false;
      for (const listener of entry.listeners) listener();
    }
    return this.levels();
  }

  /** Calls `listener` after every change of `logger`'s level; returns the unsubscribe. */
  onChange(logger: Logger, listener: () => void): () => void {
    const entry = this.entries.get(logger);
    if (!entry) return () => undefined;
    entry.listeners.add(listener);
    return () => entry.listeners.delete(listener);
  }
}

/** The process's loggers: one process runs one command (or, in `nerve demo`, all of them side by side). */
export const logLevels = new LogLevels();
