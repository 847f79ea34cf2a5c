import * as path from 'node:path';
import winston from 'winston';
import DailyRotateFile from 'winston-daily-rotate-file';
import { logLevels } from './log-levels';

export interface LoggerOptions {
  /** Also write daily rotated files here (LOG_DIR): `nerve-<component>-YYYY-MM-DD.log`, 14 days kept. */
  readonly dir?: string;
  /** Largest file before it rotates within the day (winston-daily-rotate-file's size syntax). */
  readonly maxSize?: string;
  readonly maxFiles?: string;
}

/**
 * Whether the console gets short human lines: on a terminal, unless LOG_FORMAT=json (LOG_FORMAT=text
 * forces them). Files (LOG_DIR) and pipes always get JSON lines, which log shippers parse.
 */
export function humanLogs(
  env: NodeJS.ProcessEnv = process.env,
  tty = Boolean(process.stderr.isTTY),
): boolean {
  if (env.LOG_FORMAT === 'json') return false;
  if (env.LOG_FORMAT === 'text') return true;
  return tty;
}

const SKIP = new Set(['timestamp', 'level', 'message', 'component', 'stack']);

/** `21:04:05.123 WARN  router  xDS stream lost; reconnecting  address=… retryInMs=412` */
export const humanLine = winston.format.printf((info) => {
  const time = String(info.timestamp ?? new Date().toISOString()).slice(11, 23);
  const fields = Object.entries(info)
    .filter(([k, v]) => !SKIP.has(k) && v !== undefined)
    .map(
      ([k, v]) =>
        `${k}=${typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`,
    )
    .join(' ');
  const stack = typeof info.stack === 'string' ? `\n${info.stack}` : '';
  return `${time} ${String(info.level).toUpperCase().padEnd(5)} ${String(info.component ?? '')}  ${String(info.message)}${fields ? `  ${fields}` : ''}${stack}`;
});

/**
 * Structured logs on stderr (stdout stays free for command output such as the demo's URLs): JSON, one
 * object a line with `timestamp`, `level`, `message`, `component` and whatever the call adds (requestId,
 * traceId, engine, …), or human lines on a terminal (`humanLogs`). Level from LOG_LEVEL; `silent` turns logging off (tests). Every logger registers
 * in `logLevels`, so its level can change at run time.
 */
export function createLogger(
  component: string,
  level = process.env.LOG_LEVEL ?? 'info',
  options: LoggerOptions = { dir: process.env.LOG_DIR || undefined },
): winston.Logger {
  const transports: winston.transport[] = [
    new winston.transports.Console({
      stderrLevels: ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'],
      format: humanLogs() ? humanLine : winston.format.json(),
    }),
  ];
  if (options.dir)
    transports.push(
      new DailyRotateFile({
        dirname: path.resolve(options.dir),
        filename: `nerve-${component}-%DATE%.log`,
        datePattern: 'YYYY-MM-DD',
        maxSize: options.maxSize ?? '100m',
        maxFiles: options.maxFiles ?? '14d',
        // Audit file beside the logs, so rotation survives restarts.
        auditFile: path.resolve(options.dir, `.nerve-${component}-audit.json`),
        format: winston.format.json(),
      }),
    );
  const logger = winston.createLogger({
    level: level === 'silent' ? 'error' : level,
    silent: level === 'silent',
    defaultMeta: { component },
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true })),
    transports,
  });
  logLevels.register(component, logger);
  return logger;
}

export type { Logger } from 'winston';
