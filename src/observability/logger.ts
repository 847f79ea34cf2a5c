import winston from 'winston';

/**
 * Structured JSON logs on stderr (stdout stays free for command output such as the demo's URLs).
 * Level from LOG_LEVEL; `silent` turns logging off (tests).
 */
export function createLogger(component: string, level = process.env.LOG_LEVEL ?? 'info'): winston.Logger {
  return winston.createLogger({
    level: level === 'silent' ? 'error' : level,
    silent: level === 'silent',
    defaultMeta: { component },
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.errors({ stack: true }),
      winston.format.json(),
    ),
    transports: [
      new winston.transports.Console({
        stderrLevels: ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'],
      }),
    ],
  });
}

export type { Logger } from 'winston';
