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
 * Structured JSON logs on stderr (stdout stays free for command output such as the demo's URLs), one
 * object a line with `timestamp`, `level`, `message`, `component` and whatever the call adds (requestId,
 * traceId, engine, …). Level from LOG_LEVEL; `silent` turns logging off (tests). Every logger registers
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
      }),
    );
  const logger = winston.createLogger({
    level: level === 'silent' ? 'error' : level,
    silent: level === 'silent',
    defaultMeta: { component },
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.errors({ stack: true }),
      winston.format.json(),
    ),
    transports,
  });
  logLevels.register(component, logger);
  return logger;
}

export type { Logger } from 'winston';
